"""The OpenAPI schema says what the server enforces: strict input objects refuse
unknown fields (additionalProperties: false), decimals have at most 3 places
(multipleOf 0.001), the Idempotency-Key has its length and character rule; and the
server does enforce each of them."""

import re

import pytest
import yaml

from assessments.api.idempotency import KEY_PATTERN


@pytest.fixture
def schema(ehr):
    response = ehr.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


STRICT = [
    "AssessmentInputRequest",
    "EncounterAssessmentInputRequest",
    "EchoInputSectionRequest",
    "PatientInputSectionRequest",
    "PatientFromRecordInputSectionRequest",
    "PriorEchoInputRequest",
    "ManagementInputSectionRequest",
    "PatientInputRequest",
    "PatchedPatientInputRequest",
    "EncounterInputRequest",
    "ReportRequestRequest",
]


@pytest.mark.parametrize("name", STRICT)
def test_strict_input_objects_say_additional_properties_false(schema, name):
    assert schema["components"]["schemas"][name]["additionalProperties"] is False


def test_every_section_of_the_input_is_strict(schema):
    components = schema["components"]["schemas"]
    sections = [n for n in components if n.endswith("InputSectionRequest")]
    assert len(sections) >= 10
    assert all(components[n].get("additionalProperties") is False for n in sections)


def test_responses_stay_open(schema):
    assert "additionalProperties" not in schema["components"]["schemas"]["Result"]


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("EchoInputSectionRequest", "eroa_cm2"),
        ("EchoInputSectionRequest", "lvef_pct"),
        ("PatientInputSectionRequest", "height_cm"),
        ("PatientInputRequest", "weight_kg"),
        ("PriorEchoInputRequest", "lvesd_mm"),
    ],
)
def test_decimals_declare_three_places(schema, component, field):
    prop = schema["components"]["schemas"][component]["properties"][field]
    assert prop["multipleOf"] == 0.001


def test_integers_need_no_multiple_of(schema):
    prop = schema["components"]["schemas"]["PatientInputSectionRequest"]["properties"]
    assert prop["age_years"]["type"] == "integer"
    assert "multipleOf" not in prop["age_years"]


def test_the_idempotency_key_has_its_length_and_pattern(schema):
    for path in ("/api/v1/patients/", "/api/v1/encounters/{id}/assessments/"):
        (param,) = [
            p
            for p in schema["paths"][path]["post"]["parameters"]
            if p["name"] == "Idempotency-Key"
        ]
        assert param["schema"] == {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": KEY_PATTERN,
        }
    assert re.search(KEY_PATTERN, "0b7e1c7a-3f2d-4c1e-9a55-1d2f3e4a5b6c")
    assert not re.search(KEY_PATTERN, "   ")


def test_recommendation_class_and_level_may_be_null(schema):
    rec = schema["components"]["schemas"]["Recommendation"]["properties"]
    assert rec["class"]["nullable"] is True
    assert rec["level"]["nullable"] is True


# What the schema says, the server does:


def test_the_server_refuses_an_unknown_field_in_every_strict_object(ehr, patient):
    cases = [
        (
            "/api/v1/evaluate",
            {"patient": {"age_years": 60, "sex": "male", "x": 1}},
            "patient.x",
        ),
        (
            "/api/v1/evaluate",
            {
                "patient": {"age_years": 60, "sex": "male"},
                "prior_echos": [{"months_ago": 3, "x": 1}],
            },
            "prior_echos[0].x",
        ),
        (f"/api/v1/patients/{patient.pk}/encounters/", {"x": 1}, "x"),
    ]
    for path, body, field in cases:
        response = ehr.post(path, body, format="json")
        assert response.status_code == 400, path
        assert field in [e["field"] for e in response.json()["errors"]]


def test_the_server_refuses_a_fourth_decimal_place(ehr):
    response = ehr.post(
        "/api/v1/evaluate",
        {"patient": {"age_years": 60, "sex": "male"}, "echo": {"eroa_cm2": 0.4001}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "echo.eroa_cm2"
