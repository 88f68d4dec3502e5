"""Record who read or changed which patient's data, or was refused (the one way to write
the audit trail).

``audit_record`` takes what the caller knows (user, action, object); what the HTTP
request knows (source address, API token, method and path) comes from the request in
progress, which ``AuditRequestMiddleware`` keeps in a context variable. Each event is
chained to the previous one by its hash: appends are serialized (a transaction-scoped
advisory lock on PostgreSQL; SQLite serializes writers itself).
"""

import contextvars
import ipaddress

from django.db import connection, models, transaction

from .choices import AuditAction, AuditChannel, AuditOutcome
from .models import AuditEvent, Patient
from .models.audit import GENESIS_HASH

# pg_advisory_xact_lock key of the audit chain ("MRCDSaud" as a 64-bit integer).
CHAIN_LOCK_KEY = 0x4D524344_53617564 - (1 << 63)

_current_request = contextvars.ContextVar("audit_request", default=None)


def client_address(request) -> str | None:
    """The client's address as the audit trail and the lockout (django-axes) see it:
    the peer address of the connection (put the app behind a proxy that sets it)."""
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return None


def token_id_of(request) -> str:
    """The key prefix of the knox token that authenticated ``request`` ("" if none)."""
    token = getattr(request, "auth", None)
    return getattr(token, "token_key", "") or ""


def audit_record(
    *,
    user,
    action: AuditAction | str,
    channel: AuditChannel | str,
    patient: Patient | None = None,
    obj: models.Model | None = None,
    detail: str = "",
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    request=None,
    status_code: int | None = None,
) -> AuditEvent:
    """Append one audit event. ``patient`` is inferred from ``obj`` when it has one;
    ``request`` defaults to the HTTP request in progress, if any."""
    action = AuditAction(action)
    channel = AuditChannel(channel)
    outcome = AuditOutcome(outcome)
    if patient is None and obj is not None:
        patient = _patient_of(obj)
    if request is None:
        request = _current_request.get()
    event = AuditEvent(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        channel=channel,
        outcome=outcome,
        patient=patient,
        detail=detail[:2000],
        status_code=status_code,
    )
    if obj is not None:
        event.object_type = obj._meta.label_lower
        event.object_id = str(obj.pk or "")
        event.object_repr = str(obj)[:200]
    if request is not None:
        event.source_address = client_address(request)
        event.token_id = token_id_of(request)[:16]
        event.request = f"{request.method} {request.get_full_path()}"[:300]
    _append(event)
    return event


def field_changes(before: models.Model, after: models.Model, names) -> str:
    """``"given_name: 'Ada' -> 'Adah'; weight_kg: '68.5' -> '70.0'"``: the old and new
    value of each named field that differs (related objects by their name)."""
    changes = []
    for name in names:
        field = {f.name: f for f in after._meta.concrete_fields}.get(name)
        if field is None:  # a form-only field: not a column
            continue
        old, new = getattr(before, field.name), getattr(after, field.name)
        if old != new:
            changes.append(f"{field.name}: {_shown(old)} -> {_shown(new)}")
    return "; ".join(changes)


def _shown(value) -> str:
    return "empty" if value in (None, "") else repr(str(value))


def _append(event: AuditEvent) -> None:
    # No savepoint of its own: inside a caller's transaction the event commits with it.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        previous = (
            AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        )
        event.hash = event.content_hash(previous or GENESIS_HASH)
        event.save()


def audit_chain_verify() -> tuple[int, AuditEvent | None]:
    """Walk the trail in order: (events checked, first event whose hash does not
    follow from its predecessor and its own content, or None when the chain holds)."""
    previous = GENESIS_HASH
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if event.hash != event.content_hash(previous):
            return count, event
        previous = event.hash
    return count, None


def audit_request_context(request):
    """Within ``with audit_request_context(request):``, ``audit_record`` knows
    ``request`` (set by the audit middleware for every HTTP request)."""
    return _RequestContext(request)


class _RequestContext:
    def __init__(self, request):
        self.request = request

    def __enter__(self):
        self.token = _current_request.set(self.request)

    def __exit__(self, *exc):
        _current_request.reset(self.token)


def _patient_of(obj: models.Model) -> Patient | None:
    if isinstance(obj, Patient):
        return obj
    for path in ("patient", "encounter.patient", "assessment.encounter.patient"):
        target = obj
        for attr in path.split("."):
            target = getattr(target, attr, None)
            if target is None:
                break
        if isinstance(target, Patient):
            return target
    return None
