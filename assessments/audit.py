"""Record who read or changed which patient's data, or was refused (the one way to write
the audit trail).

``audit_record`` takes what the caller knows (user, action, object); what the HTTP
request knows (source address, API token, method and path) comes from the request in
progress, which ``AuditRequestMiddleware`` keeps in a context variable. An append is a
plain INSERT that waits for no other request: the event is stored unsealed.

``audit_seal`` chains the unsealed events later (Celery beat every few seconds, the start
of ``audit_verify``, ``manage.py audit_seal``): under an advisory lock, so two sealers
never interleave, it gives each committed unsealed event, in id order, the next chain
position and the SHA-256 of the previous position's hash and its own content. The chain
follows sealing order, not id order, so an event whose transaction commits after events
with higher ids (ids are drawn at INSERT, visibility comes at COMMIT) is simply sealed at
the next run, at the end of the chain: none is skipped, none is sealed twice (the
trigger allows the NULL-to-sealed transition only once), and no grace period is guessed.
"""

import contextvars
import dataclasses
import ipaddress

from django.db import connection, models, transaction
from django.db.models import Q

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
    # Unsealed (no hash, no chain position): nothing to wait for. No transaction of its
    # own: inside a caller's transaction the event commits with it.
    event.save()


# pg_advisory_xact_lock key of the sealer ("MRCDSaud" as a 64-bit integer).
SEAL_LOCK_KEY = 0x4D524344_53617564 - (1 << 63)
SEAL_BATCH = 2000


def audit_seal(*, batch_size: int = SEAL_BATCH) -> int:
    """Chain every committed unsealed event, oldest id first; the number sealed.
    Each batch is one transaction under the sealer's lock."""
    sealed = 0
    while True:
        count = _seal_batch(batch_size)
        sealed += count
        if count < batch_size:
            return sealed


def _seal_batch(limit: int) -> int:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Taken before any read: each statement after it (READ COMMITTED) sees the
            # previous sealer's committed work.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        tip = (
            AuditEvent.objects.filter(chain_position__isnull=False)
            .order_by("-chain_position")
            .values_list("chain_position", "hash")
            .first()
        )
        position, previous = tip or (0, GENESIS_HASH)
        unsealed = AuditEvent.objects.filter(hash__isnull=True).order_by("id")[:limit]
        seals = []
        for event in unsealed:
            position += 1
            previous = event.content_hash(previous)
            seals.append((previous, position, event.pk))
        if seals:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET hash = %s, chain_position = %s "  # noqa: S608
                    "WHERE id = %s AND hash IS NULL AND chain_position IS NULL",
                    seals,
                )
        return len(seals)


@dataclasses.dataclass
class ChainCheck:
    """What ``audit_chain_verify`` found."""

    sealed: int  # sealed events checked (up to and including the broken one)
    unsealed: int  # events not sealed yet (committed after the seal that preceded)
    last_hash: str | None  # hash of the last sealed event, when the chain holds
    broken: AuditEvent | None = None  # the first event that does not follow
    reason: str = ""


def audit_chain_verify(*, seal: bool = True) -> ChainCheck:
    """Seal what is pending (unless ``seal=False``), then walk the chain in order: the
    first sealed event whose position or hash does not follow from its predecessor."""
    if seal:
        audit_seal()
    half_sealed = (
        AuditEvent.objects.filter(
            Q(hash__isnull=True, chain_position__isnull=False)
            | Q(hash__isnull=False, chain_position__isnull=True)
        )
        .order_by("id")
        .first()
    )
    if half_sealed is not None:
        reason = "it has a hash or a chain position but not both (the sealer sets both)"
        return ChainCheck(0, _unsealed_count(), None, half_sealed, reason)
    previous, count = GENESIS_HASH, 0
    sealed = AuditEvent.objects.filter(chain_position__isnull=False)
    for event in sealed.order_by("chain_position").iterator(chunk_size=2000):
        count += 1
        reason = ""
        if event.chain_position != count:
            reason = (
                f"chain position {event.chain_position} where {count} was due "
                "(events before it are missing)"
            )
        elif event.hash != event.content_hash(previous):
            reason = "its hash does not follow from the event before it and its content"
        if reason:
            return ChainCheck(count, _unsealed_count(), None, event, reason)
        previous = event.hash
    return ChainCheck(count, _unsealed_count(), previous if count else None)


def _unsealed_count() -> int:
    return AuditEvent.objects.filter(hash__isnull=True).count()


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
