"""The admin: curated, scoped, and as strict as the services."""

import pytest


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


# Stored assessments are read-only in the admin (tests/security/test_admin_scope.py):
# they are added through the pages and the API, which evaluate them.


@pytest.mark.parametrize(
    "url",
    [
        "/admin/assessments/organization/",
        "/admin/assessments/membership/",
        "/admin/assessments/patient/",
        "/admin/assessments/encounter/",
        "/admin/assessments/assessment/",
        "/admin/assessments/auditevent/",
        "/admin/assessments/patient/add/",
        "/admin/assessments/encounter/add/",
    ],
)
def test_admin_pages_render(admin_client, encounter, url):
    assert admin_client.get(url).status_code == 200


def test_the_assessment_list_shows_the_result_in_clinical_words(
    admin_client, encounter, clinician
):
    from assessments.services import assessment_create

    assessment_create(
        encounter=encounter,
        author=clinician,
        data={
            "etiology": "flail_leaflet",
            "symptoms": {"nyha_class": 3},
            "echo": {
                "eroa_cm2": 0.5,
                "regurgitant_volume_ml": 70,
                "lvef_pct": 62,
                "vena_contracta_cm": 0.8,
                "lvesd_mm": 36,
            },
        },
    )  # severe primary MR, symptomatic: stage D (ACC/AHA 2020 Table 15)
    page = admin_client.get("/admin/assessments/assessment/").content.decode()
    assert "Severe MR" in page
    assert "Stage D (symptomatic severe MR)" in page
