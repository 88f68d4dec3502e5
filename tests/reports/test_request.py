"""report_request / report_generate / report_sweep_stale: the report's state machine."""

import datetime as dt

import pytest
from django.utils import timezone

from assessments.choices import ReportStatus
from assessments.models import Report
from assessments.reports import (
    report_file_name,
    report_generate,
    report_request,
    report_sweep_stale,
)
from assessments.tasks import report_generate_task

pytestmark = pytest.mark.django_db


def _request(assessment, user, capture, **kwargs):
    """report_request, returning the report and the number of jobs it scheduled."""
    with capture() as callbacks:
        report = report_request(assessment=assessment, user=user, **kwargs)
    return report, len(callbacks)


def _ready(report):
    report.status = ReportStatus.READY
    report.save(update_fields=["status"])
    return report


def test_first_request_creates_a_pending_report_and_schedules_one_job(
    assessment, clinician, django_capture_on_commit_callbacks
):
    report, jobs = _request(assessment, clinician, django_capture_on_commit_callbacks)
    assert jobs == 1
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    assert report.requested_by == clinician
    assert report.generation == 1


def test_asking_again_while_pending_schedules_no_second_job(
    assessment, clinician, django_capture_on_commit_callbacks
):
    first, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    Report.objects.filter(pk=first.pk).update(enqueued_at=timezone.now())  # job sent
    again, jobs = _request(assessment, clinician, django_capture_on_commit_callbacks)
    forced, forced_jobs = _request(
        assessment, clinician, django_capture_on_commit_callbacks, regenerate=True
    )
    assert (jobs, forced_jobs) == (0, 0)
    assert again.pk == forced.pk == first.pk
    assert Report.objects.filter(assessment=assessment).count() == 1
    assert Report.objects.get().generation == 1


@pytest.mark.parametrize(
    "sent", [None, dt.timedelta(minutes=4)], ids=["never sent", "sent 4 min ago"]
)
def test_asking_again_for_a_stale_pending_report_sends_its_job_again(
    assessment, clinician, django_capture_on_commit_callbacks, sent
):
    first, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    enqueued_at = None if sent is None else timezone.now() - sent
    Report.objects.filter(pk=first.pk).update(enqueued_at=enqueued_at)
    again, jobs = _request(assessment, clinician, django_capture_on_commit_callbacks)
    assert jobs == 1
    assert (again.pk, again.status, again.generation) == (
        first.pk,
        ReportStatus.PENDING,
        1,
    )


def test_a_ready_report_is_returned_as_is(
    assessment, clinician, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    _ready(report)
    again, jobs = _request(assessment, clinician, django_capture_on_commit_callbacks)
    assert jobs == 0
    assert again.status == ReportStatus.READY
    assert again.generation == 1


def test_regenerate_renders_a_new_generation(
    assessment, clinician, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    _ready(report)
    again, jobs = _request(
        assessment, clinician, django_capture_on_commit_callbacks, regenerate=True
    )
    assert jobs == 1
    again.refresh_from_db()
    assert (again.status, again.generation) == (ReportStatus.PENDING, 2)


def test_a_failed_report_is_tried_again(
    assessment, clinician, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    report.status, report.error = ReportStatus.FAILED, "boom"
    report.save(update_fields=["status", "error"])
    again, jobs = _request(assessment, clinician, django_capture_on_commit_callbacks)
    assert jobs == 1
    again.refresh_from_db()
    assert (again.status, again.error) == (ReportStatus.PENDING, "")


def test_in_process_the_request_ends_with_a_stored_pdf(
    assessment, clinician, media_root, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(assessment=assessment, user=clinician)
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    assert report.file.name == report_file_name(report, 1)
    assert (media_root / report.file.name).read_bytes().startswith(b"%PDF")
    assert report.enqueued_at <= report.started_at <= report.finished_at
    assert report.attempts == 1


def test_a_job_that_runs_twice_leaves_one_pdf(
    assessment, clinician, media_root, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    report_generate(report_id=report.pk)
    report_generate(report_id=report.pk)  # a redelivered message
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    assert report.attempts == 1
    assert [p.name for p in (media_root / "reports").iterdir()] == [
        report.file.name.split("/")[-1]
    ]


def test_regenerate_replaces_the_previous_file(
    assessment, clinician, media_root, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    report_generate(report_id=report.pk)
    _request(assessment, clinician, django_capture_on_commit_callbacks, regenerate=True)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert (report.status, report.generation) == (ReportStatus.READY, 2)
    files = sorted(p.name for p in (media_root / "reports").iterdir())
    assert files == [report_file_name(report, 2).split("/")[-1]]


def test_a_rendering_error_marks_the_report_failed_with_the_reason(
    assessment, clinician, media_root, settings, django_capture_on_commit_callbacks
):
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}]
    report_generate_task.apply(args=(report.pk,))
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert "TemplateDoesNotExist: reports/assessment.html" in report.error
    assert report.finished_at is not None


def test_transient_errors_are_retried_then_the_report_fails(
    assessment, clinician, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"  # storage writes fail with OSError
    report, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    report_generate_task.apply(args=(report.pk,))
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.attempts == 1 + report_generate_task.max_retries
    assert "NotADirectoryError" in report.error


def test_the_sweep_enqueues_lost_and_stale_requests_only(
    assessment, clinician, encounter, media_root, django_capture_on_commit_callbacks
):
    from assessments.services import assessment_create
    from tests.reports.conftest import SEVERE_PRIMARY

    lost, _ = _request(assessment, clinician, django_capture_on_commit_callbacks)
    fresh_assessment = assessment_create(
        encounter=encounter, data=SEVERE_PRIMARY, author=clinician
    )
    fresh, _ = _request(fresh_assessment, clinician, django_capture_on_commit_callbacks)
    Report.objects.filter(pk=fresh.pk).update(enqueued_at=timezone.now())
    assert Report.objects.get(pk=lost.pk).enqueued_at is None  # never sent
    assert report_sweep_stale() == [lost.pk]
    Report.objects.filter(pk=fresh.pk).update(
        enqueued_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert fresh.pk in report_sweep_stale(older_than=dt.timedelta(minutes=10))
