"""The audit trail: who read or changed which patient's data, when, and through what."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..choices import AuditAction, AuditChannel


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One access to clinical data: a user read, created, changed, evaluated or exported
    something, through a page, the API, the admin, a task or a command. Append-only."""

    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="audit_events",
    )  # fmt: skip
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    channel = models.CharField(max_length=10, choices=AuditChannel.choices)
    patient = models.ForeignKey(
        "assessments.Patient", on_delete=models.PROTECT, null=True, blank=True,
        related_name="audit_events",
    )  # fmt: skip
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"], name="audit_patient_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=AuditChannel.values), name="audit_channel_valid"
            ),
        ]

    def __str__(self):
        who = self.user or "system"
        return f"{who} {self.action} {self.object_repr or self.object_type} via {self.channel}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
