"""PDF summaries of assessments: render, request, generate, sweep.

``report_render`` is pure (a stored assessment in, PDF bytes out). ``report_request`` is
what the API and the pages call: it gets or creates the assessment's one ``Report`` and
enqueues its rendering after the transaction commits, unless a job is already pending.
``report_generate`` is what the Celery task calls: it renders and stores the file and
marks the report ready. Every job may run twice (a redelivered message after a worker
was killed, a sweep re-enqueueing a slow job): the second run finds the report ready, or
writes the same deterministic file name for the same generation, so there is always
exactly one outcome. ``report_sweep_stale`` re-enqueues reports whose job got lost
(broker down at request time, worker gone).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from guidelines.vocabulary import PRIOR_ECHO_FIELDS
from mr_cds.celery import task

from .charts import patient_trend_charts
from .choices import ReportStatus
from .inputs import assessment_to_input, input_display_groups
from .models import Assessment, Report
from .presentation import result_view

logger = logging.getLogger(__name__)

TEMPLATE = "reports/assessment.html"
GENERATE_TASK = "assessments.tasks.report_generate_task"  # tasks imports this module
# A render takes seconds; a job lost after this long is sent again (a second run is
# harmless). Overridable with settings.MR_CDS_REPORT_STALE_MINUTES.
STALE_AFTER_MINUTES = 3
# Errors worth retrying (database or storage briefly away); anything else is a bug or
# bad data and marks the report failed at once.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)
# Test-only hook: seconds to sleep after a job marked the report started, so the worker
# tests can kill a worker mid-render. Never set in production.
RENDER_DELAY_ENV = "MR_CDS_TEST_REPORT_RENDER_DELAY"

# --- rendering (pure) ---------------------------------------------------------------


def report_render(*, assessment: Assessment) -> bytes:
    """The PDF summary of one stored assessment (its stored result, never recomputed)."""
    from weasyprint import HTML  # heavy import (~0.5 s): only where PDFs are made

    html = render_to_string(TEMPLATE, report_context(assessment=assessment))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def report_context(*, assessment: Assessment) -> dict[str, Any]:
    """Everything the template shows, prepared from the stored record and result."""
    encounter = assessment.encounter
    patient = encounter.patient
    result = assessment.result or {}
    data = assessment_to_input(assessment)
    version = assessment.rule_set_version
    return {
        "assessment": assessment,
        "encounter": encounter,
        "patient": patient,
        "age_years": patient.age_on(encounter.occurred_on),
        "result": result,
        "view": result_view(result, data),
        "input_sections": _input_sections(data),
        "prior_echos": data.get("prior_echos", []),
        "prior_echo_fields": PRIOR_ECHO_FIELDS,
        "guideline": result.get("guideline") or {},
        "rule_set_version": version,
        "charts": _trend_charts(patient),
        "generated_at": timezone.now(),
    }


def _input_sections(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded inputs, grouped in clinical order, with labels and units."""
    return [
        # Two label/value pairs per table row: CSS columns would triple render time.
        {
            "title": g["title"],
            "pairs": [g["rows"][i : i + 2] for i in range(0, len(g["rows"]), 2)],
        }
        for g in input_display_groups(data)
    ]


def _trend_charts(patient) -> list[dict[str, Any]]:
    """The patient's trend charts that have at least one point."""
    return [chart for chart in patient_trend_charts(patient) if chart["points"]]


# --- request, generate, sweep -------------------------------------------------------


def report_request(*, assessment: Assessment, user, regenerate: bool = False) -> Report:
    """Get or create the assessment's report and make sure a job will produce it.

    Pending: nothing new is enqueued (one job at a time), unless its job is stale
    (never sent, the broker being down, or sent longer ago than the stale time). Ready: returned as is, unless
    ``regenerate`` (a new generation is then rendered). Failed: tried again. The job is
    enqueued after the transaction commits; if the broker is down the request still
    succeeds (the report stays pending, ``enqueued_at`` empty) and the sweep enqueues it.
    Auditing is the caller's business (its channel).
    """
    with transaction.atomic():
        report, created = Report.objects.select_for_update().get_or_create(
            assessment=assessment, defaults={"requested_by": user}
        )
        if not created:
            if report.status == ReportStatus.PENDING:
                if report_is_stale(report):  # its job was never sent, or got lost
                    report_id = report.pk
                    transaction.on_commit(lambda: report_enqueue(report_id=report_id))
                return report
            if report.status == ReportStatus.READY and not regenerate:
                return report
            if report.status == ReportStatus.READY:
                report.generation += 1
            report.status = ReportStatus.PENDING
            report.requested_by = user
            report.requested_at = timezone.now()
            report.error = ""
            report.enqueued_at = report.started_at = report.finished_at = None
            report.attempts = 0
            report.save(
                update_fields=[
                    "status",
                    "generation",
                    "requested_by",
                    "requested_at",
                    "error",
                    "enqueued_at",
                    "started_at",
                    "finished_at",
                    "attempts",
                ]
            )
        report_id = report.pk
        transaction.on_commit(lambda: report_enqueue(report_id=report_id))
    return report


