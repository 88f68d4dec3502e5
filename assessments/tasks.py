"""Celery tasks: thin wrappers around ``assessments.reports`` (retry policy lives here).

``report_generate_task`` acknowledges its message only once done (``acks_late``) and
gives it back if its worker dies (``reject_on_worker_lost``), so a killed worker never
loses a report; the service is idempotent, so a second delivery is harmless.
``report_sweep_stale_task`` (Celery beat, every minute) re-enqueues reports whose job
was never sent (broker down at request time) or got lost. ``idempotency_purge_task``
(hourly) deletes expired idempotency records, which hold patient data.
"""

import logging

from celery import Task, shared_task

from . import audit, replay_runs, reports
from .api.idempotency import idempotency_records_purge

logger = logging.getLogger(__name__)


class ReportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries (or an unexpected error): the report says why."""
        report_id = args[0] if args else kwargs.get("report_id")
        if report_id is not None:
            reports.report_mark_failed(
                report_id=report_id, reason=f"{type(exc).__name__}: {exc}"
            )


@shared_task(
    base=ReportTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=reports.TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def report_generate_task(report_id: int) -> None:
    reports.report_generate(report_id=report_id)


@shared_task
def report_sweep_stale_task() -> list[int]:
    return reports.report_sweep_stale()


@shared_task(ignore_result=True)
def audit_seal_task() -> int:
    return audit.audit_seal()


@shared_task
def idempotency_purge_task() -> int:
    """Celery beat, hourly: delete expired idempotency records (patient data)."""
    return idempotency_records_purge()


@shared_task(
    acks_late=True, reject_on_worker_lost=True, time_limit=600, soft_time_limit=540
)
def replay_chunk_task(chunk_id: int) -> bool:
    """One chunk of a replay run (``assessments.replay_runs``); idempotent, so a
    redelivery after a worker died is harmless."""
    return replay_runs.replay_chunk_process(chunk_id=chunk_id)
