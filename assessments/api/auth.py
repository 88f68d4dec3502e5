"""Bearer tokens of API clients (django-rest-knox tokens: stored hashed, expiring,
revocable in the admin).

Knox's own ``TokenAuthentication`` with two changes: a token authenticates only while
its user is still in the integrations group and holds an API-client membership (leaving
either revokes the tokens; leaving the group also deletes them, see ``signals``), and the lookup is one query (token joined to its user and the user's
API-client membership) instead of knox's two (it also scans the user's other tokens to delete expired ones; an expired
token never authenticates either way). A header that is not valid UTF-8 is a 401.
"""

import binascii
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

from ..choices import INTEGRATIONS_GROUP, Role
from .throttles import FailedTokenThrottle

INVALID = "Invalid token."


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle = FailedTokenThrottle()
            if not throttle.allow_request(request, None):
                raise exceptions.Throttled(throttle.wait()) from None
            raise

    def authenticate_credentials(self, token: bytes):
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise exceptions.AuthenticationFailed(INVALID) from None
        # Only tokens of API clients: a user without that membership matches nothing.
        candidates = (
            get_token_model()
            .objects.filter(
                token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
                user__memberships__role=Role.API_CLIENT,
                user__groups__name=INTEGRATIONS_GROUP,
            )
            .select_related("user")
        )
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                    auth_token.delete()
                    break
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(INVALID)


class ApiTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: ``Authorization: Bearer <token>``."""

    target_class = ApiTokenAuthentication
    name = "bearerToken"
