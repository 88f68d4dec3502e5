"""Record who read or changed which patient's data (the one way to write the audit trail)."""

from django.db import models

from .choices import AuditAction, AuditChannel
from .models import AuditEvent, Patient


def audit_record(
    *,
    user,
    action: AuditAction | str,
    channel: AuditChannel | str,
    patient: Patient | None = None,
    obj: models.Model | None = None,
    detail: str = "",
) -> AuditEvent:
    """Append one audit event. ``patient`` is inferred from ``obj`` when it has one."""
    action = AuditAction(action)
    channel = AuditChannel(channel)
    if patient is None and obj is not None:
        patient = _patient_of(obj)
    event = AuditEvent(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        channel=channel,
        patient=patient,
        detail=detail[:500],
    )
    if obj is not None:
        event.object_type = obj._meta.label_lower
        event.object_id = str(obj.pk or "")
        event.object_repr = str(obj)[:200]
    event.save()
    return event


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
