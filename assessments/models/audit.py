"""The audit trail: who read or changed which patient's data, or tried to, when, from
where and through what.

Append-only three times over: the model refuses changes and deletions; a PostgreSQL
trigger refuses DELETE and TRUNCATE of the table, and every UPDATE but sealing (migration
``audit_seal_after_commit``); and each sealed row carries a SHA-256 hash chained to the
previous sealed row's, so a row changed or removed behind the database's back is found by
``manage.py audit_verify``.

Rows are inserted unsealed (no hash, no chain position), so appends never wait for each
other; the sealer (``assessments.audit.audit_seal``) chains them in order a few seconds
later. Sealing is the only change a row ever undergoes: it sets ``hash`` and
``chain_position`` once, from NULL, and nothing else.
"""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..choices import AuditAction, AuditChannel, AuditOutcome

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One access to clinical data, or one attempt: a user (or an API token) read,
    created, changed, evaluated or exported something, or signed in or out, through a
    page, the API, the admin, a task or a command; allowed or refused. Append-only."""

    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    channel = models.CharField(max_length=10, choices=AuditChannel.choices)
    outcome = models.CharField(
        max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    patient = models.ForeignKey(
        "assessments.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=2000, blank=True)
    source_address = models.GenericIPAddressField(null=True, blank=True)
    token_id = models.CharField(
        max_length=16, blank=True, help_text="Key prefix of the API token used, if any."
    )
    request = models.CharField(
        max_length=300, blank=True, help_text="Method and path of the HTTP request."
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    hash = models.CharField(  # noqa: DJ001 - NULL is "not sealed yet", not ""
        max_length=64,
        editable=False,
        null=True,
        help_text="SHA-256 of the previous sealed row's hash and this row's content "
        "(empty until sealed).",
    )
    chain_position = models.BigIntegerField(
        null=True,
        unique=True,
        editable=False,
        help_text="Place in the hash chain: 1, 2, 3... in sealing order (empty until "
        "sealed).",
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            models.Index(
                fields=["id"], condition=Q(hash__isnull=True), name="audit_unsealed"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=AuditChannel.values), name="audit_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=AuditOutcome.values),
                name="audit_outcome_valid",
            ),
        ]

    def __str__(self):
        who = self.user or "system"
        what = self.object_repr or self.object_type
        return f"{who} {self.action} {what} via {self.channel} ({self.outcome})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")

    def content_hash(self, previous_hash: str) -> str:
        """The chain link: SHA-256 over the previous row's hash and this row's fields."""
        return chain_hash(previous_hash, self.chained_content())

    def chained_content(self) -> list:
        return [
            self.at.astimezone(dt.UTC).isoformat(),
            self.user_id,
            self.action,
            self.channel,
            self.outcome,
            self.patient_id,
            self.object_type,
            self.object_id,
            self.object_repr,
            self.detail,
            self.source_address,
            self.token_id,
            self.request,
            self.status_code,
        ]


def chain_hash(previous_hash: str, content: list) -> str:
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous_hash}{text}".encode()).hexdigest()
