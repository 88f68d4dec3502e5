"""Idempotent creation: a POST sent again with the same ``Idempotency-Key`` (and the same
body) within 24 hours gets the first response back and creates nothing; the same key
with another body (or another path) gets 409.

Race-safe: the first request's work and its ``IdempotencyRecord`` commit in one
transaction, and the (user, key) unique constraint makes a concurrent twin fail; the
twin then rolls back everything it did and answers from the winner's record.
"""

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from guidelines.validation import FieldError

from ..audit import audit_record
from ..choices import AuditAction, AuditChannel
from ..models import IdempotencyRecord
from .errors import ApiConflict, ApiInputError

HEADER = "Idempotency-Key"
WINDOW = dt.timedelta(hours=24)
KEY_MAX_LENGTH = 200
# Printable ASCII (a UUID, a hash, ...), not blank: no NUL or control character.
KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"
REUSED_KEY = (
    "This Idempotency-Key was already used with a different request body or path "
    "within 24 hours."
)


def request_hash(*, method: str, path: str, body) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _replay(request, record: IdempotencyRecord, digest: str, path: str) -> Response:
    if record.request_hash != digest or record.path != path:
        raise ApiConflict(REUSED_KEY)
    audit_record(
        user=request.user, action=AuditAction.READ, channel=AuditChannel.API,
        detail=f"idempotent replay of POST {path} (key {record.key[:40]})",
    )  # fmt: skip
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent_create(request, create: Callable[[], Response]) -> Response:
    """Run ``create`` once per (user, Idempotency-Key); replay its response afterwards.

    Without the header, ``create`` simply runs. Only successful (2xx) responses are
    kept: a refused request may be corrected and sent again with the same key.
    """
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic():  # the object and its audit entry commit together
            return create()
    if len(key) > KEY_MAX_LENGTH or not re.fullmatch(KEY_PATTERN, key):
        raise ApiInputError(
            [
                FieldError(
                    HEADER,
                    f"must be 1 to {KEY_MAX_LENGTH} printable ASCII characters, "
                    "not all spaces",
                )
            ]
        )
    user, path = request.user, request.path
    digest = request_hash(method=request.method, path=path, body=request.data)
    since = timezone.now() - WINDOW
    record = IdempotencyRecord.objects.filter(
        user=user, key=key, created_at__gte=since
    ).first()
    if record is not None:
        return _replay(request, record, digest, path)
    try:
        with transaction.atomic():
            # An expired record of this key frees it for a new request.
            IdempotencyRecord.objects.filter(
                user=user, key=key, created_at__lt=since
            ).delete()
            response = create()
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.create(
                    user=user, key=key, path=path, request_hash=digest,
                    response_status=response.status_code,
                    response_body=json.loads(JSONRenderer().render(response.data)),
                )  # fmt: skip
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            raise
        return _replay(request, record, digest, path)
    return response
