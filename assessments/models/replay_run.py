"""A replay of a rule-set version over all the stored assessments of its rule set, run
as chunks by Celery workers (``assessments.replay_runs``).

The run fixes its scope when it starts (assessment ids up to ``last_id``) and cuts it
into id ranges, one ``ReplayChunk`` row each. A chunk's counts are written once, with
the chunk marked done, under a lock of its row: a chunk delivered twice (a worker died
after the work but before the acknowledgement) is counted once. The run's figures are
the sum of its done chunks. Counts only, never a patient or an assessment id.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReplayRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class ReplayRun(models.Model):
    version = models.ForeignKey(
        "guidelines.RuleSetVersion",
        on_delete=models.CASCADE,
        related_name="replay_runs",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ReplayRunStatus.choices, default=ReplayRunStatus.RUNNING
    )
    last_id = models.BigIntegerField(help_text="Highest assessment id in scope.")
    total = models.PositiveIntegerField(help_text="Assessments in scope at the start.")
    chunk_size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Replay #{self.pk} of {self.version_id}"


class ReplayChunk(models.Model):
    run = models.ForeignKey(ReplayRun, on_delete=models.CASCADE, related_name="chunks")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(null=True, blank=True)  # ReplaySummary.as_counts()

    class Meta:
        ordering = ["run", "first_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "first_id"], name="replay_chunk_unique_start"
            )
        ]
        indexes = [
            models.Index(fields=["run", "done_at"], name="replay_chunk_run_done")
        ]

    def __str__(self):
        return f"Chunk {self.first_id}-{self.last_id} of run {self.run_id}"
