"""Amend and void (CONTRACT section 6) through the URL conf: a stored assessment is
never edited; a correction is a new assessment that supersedes it; both are audited,
both kept; only a final assessment can change; other care sites get 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.choices import AuditAction, AuditChannel
from assessments.models import Assessment, AuditEvent
from assessments.services import REASON_REQUIRED, assessment_create


@pytest.fixture
def stored(encounter, clinician, assessment_input):
    return assessment_create(
        encounter=encounter, data=assessment_input, author=clinician
    )


def amend_url(pk):
    return f"/api/v1/assessments/{pk}/amend"


def void_url(pk):
    return f"/api/v1/assessments/{pk}/void"


def corrected(assessment_input):
    data = {**assessment_input, "echo": {**assessment_input["echo"], "eroa_cm2": 0.25}}
    return data


def test_amend_stores_a_new_assessment_that_supersedes_the_old(
    ehr, stored, assessment_input, api_client_user
):
    before_result = stored.result
    response = ehr.post(
        amend_url(stored.pk),
        {"reason": "EROA mistyped: 0.25 cm²", "input": corrected(assessment_input)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] != stored.pk
    assert body["status"] == "final"
    assert body["supersedes"] == stored.pk
    assert body["superseded_by"] is None
    assert body["reason"] == "EROA mistyped: 0.25 cm²"
    assert body["input"]["echo"]["eroa_cm2"] == 0.25
    assert body["encounter"] == stored.encounter_id

    old = Assessment.objects.get(pk=stored.pk)
    assert old.status == "amended"
    assert old.reason == "EROA mistyped: 0.25 cm²"
    assert old.result == before_result  # the stored result is never edited
    assert old.echo_eroa_cm2 == stored.echo_eroa_cm2
    assert old.status_changed_by == api_client_user
    shown = ehr.get(f"/api/v1/assessments/{stored.pk}/").json()
    assert (shown["status"], shown["superseded_by"]) == ("amended", body["id"])
    assert shown["result"] == before_result

    events = AuditEvent.objects.filter(channel=AuditChannel.API).order_by("id")
    created = events.get(action=AuditAction.CREATE, object_id=str(body["id"]))
    updated = events.get(action=AuditAction.UPDATE, object_id=str(stored.pk))
    assert f"amends assessment #{stored.pk}" in created.detail
    assert f"amended by assessment #{body['id']}" in updated.detail
    assert created.user == updated.user == api_client_user
    assert created.patient == updated.patient == stored.encounter.patient


def test_void_marks_the_assessment_entered_in_error_and_keeps_it(ehr, stored):
    response = ehr.post(void_url(stored.pk), {"reason": "Wrong patient"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["reason"]) == (
        stored.pk,
        "entered_in_error",
        "Wrong patient",
    )
    assert body["result"] == stored.result
    old = Assessment.objects.get(pk=stored.pk)
    assert old.status == "entered_in_error"
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(stored.pk))
    assert event.detail == "entered in error: Wrong patient"
    assert event.channel == AuditChannel.API


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 3}])
def test_void_needs_a_reason(ehr, stored, body):
    response = ehr.post(void_url(stored.pk), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "reason", "message": REASON_REQUIRED}
    ]
    assert Assessment.objects.get(pk=stored.pk).status == "final"


def test_a_reason_over_500_characters_is_refused(ehr, stored):
    response = ehr.post(void_url(stored.pk), {"reason": "x" * 501}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"
    assert "500" in response.json()["errors"][0]["message"]


def test_amend_refuses_bad_input_by_its_field_and_changes_nothing(
    ehr, stored, assessment_input
):
    bad = {**assessment_input, "echo": {**assessment_input["echo"], "lvef_pct": 95}}
    response = ehr.post(
        amend_url(stored.pk), {"reason": "typo", "input": bad}, format="json"
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "input.echo.lvef_pct"
    assert "between 5 and 90 %" in error["message"]
    assert Assessment.objects.count() == 1
    assert Assessment.objects.get(pk=stored.pk).status == "final"
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "typo"}, "input"),
        ({"reason": "typo", "input": [1]}, "input"),
        ({"reason": "typo", "input": {}, "note": "x"}, "note"),
        ({"input": {}}, "reason"),
    ],
)
def test_amend_refuses_a_malformed_body(ehr, stored, body, field):
    response = ehr.post(amend_url(stored.pk), body, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Assessment.objects.count() == 1


def test_only_a_final_assessment_can_be_amended_or_voided(
    ehr, stored, assessment_input
):
    first = ehr.post(
        amend_url(stored.pk),
        {"reason": "fix", "input": assessment_input},
        format="json",
    )
    assert first.status_code == 201
    again = ehr.post(
        amend_url(stored.pk),
        {"reason": "fix", "input": assessment_input},
        format="json",
    )
    assert again.status_code == 409
    assert "only a final assessment" in again.json()["errors"][0]["message"]
    assert (
        ehr.post(void_url(stored.pk), {"reason": "x"}, format="json").status_code == 409
    )
    new_pk = first.json()["id"]
    assert ehr.post(void_url(new_pk), {"reason": "x"}, format="json").status_code == 200
    assert (
        ehr.post(
            amend_url(new_pk), {"reason": "y", "input": assessment_input}, format="json"
        ).status_code
        == 409
    )
    assert Assessment.objects.count() == 2


def test_another_care_site_gets_404_and_nothing_changes(
    as_other, stored, assessment_input
):
    amend = as_other.post(
        amend_url(stored.pk), {"reason": "x", "input": assessment_input}, format="json"
    )
    void = as_other.post(void_url(stored.pk), {"reason": "x"}, format="json")
    assert (amend.status_code, void.status_code) == (404, 404)
    assert Assessment.objects.get(pk=stored.pk).status == "final"
    assert Assessment.objects.count() == 1


def test_amend_and_void_need_credentials(anon, stored, assessment_input):
    assert (
        anon.post(void_url(stored.pk), {"reason": "x"}, format="json").status_code
        == 401
    )
    assert (
        anon.post(
            amend_url(stored.pk),
            {"reason": "x", "input": assessment_input},
            format="json",
        ).status_code
        == 401
    )


def test_a_session_user_of_the_care_site_may_void(as_clinician, stored, clinician):
    response = as_clinician.post(void_url(stored.pk), {"reason": "dup"}, format="json")
    assert response.status_code == 200
    assert Assessment.objects.get(pk=stored.pk).status_changed_by == clinician


def test_the_schema_documents_amend_and_void(ehr):
    schema = ehr.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/assessments/{id}/amend"]
    assert "post" in paths["/api/v1/assessments/{id}/void"]
    assessment = schema["components"]["schemas"]["AssessmentOutput"]["properties"]
    assert {"status", "supersedes", "superseded_by", "reason"} <= set(assessment)


def test_the_docs_speak_to_integrators_not_to_maintainers(ehr):
    schema = ehr.get("/api/schema/?format=json").json()
    descriptions = [
        op.get("description", "")
        for ops in schema["paths"].values()
        for op in ops.values()
    ]
    assert not any("LoginRequiredMiddleware" in d for d in descriptions)
    assert not any("``" in d for d in descriptions)  # no reStructuredText of the code
    enums = schema["components"]["schemas"]
    assert (
        "`secondary_ventricular` - Secondary (ventricular) MR"
        in enums["MrTypeEnum"]["description"]
    )
    assert (
        "`C2` - Stage C2 (asymptomatic severe MR with LV dysfunction)"
        in enums["StageEnum"]["description"]
    )


def test_reading_a_corrected_assessment_costs_no_more_queries_than_a_final_one(
    ehr, stored, assessment_input
):
    """The correction is known by its id: the read loads none of its columns, and
    none is loaded afterwards either (no query per deferred field)."""
    with CaptureQueriesContext(connection) as final:
        assert (
            ehr.get(f"/api/v1/assessments/{stored.pk}/").json()["superseded_by"] is None
        )
    new = ehr.post(
        amend_url(stored.pk),
        {"reason": "EROA mistyped: 0.25 cm²", "input": corrected(assessment_input)},
        format="json",
    ).json()
    with CaptureQueriesContext(connection) as amended:
        body = ehr.get(f"/api/v1/assessments/{stored.pk}/").json()
    assert (body["status"], body["superseded_by"]) == ("amended", new["id"])
    with CaptureQueriesContext(connection) as correcting:
        body = ehr.get(f"/api/v1/assessments/{new['id']}/").json()
    assert (body["supersedes"], body["superseded_by"]) == (stored.pk, None)
    assert len(final) == len(amended) == len(correcting)
    read = next(
        q["sql"] for q in correcting if 'FROM "assessments_assessment"' in q["sql"]
    )
    assert read.count('."echo_lvef_pct"') == 1  # its own column, not its neighbours'
