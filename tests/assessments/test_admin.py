"""The admin: curated, scoped, and as strict as the services."""

import pytest

from assessments.models import Assessment, AuditEvent

INLINE = {
    "prior_echos-TOTAL_FORMS": "1",
    "prior_echos-INITIAL_FORMS": "0",
    "prior_echos-0-months_ago": "12",
    "prior_echos-0-lvef_pct": "62",
}


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_admin_adds_an_assessment_filling_patient_values_from_the_record(
    admin_client, encounter, superuser
):
    response = admin_client.post(
        "/admin/assessments/assessment/add/",
        {"encounter": encounter.pk, "echo_eroa_cm2": "0.45", **INLINE},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assessment = Assessment.objects.get()
    assert (assessment.patient_age_years, assessment.patient_sex) == (66, "female")
    assert assessment.created_by == superuser
    assert assessment.prior_echos.get().months_ago == 12
    assert AuditEvent.objects.filter(
        action="create", patient=encounter.patient
    ).exists()


def test_admin_refuses_a_patient_value_contradicting_the_record(
    admin_client, encounter
):
    response = admin_client.post(
        "/admin/assessments/assessment/add/",
        {"encounter": encounter.pk, "patient_age_years": "40", **INLINE},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "contradicts the patient record" in errors["patient_age_years"][0]
    assert not Assessment.objects.exists()


def test_admin_refuses_out_of_range_and_lvesd_not_below_lvedd(admin_client, encounter):
    response = admin_client.post(
        "/admin/assessments/assessment/add/",
        {
            "encounter": encounter.pk,
            "echo_eroa_cm2": "2.5",
            "echo_lvesd_mm": "60",
            "echo_lvedd_mm": "55",
            **INLINE,
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["echo_eroa_cm2"] == ["EROA must be between 0 and 2 cm²."]
    assert "echo.lvesd_mm must be below echo.lvedd_mm" in errors["echo_lvesd_mm"][0]
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/assessments/organization/",
        "/admin/assessments/membership/",
        "/admin/assessments/patient/",
        "/admin/assessments/encounter/",
        "/admin/assessments/assessment/",
        "/admin/assessments/auditevent/",
        "/admin/assessments/assessment/add/",
        "/admin/assessments/patient/add/",
        "/admin/assessments/encounter/add/",
    ],
)
def test_admin_pages_render(admin_client, encounter, url):
    assert admin_client.get(url).status_code == 200
