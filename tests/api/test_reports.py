"""PDF report endpoints: request (202), status, download once ready (404 before)."""

import pytest

from assessments.models import AuditEvent, Report
from assessments.reports import report_generate
from assessments.services import assessment_create


@pytest.fixture
def assessment(encounter, clinician, assessment_input):
    return assessment_create(
        encounter=encounter, data=assessment_input, author=clinician
    )


def test_status_and_pdf_are_404_before_any_request(ehr, assessment):
    assert ehr.get(f"/api/v1/assessments/{assessment.pk}/report").status_code == 404
    assert ehr.get(f"/api/v1/assessments/{assessment.pk}/report.pdf").status_code == 404


def test_request_creates_a_pending_report_once(
    ehr, assessment, api_client_user, django_capture_on_commit_callbacks
):
    url = f"/api/v1/assessments/{assessment.pk}/report"
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        response = ehr.post(url, {}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert set(body) == {"status", "requested_at"}
    assert len(jobs) == 1  # rendering is enqueued after commit
    report = Report.objects.get(assessment=assessment)
    assert report.requested_by == api_client_user
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        assert ehr.post(url, {}, format="json").json()["status"] == "pending"
    assert Report.objects.count() == 1
    assert ehr.get(url).json()["status"] == "pending"
    # still pending: no PDF yet
    assert ehr.get(url + ".pdf").status_code == 404
    assert (
        AuditEvent.objects.filter(
            action="export", channel="api", patient=assessment.encounter.patient
        ).count()
        == 2
    )


def test_a_ready_report_is_downloadable(ehr, assessment):
    ehr.post(f"/api/v1/assessments/{assessment.pk}/report", {}, format="json")
    report_generate(report_id=Report.objects.get().pk)  # what the worker does
    status = ehr.get(f"/api/v1/assessments/{assessment.pk}/report").json()
    assert status["status"] == "ready"
    assert status["url"].endswith(f"/api/v1/assessments/{assessment.pk}/report.pdf")
    response = ehr.get(status["url"], HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_failed_report_says_why(ehr, assessment):
    Report.objects.create(
        assessment=assessment, status="failed", error="renderer crashed"
    )
    body = ehr.get(f"/api/v1/assessments/{assessment.pk}/report").json()
    assert body["status"] == "failed"
    assert body["error"] == "renderer crashed"
    assert ehr.get(f"/api/v1/assessments/{assessment.pk}/report.pdf").status_code == 404


def test_unknown_request_fields_are_refused(ehr, assessment):
    response = ehr.post(
        f"/api/v1/assessments/{assessment.pk}/report", {"colour": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "colour"
    assert not Report.objects.exists()


def test_another_care_sites_report_is_404(as_other, assessment):
    url = f"/api/v1/assessments/{assessment.pk}/report"
    assert as_other.post(url, {}, format="json").status_code == 404
    assert not Report.objects.exists()
    Report.objects.create(assessment=assessment)
    assert as_other.get(url).status_code == 404
    assert as_other.get(url + ".pdf").status_code == 404
