"""Downloading the PDF through the clinician pages: only for users who see the patient."""

import pytest
from django.urls import reverse

from assessments.choices import ReportStatus
from assessments.models import AuditEvent
from assessments.reports import report_generate, report_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_report(assessment, clinician, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # no job: rendered right here
        report = report_request(assessment=assessment, user=clinician)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    return report


def test_the_clinician_downloads_the_pdf_and_it_is_audited(
    client, clinician, assessment, ready_report
):
    client.force_login(clinician)
    response = client.get(reverse("assessment_report_pdf", args=[assessment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        user=clinician, action="export", patient=assessment.encounter.patient
    ).exists()


def test_a_clinician_of_another_site_gets_404(
    client, other_clinician, assessment, ready_report
):
    client.force_login(other_clinician)
    response = client.get(reverse("assessment_report_pdf", args=[assessment.pk]))
    assert response.status_code == 404
    # Only the refusal is recorded, against the patient whose report was asked for.
    refusal = AuditEvent.objects.get(user=other_clinician)
    assert (refusal.outcome, refusal.status_code) == ("refused", 404)
    assert refusal.patient == assessment.encounter.patient


def test_no_pdf_before_it_is_ready(
    client, clinician, assessment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        report_request(assessment=assessment, user=clinician)
    client.force_login(clinician)
    response = client.get(reverse("assessment_report_pdf", args=[assessment.pk]))
    assert response.status_code == 404


def test_the_pdf_is_never_cached(client, clinician, assessment, ready_report):
    client.force_login(clinician)
    response = client.get(reverse("assessment_report_pdf", args=[assessment.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
