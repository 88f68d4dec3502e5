"""The v1 endpoints through the real URL conf: responses, database state, audit, access."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.api.errors import NOT_AUTHENTICATED, NOT_FOUND
from assessments.models import Assessment, AuditEvent, Encounter, Patient
from guidelines.authoring import version_create_from_document
from guidelines.loaders import DATA_DIR, document_read
from guidelines.models import RuleSetVersion, VersionStatus
from guidelines.services import active_rule_set
from tests.factories import EncounterFactory, MembershipFactory, PatientFactory

VIGNETTE = json.loads((DATA_DIR / "vignettes.json").read_text())[3]  # MR-007, C2


def errors_of(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"errors"}
    return body["errors"]


# --- authentication -----------------------------------------------------------------


ENDPOINTS = [
    ("post", "/api/v1/evaluate"),
    ("get", "/api/v1/patients/"),
    ("post", "/api/v1/patients/"),
    ("get", "/api/v1/patients/{patient}/"),
    ("patch", "/api/v1/patients/{patient}/"),
    ("get", "/api/v1/patients/{patient}/encounters/"),
    ("post", "/api/v1/patients/{patient}/encounters/"),
    ("get", "/api/v1/encounters/{encounter}/"),
    ("post", "/api/v1/encounters/{encounter}/assessments/"),
    ("get", "/api/v1/guidelines/"),
    ("get", "/api/v1/assessments/1/"),
    ("post", "/api/v1/assessments/1/report"),
    ("get", "/api/v1/assessments/1/report"),
    ("get", "/api/v1/assessments/1/report.pdf"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_it_answers_401_without_credentials(anon, encounter, method, url):
    url = url.format(patient=encounter.patient_id, encounter=encounter.pk)
    response = getattr(anon, method)(url, {}, format="json")
    assert response.status_code == 401
    assert errors_of(response) == [{"field": "", "message": NOT_AUTHENTICATED}]
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-token", "Bearer", "Bearer a b", "bearer " + "0" * 64]
)
def test_it_answers_401_for_a_bad_token(anon, patient, header):
    anon.credentials(HTTP_AUTHORIZATION=header)
    response = anon.get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 401
    assert "MRN" not in response.content.decode()


def test_a_token_expires(anon, api_client_user, settings):
    from assessments.api.services import api_token_issue

    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        token = api_token_issue(user=api_client_user)
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with time_machine.travel(dt.datetime(2026, 3, 31, tzinfo=dt.UTC), tick=False):
        assert anon.get("/api/v1/guidelines/").status_code == 200  # day 89
    with time_machine.travel(dt.datetime(2026, 4, 2, tzinfo=dt.UTC), tick=False):
        assert anon.get("/api/v1/guidelines/").status_code == 401  # day 91


def test_a_revoked_token_is_refused(ehr, api_client_user):
    assert ehr.get("/api/v1/guidelines/").status_code == 200
    api_client_user.auth_token_set.all().delete()  # what the admin's delete does
    assert ehr.get("/api/v1/guidelines/").status_code == 401


def test_a_token_stops_working_with_the_api_client_membership(ehr, api_client_user):
    assert ehr.get("/api/v1/guidelines/").status_code == 200
    api_client_user.memberships.all().delete()
    assert ehr.get("/api/v1/guidelines/").status_code == 401


def test_a_token_of_an_inactive_user_is_refused(ehr, api_client_user):
    api_client_user.is_active = False
    api_client_user.save(update_fields=["is_active"])
    assert ehr.get("/api/v1/guidelines/").status_code == 401


def test_an_expired_token_is_deleted(anon, api_client_user):
    from assessments.api.services import api_token_issue

    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        token = api_token_issue(user=api_client_user)
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), tick=False):
        assert anon.get("/api/v1/guidelines/").status_code == 401
    assert not api_client_user.auth_token_set.exists()


def test_a_header_that_is_not_utf8_is_401(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Bearer caf\xe9")
    assert anon.get("/api/v1/guidelines/").status_code == 401


def test_tokens_are_stored_hashed(token, api_client_user):
    stored = api_client_user.auth_token_set.get()
    assert token not in (stored.digest, stored.token_key)
    assert token.startswith(stored.token_key)


def test_a_session_works_for_the_browser(as_clinician, patient):
    response = as_clinician.get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 200
    assert response.json()["mrn"] == "MRN-0001"


def test_a_session_post_needs_the_csrf_token(clinician, patient):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(clinician)
    response = client.patch(f"/api/v1/patients/{patient.pk}/", {"given_name": "X"})
    assert response.status_code == 403
    assert errors_of(response)[0]["field"] == ""
    patient.refresh_from_db()
    assert patient.given_name == "Ada"


# --- evaluate ------------------------------------------------------------------------


def test_evaluate_returns_the_result_and_stores_only_the_audit_entry(
    ehr, evaluate_input, api_client_user
):
    response = ehr.post("/api/v1/evaluate", evaluate_input, format="json")
    assert response.status_code == 200
    result = response.json()
    assert result["guideline"]["code"] == "acc_aha_2020"
    assert result["severity"] == "severe"
    assert result["mr_type"] == "primary"
    assert "surgery_mv" in [r["code"] for r in result["recommendations"]]
    assert Assessment.objects.count() == 0
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.channel, event.patient) == (
        api_client_user,
        "evaluate",
        "api",
        None,
    )


def test_evaluate_applies_the_named_guideline(ehr, evaluate_input):
    evaluate_input["guideline"] = "esc_eacts_2025"
    response = ehr.post("/api/v1/evaluate", evaluate_input, format="json")
    assert response.json()["guideline"]["code"] == "esc_eacts_2025"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"echo": {"eroa_cm2": 5}},
            "echo.eroa_cm2",
            "must be between 0 and 2 cm², got 5",
            id="range",
        ),
        pytest.param(
            {"echo": {"eroa": 0.4}}, "echo.eroa", "unknown field", id="unknown"
        ),
        pytest.param({"colour": "red"}, "colour", "unknown field", id="unknown top"),
        pytest.param(
            {"echo": {"lvef_pct": "high"}},
            "echo.lvef_pct",
            "must be a number in 5..90 %",
            id="type",
        ),
        pytest.param({"etiology": "bad"}, "etiology", None, id="enum"),
        pytest.param(
            {"patient": {"sex": "female"}},
            "patient.age_years",
            "is required",
            id="required",
        ),
    ],
)
def test_evaluate_refuses_bad_input_by_field(
    ehr, evaluate_input, change, field, message
):
    for key, value in change.items():
        if isinstance(value, dict) and key != "patient":
            evaluate_input.setdefault(key, {}).update(value)
        else:
            evaluate_input[key] = value
    response = ehr.post("/api/v1/evaluate", evaluate_input, format="json")
    assert response.status_code == 400
    errors = errors_of(response)
    assert field in [e["field"] for e in errors]
    if message:
        assert {"field": field, "message": message} in errors
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"'])
def test_evaluate_refuses_what_is_not_an_object(ehr, body):
    response = ehr.post("/api/v1/evaluate", body, content_type="application/json")
    assert response.status_code == 400
    assert errors_of(response)


def test_evaluate_refuses_other_media_types(ehr):
    response = ehr.post("/api/v1/evaluate", "a=1", content_type="text/plain")
    assert response.status_code == 415
    assert errors_of(response)


# --- patients ------------------------------------------------------------------------


NEW_PATIENT = {
    "mrn": "EHR-42",
    "given_name": "Grace",
    "family_name": "Hopper",
    "birth_date": "1950-12-09",
    "sex": "female",
    "height_cm": 160,
    "weight_kg": 55.5,
}


def test_patient_create_registers_in_the_callers_care_site(ehr, organization):
    response = ehr.post("/api/v1/patients/", NEW_PATIENT, format="json")
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert patient.organization == organization
    assert body == {**NEW_PATIENT, "id": patient.pk, "height_cm": 160.0}
    assert AuditEvent.objects.filter(action="create", patient=patient).exists()


def test_patient_create_refuses_an_ambiguous_care_site(
    ehr, api_client_user, other_organization
):
    MembershipFactory(user=api_client_user, organization=other_organization)
    response = ehr.post("/api/v1/patients/", NEW_PATIENT, format="json")
    assert response.status_code == 400
    assert "more than one care site" in errors_of(response)[0]["message"]
    assert not Patient.objects.exists()


def test_patient_create_refuses_a_user_of_no_care_site(superuser):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(superuser)
    response = client.post("/api/v1/patients/", NEW_PATIENT, format="json")
    assert response.status_code == 400
    assert "no care site" in errors_of(response)[0]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sex": "other"}, "sex"),
        ({"height_cm": 400}, "height_cm"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"nickname": "G"}, "nickname"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
    ],
)
def test_patient_create_refuses_bad_fields(ehr, change, field):
    response = ehr.post("/api/v1/patients/", {**NEW_PATIENT, **change}, format="json")
    assert response.status_code == 400
    assert field in [e["field"] for e in errors_of(response)]
    assert not Patient.objects.exists()


def test_patient_create_refuses_a_duplicate_mrn(ehr, patient):
    response = ehr.post(
        "/api/v1/patients/", {**NEW_PATIENT, "mrn": "MRN-0001"}, format="json"
    )
    assert response.status_code == 400
    assert Patient.objects.count() == 1


def test_patient_list_shows_only_the_callers_patients(ehr, patient, other_organization):
    PatientFactory(organization=other_organization, mrn="OTHER-1")
    response = ehr.get("/api/v1/patients/")
    assert response.status_code == 200
    assert [p["mrn"] for p in response.json()["results"]] == ["MRN-0001"]
    assert response.json()["count"] == 1


def test_patient_list_filters_by_mrn_or_name(ehr, organization):
    PatientFactory(organization=organization, mrn="A-1", family_name="Lovelace")
    PatientFactory(organization=organization, mrn="B-2", family_name="Babbage")
    assert [
        p["mrn"] for p in ehr.get("/api/v1/patients/?q=love").json()["results"]
    ] == ["A-1"]
    assert [p["mrn"] for p in ehr.get("/api/v1/patients/?q=b-2").json()["results"]] == [
        "B-2"
    ]
    assert [
        p["mrn"] for p in ehr.get("/api/v1/patients/?mrn=A-1").json()["results"]
    ] == ["A-1"]
    assert ehr.get("/api/v1/patients/?q=nobody").json()["count"] == 0


def test_patient_list_paginates_with_a_maximum_page_size(ehr, organization):
    PatientFactory.create_batch(105, organization=organization)
    page = ehr.get("/api/v1/patients/").json()
    assert (page["count"], len(page["results"])) == (105, 25)
    assert "page=2" in page["next"]
    assert len(ehr.get("/api/v1/patients/?page_size=1000").json()["results"]) == 100
    last = ehr.get("/api/v1/patients/?page_size=50&page=3").json()
    assert len(last["results"]) == 5
    assert last["next"] is None
    assert ehr.get("/api/v1/patients/?page=99").status_code == 404


def test_every_page_of_the_patient_list_holds_its_rows_in_list_order(ehr, organization):
    """Pages in the second half are read from the end of the list: the pages still
    follow each other in order, none repeats or skips a patient."""
    for family, given in [("Babbage", "Charles"), ("Hopper", "Grace")] + [
        ("Lovelace", "Ada")
    ] * 5:
        PatientFactory(organization=organization, family_name=family, given_name=given)
    in_order = list(
        Patient.objects.filter(organization=organization)
        .order_by("family_name", "given_name", "id")
        .values_list("pk", flat=True)
    )
    pages = [
        ehr.get(f"/api/v1/patients/?page_size=2&page={n}").json() for n in (1, 2, 3, 4)
    ]
    assert [p["id"] for page in pages for p in page["results"]] == in_order
    assert [len(page["results"]) for page in pages] == [2, 2, 2, 1]
    assert {page["count"] for page in pages} == {7}
    assert pages[-1]["next"] is None
    assert ehr.get("/api/v1/patients/?page_size=2&page=5").status_code == 404


def test_the_patient_list_total_is_the_sites_kept_count_and_a_search_counts_hits(
    ehr, organization, other_organization
):
    PatientFactory.create_batch(3, organization=organization, family_name="Lovelace")
    PatientFactory(organization=organization, family_name="Babbage")
    PatientFactory.create_batch(2, organization=other_organization)
    with CaptureQueriesContext(connection) as listed:
        assert ehr.get("/api/v1/patients/").json()["count"] == 4
    assert not [q for q in listed.captured_queries if "COUNT(" in q["sql"]]
    with CaptureQueriesContext(connection) as searched:
        assert ehr.get("/api/v1/patients/?q=love").json()["count"] == 3
    assert [q for q in searched.captured_queries if "COUNT(" in q["sql"]]


def test_patient_detail_and_update(ehr, patient, api_client_user):
    assert (
        ehr.get(f"/api/v1/patients/{patient.pk}/").json()["family_name"]
        == patient.family_name
    )
    response = ehr.patch(
        f"/api/v1/patients/{patient.pk}/",
        {"weight_kg": 70.25, "given_name": "Ann"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["weight_kg"] == 70.25
    patient.refresh_from_db()
    assert (str(patient.weight_kg), patient.given_name) == ("70.250", "Ann")
    assert AuditEvent.objects.filter(action="update", patient=patient).exists()
    assert AuditEvent.objects.filter(action="read", patient=patient).exists()


def test_patient_update_refuses_bad_values_and_saves_nothing(ehr, patient):
    response = ehr.patch(
        f"/api/v1/patients/{patient.pk}/",
        {"given_name": "Ann", "weight_kg": 999},
        format="json",
    )
    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "weight_kg"
    patient.refresh_from_db()
    assert patient.given_name == "Ada"


def test_another_care_sites_patient_is_404(as_other, patient):
    for method, data in (("get", None), ("patch", {"given_name": "Eve"})):
        response = getattr(as_other, method)(
            f"/api/v1/patients/{patient.pk}/", data, format="json"
        )
        assert response.status_code == 404
        assert errors_of(response) == [{"field": "", "message": NOT_FOUND}]
    patient.refresh_from_db()
    assert patient.given_name == "Ada"
    assert as_other.get("/api/v1/patients/999999/").status_code == 404


# --- encounters ----------------------------------------------------------------------


def test_encounter_create_and_detail(ehr, patient):
    response = ehr.post(
        f"/api/v1/patients/{patient.pk}/encounters/",
        {
            "occurred_at": "2025-05-01T08:00:00Z",
            "setting": "inpatient",
            "presentation": "acute",
        },
        format="json",
    )
    assert response.status_code == 201
    encounter = Encounter.objects.get(pk=response.json()["id"])
    assert encounter.patient == patient
    assert encounter.occurred_at == dt.datetime(2025, 5, 1, 8, tzinfo=dt.UTC)
    detail = ehr.get(f"/api/v1/encounters/{encounter.pk}/").json()
    assert detail == {
        "id": encounter.pk,
        "patient": patient.pk,
        "occurred_at": "2025-05-01T08:00:00Z",
        "setting": "inpatient",
        "presentation": "acute",
    }


def test_encounter_create_refuses_a_date_before_birth(ehr, patient):
    response = ehr.post(
        f"/api/v1/patients/{patient.pk}/encounters/",
        {"occurred_at": "1950-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "occurred_at"
    assert not Encounter.objects.exists()


def test_encounter_list_filters_by_date_range(ehr, patient):
    for day in (1, 10, 20):
        EncounterFactory(
            patient=patient, occurred_at=dt.datetime(2025, 1, day, 9, tzinfo=dt.UTC)
        )
    url = f"/api/v1/patients/{patient.pk}/encounters/"
    days = lambda r: [e["occurred_at"][8:10] for e in r.json()["results"]]  # noqa: E731
    assert days(ehr.get(url)) == ["20", "10", "01"]
    assert days(ehr.get(url + "?occurred_after=2025-01-05")) == ["20", "10"]
    assert days(
        ehr.get(url + "?occurred_after=2025-01-05&occurred_before=2025-01-15")
    ) == ["10"]
    response = ehr.get(url + "?occurred_after=someday")
    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "occurred_after"


def test_another_care_sites_encounters_are_404(as_other, encounter, assessment_input):
    patient = encounter.patient
    assert as_other.get(f"/api/v1/patients/{patient.pk}/encounters/").status_code == 404
    response = as_other.post(
        f"/api/v1/patients/{patient.pk}/encounters/", {}, format="json"
    )
    assert response.status_code == 404
    assert as_other.get(f"/api/v1/encounters/{encounter.pk}/").status_code == 404
    response = as_other.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        assessment_input,
        format="json",
    )
    assert response.status_code == 404
    assert Encounter.objects.count() == 1
    assert not Assessment.objects.exists()


# --- assessments ---------------------------------------------------------------------


def test_assessment_create_stores_input_result_and_version(
    ehr, encounter, assessment_input, api_client_user
):
    response = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        assessment_input,
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assessment = Assessment.objects.get(pk=body["id"])
    active = RuleSetVersion.objects.get(
        rule_set__code="acc_aha_2020", status="published"
    )
    assert assessment.rule_set_version == active
    assert assessment.created_by == api_client_user
    assert body["encounter"] == encounter.pk
    assert body["created_by"] == api_client_user.pk
    assert body["rule_set_version"] == active.pk
    # patient values came from the record (age at the encounter date 2025-03-10)
    assert body["input"]["patient"] == {
        "age_years": 66,
        "sex": "female",
        "height_cm": 165,
        "weight_kg": 68.5,
    }
    assert body["input"]["echo"]["eroa_cm2"] == 0.45
    assert body["result"] == assessment.result
    assert body["result"]["guideline"]["content_hash"] == active.content_hash
    assert AuditEvent.objects.filter(
        action="create",
        channel="api",
        patient=encounter.patient,
        object_type="assessments.assessment",
        object_id=str(assessment.pk),
    ).exists()


def test_assessment_create_refuses_a_contradiction_with_the_record(
    ehr, encounter, assessment_input
):
    assessment_input["patient"] = {"sex": "male"}
    response = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        assessment_input,
        format="json",
    )
    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "patient.sex"
    assert "contradicts the patient record" in errors_of(response)[0]["message"]
    assert not Assessment.objects.exists()


def test_assessment_create_refuses_out_of_range_input(ehr, encounter, assessment_input):
    assessment_input["echo"]["lvesd_mm"] = 60  # above LVEDD 55: a cross-field error
    assessment_input["prior_echos"] = [{"months_ago": 700}]
    response = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        assessment_input,
        format="json",
    )
    assert response.status_code == 400
    fields = [e["field"] for e in errors_of(response)]
    assert "prior_echos[0].months_ago" in fields
    assert not Assessment.objects.exists()


def test_assessment_detail_returns_it_as_stored_after_a_new_version(
    ehr, encounter, django_capture_on_commit_callbacks
):
    data = {k: v for k, v in VIGNETTE["input"].items() if k != "patient"}
    created = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/", data, format="json"
    )
    assert created.status_code == 201
    first = created.json()
    assert first["result"]["stage"] == "C2"
    doc = document_read("acc_aha_2020")
    for row in doc["stage"]:
        if row["key"] == "c2_lvef":
            row["when"] = ["echo.lvef_pct", "<=", 55]
    with django_capture_on_commit_callbacks(execute=True):
        newer = version_create_from_document(
            doc=doc, origin="editor", status=VersionStatus.PUBLISHED, label="2020.2-api"
        )
    again = ehr.get(f"/api/v1/assessments/{first['id']}/")
    assert again.status_code == 200
    assert again.json() == first
    assert again.json()["rule_set_version"] != newer.pk
    # the same input evaluated now gets the newer version (and another stage)
    fresh = ehr.post("/api/v1/evaluate", VIGNETTE["input"], format="json").json()
    assert fresh["guideline"]["version"] == "2020.2-api"
    assert fresh["stage"] == "C1"


def test_assessment_create_answers_what_a_later_read_returns(
    ehr, encounter, assessment_input
):
    # Prior echos given out of the stored order (most distant first).
    assessment_input["prior_echos"] = [
        {"months_ago": 6, "lvef_pct": 64, "lvesd_mm": 34},
        {"months_ago": 24, "lvef_pct": 66, "lvesd_mm": 31},
        {"months_ago": 12, "lvef_pct": 65},
    ]
    url = f"/api/v1/encounters/{encounter.pk}/assessments/"
    active_rule_set("acc_aha_2020")  # compiled and cached, as in a running server
    # token, encounter; transaction: assessment, 3 prior echos, audit entry. The
    # response is built from what was saved, without reading it back.
    with CaptureQueriesContext(connection) as queries:
        created = ehr.post(url, assessment_input, format="json")
    assert created.status_code == 201
    statements = [
        q["sql"].split()[0] + " " + q["sql"].split('"')[1]
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"]  # the test's own transaction nests the view's
    ]
    assert statements == [
        "SELECT knox_authtoken",
        "SELECT assessments_encounter",
        "INSERT assessments_assessment",
        *["INSERT assessments_priorecho"] * 3,
        "INSERT assessments_auditevent",  # unsealed: no lock, no read of the chain
    ]
    body = created.json()
    assert [e["months_ago"] for e in body["input"]["prior_echos"]] == [24, 12, 6]
    assert ehr.get(f"/api/v1/assessments/{body['id']}/").json() == body


def test_another_care_sites_assessment_is_404(
    as_other, ehr, encounter, assessment_input
):
    created = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        assessment_input,
        format="json",
    ).json()
    response = as_other.get(f"/api/v1/assessments/{created['id']}/")
    assert response.status_code == 404
    assert "result" not in response.content.decode()


# --- guidelines ----------------------------------------------------------------------


def test_guideline_list_shows_rule_sets_and_versions(ehr):
    body = ehr.get("/api/v1/guidelines/").json()
    by_code = {g["code"]: g for g in body}
    assert set(by_code) == {"acc_aha_2020", "esc_eacts_2025"}
    assert by_code["acc_aha_2020"]["default"] is True
    active = RuleSetVersion.objects.get(
        rule_set__code="acc_aha_2020", status="published"
    )
    assert by_code["acc_aha_2020"]["active_version"] == active.pk
    assert by_code["acc_aha_2020"]["versions"][0]["content_hash"] == active.content_hash


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patients/abc/",
        "/api/v1/nothing",
        "/api/v1/encounters/1,2/",
    ],
)
def test_unknown_api_paths_are_json_404(ehr, url):
    for method in ("get", "post", "put", "delete"):
        response = getattr(ehr, method)(url)
        assert response.status_code == 404
        assert errors_of(response) == [{"field": "", "message": NOT_FOUND}]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patients/99999999999999999999999/",
        "/api/v1/encounters/9223372036854775808/",
        "/api/v1/assessments/9223372036854775808/report.pdf",
    ],
)
def test_ids_beyond_any_integer_column_are_404(ehr, url):
    response = ehr.get(url)
    assert response.status_code == 404
    assert errors_of(response) == [{"field": "", "message": NOT_FOUND}]
