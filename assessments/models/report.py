"""PDF summaries of assessments and API idempotency records."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..choices import ReportStatus


class Report(models.Model):
    """The PDF summary of one assessment: requested, rendered by a worker, stored."""

    assessment = models.OneToOneField(
        "assessments.Assessment", on_delete=models.PROTECT, related_name="report"
    )
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    error = models.TextField(blank=True, help_text="Why the last rendering failed")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    generation = models.PositiveIntegerField(
        default=1, help_text="Incremented by an explicit regenerate"
    )

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"Report of assessment #{self.assessment_id} ({self.status})"


class IdempotencyRecord(models.Model):
    """The first response to a create request sent with an ``Idempotency-Key``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")
        ]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
