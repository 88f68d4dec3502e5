"""PDF summaries of assessments."""

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
