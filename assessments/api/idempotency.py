"""Idempotent creation: a POST sent again with the same ``Idempotency-Key`` (and the same
body) within ``MR_CDS_IDEMPOTENCY_HOURS`` (default 24) gets the first response back and
creates nothing; the same key with another body (or another path) gets 409.

A replay shows the stored body only while the caller may still see the object it
describes (``visible``, the object type's access function): otherwise 404, as any
refused access. Records hold patient data, so they expire: older ones are never
replayed and are deleted by ``idempotency_records_purge`` (Celery beat, hourly; also
``manage.py purge_idempotency_records``).

Race-safe: the first request's work and its ``IdempotencyRecord`` commit in one
transaction, and the (user, key) unique constraint makes a concurrent twin fail; the
twin then rolls back everything it did and answers from the winner's record.
"""

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from guidelines.services import FieldError

from ..audit import audit_record
from ..choices import AuditAction, AuditChannel
from ..models import IdempotencyRecord
from .errors import ApiConflict, ApiInputError

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 200
# Printable ASCII (a UUID, a hash, ...), not blank: no NUL or control character.
KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"
REUSED_KEY = (
    "This Idempotency-Key was already used with a different request body or path "
    "within its retention period."
)


def window() -> dt.timedelta:
    """How long a record is replayed, then deleted."""
    return dt.timedelta(hours=getattr(settings, "MR_CDS_IDEMPOTENCY_HOURS", 24))


def idempotency_records_purge() -> int:
    """Delete the records older than the window (they hold patient data); the count."""
    cutoff = timezone.now() - window()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def request_hash(*, method: str, path: str, body) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _replay(
    request, record: IdempotencyRecord, digest: str, path: str, visible
) -> Response:
    if record.request_hash != digest or record.path != path:
        raise ApiConflict(REUSED_KEY)
    obj = visible(record.response_body)  # Http404 once the caller lost access
    audit_record(
        user=request.user,
        action=AuditAction.READ,
        channel=AuditChannel.API,
        obj=obj,
        detail=f"idempotent replay of POST {path} (key {record.key[:40]})",
    )
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent_create(
    request, create: Callable[[], Response], *, visible: Callable[[dict], Any]
) -> Response:
    """Run ``create`` once per (user, Idempotency-Key); replay its response afterwards.

    ``visible(body)`` returns the object a stored response body describes if the caller
    may still see it, and raises ``Http404`` otherwise (e.g. ``lambda body:
    patient_get_for_user(request.user, body["id"])``).

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
    since = timezone.now() - window()
    record = IdempotencyRecord.objects.filter(
        user=user, key=key, created_at__gte=since
    ).first()
    if record is not None:
        return _replay(request, record, digest, path, visible)
    try:
        with transaction.atomic():
            # An expired record of this key frees it for a new request.
            IdempotencyRecord.objects.filter(
                user=user, key=key, created_at__lt=since
            ).delete()
            response = create()
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    path=path,
                    request_hash=digest,
                    response_status=response.status_code,
                    response_body=json.loads(JSONRenderer().render(response.data)),
                )
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            raise
        return _replay(request, record, digest, path, visible)
    return response
