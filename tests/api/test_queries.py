"""A list page costs the same number of queries whatever its size."""

import pytest

from tests.api.conftest import AUDIT_APPEND_QUERIES
from tests.factories import EncounterFactory, PatientFactory


@pytest.mark.parametrize("size", [2, 40])
def test_patient_list_query_count_is_constant(
    ehr, organization, size, django_assert_num_queries
):
    PatientFactory.create_batch(size, organization=organization)
    # token + user + membership, the user's sites, their kept patient count, page ids,
    # page rows, audit
    with django_assert_num_queries(5 + AUDIT_APPEND_QUERIES):
        response = ehr.get(f"/api/v1/patients/?page_size={size}")
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize("size", [2, 40])
def test_encounter_list_query_count_is_constant(
    ehr, patient, size, django_assert_num_queries
):
    EncounterFactory.create_batch(size, patient=patient)
    # token + user + membership, patient, count, page, audit append
    with django_assert_num_queries(4 + AUDIT_APPEND_QUERIES):
        response = ehr.get(
            f"/api/v1/patients/{patient.pk}/encounters/?page_size={size}"
        )
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize("extra", [0, 5])
def test_guideline_list_query_count_is_constant(ehr, extra, django_assert_num_queries):
    from guidelines.authoring import version_create_from_document
    from guidelines.loaders import document_read

    for n in range(extra):
        version_create_from_document(
            doc=document_read("esc_eacts_2025"),
            origin="editor",
            status="retired",
            label=f"old-{n}",
        )
    # token + user + membership, rule sets, their versions
    with django_assert_num_queries(3):
        response = ehr.get("/api/v1/guidelines/")
    assert response.status_code == 200
