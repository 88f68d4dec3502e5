"""``manage.py issue_api_token USERNAME``: a new API token for an API client.

The token is printed once, as the last line of stdout; only its hash is stored. Tokens
expire (REST_KNOX TOKEN_TTL) and can be revoked in the admin (Knox: Auth tokens).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessments.api.services import NotAnApiClient, api_token_issue


class Command(BaseCommand):
    help = "Issue a new API token for an API client (printed as the last line)."

    def add_arguments(self, parser):
        parser.add_argument(
            "username", help="An active user with an API-client membership"
        )

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            token = api_token_issue(user=user)
        except NotAnApiClient as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            f"API token for {username} (shown once; send it as 'Authorization: Bearer …'):"
        )
        self.stdout.write(token)