def report_enqueue(*, report_id: int) -> bool:
    """Send the rendering job; False (logged, report left for the sweep) if the broker
    is unreachable. Runs after commit: never breaks the request that asked."""
    Report.objects.filter(pk=report_id).update(enqueued_at=timezone.now())
    try:
        task(GENERATE_TASK).apply_async((report_id,), retry=False)
    except Exception:  # kombu/redis connection errors vary by transport
        logger.warning(
            "report %s: could not enqueue (broker down?); the sweep will retry",
            report_id,
            exc_info=True,
        )
        Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(
            enqueued_at=None
        )
        return False
    return True


def report_file_name(report: Report, generation: int) -> str:
    """Deterministic per report and generation: a second run overwrites, never adds."""
    return f"reports/assessment-{report.assessment_id}-report-{report.pk}-g{generation}.pdf"


def report_generate(*, report_id: int) -> Report | None:
    """Render and store the report's PDF, then mark it ready (idempotent).

    A report that is no longer pending (already ready, or failed) is left alone. Transient
    errors propagate (the task retries them); other errors mark the report failed.
    """
    with transaction.atomic():
        report = (
            Report.objects.select_for_update()
            .select_related("assessment")
            .filter(pk=report_id)
            .first()
        )
        if report is None:
            logger.warning("report %s: no such report, job dropped", report_id)
            return None
        if report.status != ReportStatus.PENDING:
            return report
        generation = report.generation
        report.started_at = timezone.now()
        report.attempts += 1
        report.save(update_fields=["started_at", "attempts"])

    _test_only_delay()
    assessment = Assessment.objects.select_related(
        "encounter__patient", "rule_set_version"
    ).get(pk=report.assessment_id)
    try:
        pdf = report_render(assessment=assessment)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        logger.exception("report %s: rendering failed", report_id)
        return report_mark_failed(report_id=report_id, reason=_reason(exc))
    name = _store(report_file_name(report, generation), pdf)

    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status != ReportStatus.PENDING or report.generation != generation:
            # Another run finished first, or a newer generation was asked for meanwhile.
            if report.file.name != name:
                default_storage.delete(name)
            return report
        previous = report.file.name
        report.file.name = name
        report.status = ReportStatus.READY
        report.error = ""
        report.finished_at = timezone.now()
        report.save(update_fields=["file", "status", "error", "finished_at"])
    if previous and previous != name:
        default_storage.delete(previous)  # the superseded generation's file
    return report


def report_mark_failed(*, report_id: int, reason: str) -> Report | None:
    """Mark a pending report failed with the reason (a ready one stays ready)."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status != ReportStatus.PENDING:
            return report
        report.status = ReportStatus.FAILED
        report.error = reason[:2000]
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "error", "finished_at"])
    return report


def _stale_after() -> dt.timedelta:
    minutes = getattr(settings, "MR_CDS_REPORT_STALE_MINUTES", STALE_AFTER_MINUTES)
    return dt.timedelta(minutes=minutes)


def report_is_stale(report: Report) -> bool:
    """A pending report whose job was never sent or was sent too long ago."""
    return report.status == ReportStatus.PENDING and (
        report.enqueued_at is None
        or report.enqueued_at <= timezone.now() - _stale_after()
    )


def report_sweep_stale(*, older_than: dt.timedelta | None = None) -> list[int]:
    """Re-enqueue pending reports never enqueued or enqueued longer ago than
    ``older_than`` (default ``MR_CDS_REPORT_STALE_MINUTES``); return their ids."""
    cutoff = timezone.now() - (older_than or _stale_after())
    stale = list(
        Report.objects.filter(status=ReportStatus.PENDING)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=cutoff))
        .values_list("pk", flat=True)
    )
    for report_id in stale:
        report_enqueue(report_id=report_id)
    if stale:
        logger.info("report sweep: re-enqueued %s", stale)
    return stale


def _store(name: str, pdf: bytes) -> str:
    """Write ``pdf`` under exactly ``name`` through the default storage (overwrite)."""
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(pdf))
    if saved != name:  # a concurrent run wrote ``name`` between delete and save
        default_storage.delete(saved)
    return name


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _test_only_delay() -> None:
    seconds = os.environ.get(RENDER_DELAY_ENV)
    if seconds:
        time.sleep(float(seconds))
