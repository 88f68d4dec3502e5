"""FHIR R4 in and out through the API: every LOINC synonym that docs/CODES.md lists is
read, units converted exactly, two methods both reported and never averaged, unknown
codes listed, a malformed Bundle answered with an OperationOutcome naming the entry and
element; the stored assessment as a Bundle, parsed by the R4 models and valid against
the official FHIR R4 JSON Schema."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from assessments.interop.fhir_in import bundle_map
from assessments.models import Assessment, AuditEvent
from guidelines.vocabulary import FIELDS_BY_PATH, Kind

from .conformance import assert_fhir_r4_valid
from .conftest import (
    LOINC,
    SNOMED,
    bundle,
    condition,
    full_bundle,
    observation,
    patient_resource,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "interop"
FHIR = "application/fhir+json"


@pytest.fixture
def api(api_client_user):
    client = APIClient()
    client.force_authenticate(api_client_user)
    return client


def post(api, path, body):
    return api.post(path, data=json.dumps(body), content_type=FHIR)


# --- every synonym of CODES.md, read from the document itself ----------------------------


def _codes_md_synonyms():
    """(field, LOINC code) for each numeric field row of CODES.md's mapping table:
    the preferred and the "also accept" columns (codes said not to map are skipped)."""
    pairs = []
    for line in (ROOT / "docs" / "CODES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        fields = re.findall(r"`([a-z_]+\.[a-z0-9_]+)`", cells[0])
        if len(fields) != 1 or fields[0] not in FIELDS_BY_PATH:
            continue
        spec = FIELDS_BY_PATH[fields[0]]
        if spec.kind not in (Kind.DECIMAL, Kind.INTEGER):
            continue
        if "/" in cells[0]:  # the height / weight / BSA row: tested one by one
            continue
        text = re.sub(
            r"[\d/-]+ are /BSA \(do not map[^)]*\)", "", f"{cells[1]} {cells[2]}"
        )
        text = re.sub(r'LN \d+-\d "[^"]*" \+', "", text)  # post-coordinated only
        text = re.sub(r"SCT \d+", "", text)
        for code in re.findall(r"\b\d{4,5}-\d\b", text):
            pairs.append((fields[0], code))
    return pairs


SYNONYMS = _codes_md_synonyms()
UNITS = {"cm²": "cm2", "mmHg": "mm[Hg]", "mL/m²": "mL/m2"}


def test_the_synonym_table_was_read():
    assert len(SYNONYMS) > 40
    assert ("echo.eroa_cm2", "77914-0") in SYNONYMS
    assert ("echo.lvesd_mm", "80013-6") not in SYNONYMS  # "/BSA (do not map to mm)"


@pytest.mark.parametrize(
    ("path", "code"), SYNONYMS, ids=[f"{p} {c}" for p, c in SYNONYMS]
)
def test_every_codes_md_synonym_is_read(path, code):
    spec = FIELDS_BY_PATH[path]
    value = (spec.minimum + spec.maximum) / 2
    unit = UNITS.get(spec.unit, spec.unit)
    mapping = bundle_map(
        bundle(patient_resource(), observation(code, float(value), unit)),
        on=__import__("datetime").date(2026, 1, 1),
    )
    section, name = path.split(".")
    assert mapping.data[section][name] == value
    assert not mapping.unknown


# --- units, methods, unknown codes --------------------------------------------------------


def _map(*resources):
    return bundle_map(
        bundle(patient_resource(), *resources),
        on=__import__("datetime").date(2026, 1, 1),
    )


@pytest.mark.parametrize(
    ("code", "value", "unit", "path", "expected"),
    [
        pytest.param(
            "80061-5",
            7.2,
            "mm",
            "echo.vena_contracta_cm",
            "0.72",
            id="vena contracta 7.2 mm = 0.72 cm",
        ),
        pytest.param(
            "29438-9", 3.6, "cm", "echo.lvesd_mm", "36", id="LVESD 3.6 cm = 36 mm"
        ),
        pytest.param(
            "80062-3",
            5.1,
            "m/s",
            "echo.mr_peak_velocity_cm_s",
            "510",
            id="MR Vmax 5.1 m/s = 510 cm/s",
        ),
        pytest.param(
            "80071-4", 45, "mm2", "echo.eroa_cm2", "0.45", id="EROA 45 mm² = 0.45 cm²"
        ),
        pytest.param(
            "8302-2",
            65,
            "[in_i]",
            "patient.height_cm",
            "165.1",
            id="height 65 in = 165.1 cm",
        ),
        pytest.param("82341-9", 35, "mm[Hg]", "echo.pasp_mmhg", "35", id="PASP mm[Hg]"),
    ],
)
def test_units_are_converted_exactly(code, value, unit, path, expected):
    mapping = _map(observation(code, value, unit))
    section, name = path.split(".")
    assert mapping.data[section][name] == Decimal(expected)


@pytest.mark.django_db
def test_an_unknown_or_non_ucum_unit_is_refused_naming_the_observation(api):
    response = post(
        api,
        "/api/v1/fhir/evaluate",
        bundle(patient_resource(), observation("82341-9", 35, "mmHg")),
    )
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert issue["expression"] == ["Bundle.entry[1].resource.valueQuantity.code"]
    assert "mm[Hg]" in issue["diagnostics"]


def test_two_methods_are_both_kept_and_never_averaged():
    mapping = _map(
        observation("80071-4", 0.45, "cm2"), observation("77914-0", 0.35, "cm2")
    )
    assert mapping.data["echo"]["eroa_cm2"] == Decimal("0.45")  # PISA, preferred
    assert [(m.code, m.value) for m in mapping.alternatives] == [
        ("77914-0", Decimal("0.35"))
    ]
    assert any("volumetric" in w and "not averaged" in w for w in mapping.warnings)
    assert Decimal("0.4") not in [mapping.data["echo"]["eroa_cm2"]]


def test_of_repeated_values_the_latest_is_used():
    mapping = _map(
        observation("18043-0", 55, "%", date="2024-01-01"),
        observation("18043-0", 48, "%", date="2025-06-01"),
    )
    assert mapping.data["echo"]["lvef_pct"] == 48


def test_unknown_codes_are_listed_never_guessed():
    mapping = _map(observation("12345-6", 3, "cm"), condition("44054006", "Diabetes"))
    assert mapping.data.get("echo") is None
    assert {c for item in mapping.unknown for c in item["codes"]} == {
        f"{LOINC}|12345-6",
        f"{SNOMED}|44054006",
    }


def test_height_and_weight_codes_are_read():
    mapping = _map(observation("8302-2", 165, "cm"), observation("29463-7", 68.5, "kg"))
    assert mapping.data["patient"]["height_cm"] == 165
    assert mapping.data["patient"]["weight_kg"] == Decimal("68.5")


def test_conditions_give_the_etiology_and_acute_presentation():
    mapping = _map(condition("409712001"), condition("373116009"))
    assert mapping.data["etiology"] == "degenerative_prolapse"
    assert mapping.data["presentation"] == "acute"


# --- the endpoints ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_malformed_bundle_names_the_entry_and_element(api):
    body = full_bundle()
    body["entry"][1]["resource"]["valueQuantity"]["value"] = "abc"
    response = post(api, "/api/v1/fhir/evaluate", body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith(FHIR)
    expressions = [i["expression"][0] for i in response.json()["issue"]]
    assert "Bundle.entry[1].resource.valueQuantity.value" in expressions


@pytest.mark.django_db
def test_an_out_of_range_value_names_the_entry_field_and_range(api):
    body = bundle(patient_resource(), observation("80071-4", 3, "cm2"))
    response = post(api, "/api/v1/fhir/evaluate", body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.valueQuantity"]
    assert "echo.eroa_cm2" in issue["diagnostics"]
    assert "between 0 and 2" in issue["diagnostics"]


@pytest.mark.django_db
def test_an_observation_of_another_patient_is_refused(api):
    body = bundle(
        patient_resource(), observation("80071-4", 0.4, "cm2", patient="Patient/p9")
    )
    response = post(api, "/api/v1/fhir/evaluate", body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.subject"
    ]


@pytest.mark.django_db
def test_evaluate_returns_a_valid_r4_bundle_and_stores_nothing(api):
    response = post(api, "/api/v1/fhir/evaluate", full_bundle())
    assert response.status_code == 200
    body = response.json()
    Bundle.model_validate(body)
    assert_fhir_r4_valid(body)
    assert not Assessment.objects.exists()
    assert AuditEvent.objects.filter(
        action="evaluate", detail__contains="FHIR"
    ).exists()


@pytest.mark.django_db
def test_anonymous_fhir_calls_get_an_operation_outcome_401():
    response = APIClient().post("/api/v1/fhir/evaluate", data="{}", content_type=FHIR)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def _resources(body, kind):
    return [
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == kind
    ]


@pytest.mark.django_db
def test_a_bundle_is_stored_and_read_back_as_fhir(api, encounter, other_clinician):
    body = full_bundle()
    response = post(api, f"/api/v1/encounters/{encounter.pk}/assessments/fhir", body)
    assert response.status_code == 201, response.json()
    assessment = Assessment.objects.get()
    assert assessment.echo_eroa_cm2 == Decimal("0.45")
    assert assessment.echo_lvesd_mm == Decimal("36")  # sent as 3.6 cm
    assert assessment.etiology == "degenerative_prolapse"
    out = api.get(f"/api/v1/assessments/{assessment.pk}/fhir")
    assert out.status_code == 200
    bundle_out = out.json()
    Bundle.model_validate(bundle_out)
    assert_fhir_r4_valid(bundle_out)
    # DICOM CID 3716: severe = SNOMED 24484000; the Condition is SNOMED 48724000.
    grade = _resources(bundle_out, "Observation")[0]
    assert grade["valueCodeableConcept"]["coding"][0] == {
        "system": SNOMED,
        "code": "24484000",
        "display": "Severe",
    }
    condition_out = _resources(bundle_out, "Condition")[0]
    assert condition_out["code"]["coding"][0]["code"] == "48724000"
    assert condition_out["severity"]["coding"][0]["code"] == "24484000"
    result = assessment.result
    assert len(_resources(bundle_out, "DetectedIssue")) == len(result["missing"])
    guidance = _resources(bundle_out, "GuidanceResponse")[0]
    assert guidance["requestIdentifier"]["value"].startswith("urn:uuid:")
    assert guidance["moduleUri"].endswith(
        f"/rule-sets/{result['guideline']['code']}|{result['guideline']['version']}"
    )
    provenance = _resources(bundle_out, "Provenance")[0]
    assert (
        result["guideline"]["content_hash"]
        in provenance["entity"][0]["what"]["display"]
    )
    assert AuditEvent.objects.filter(
        action="create", object_id=str(assessment.pk)
    ).exists()
    assert AuditEvent.objects.filter(
        action="export", detail="as a FHIR Bundle", patient=encounter.patient
    ).exists()
    # The same assessment always gives the same Bundle.
    assert api.get(f"/api/v1/assessments/{assessment.pk}/fhir").json() == bundle_out
    api.force_authenticate(other_clinician)
    assert api.get(f"/api/v1/assessments/{assessment.pk}/fhir").status_code == 404


@pytest.mark.django_db
def test_a_bundle_contradicting_the_record_is_refused(api, encounter):
    body = bundle(
        patient_resource(birth="1960-01-01"), observation("80071-4", 0.4, "cm2")
    )
    response = post(api, f"/api/v1/encounters/{encounter.pk}/assessments/fhir", body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[0].resource.birthDate"
    ]
    assert not Assessment.objects.exists()


@pytest.mark.django_db
def test_surveillance_becomes_a_draft_echo_service_request(api):
    # Moderate primary MR, asymptomatic, normal LV: ACC/AHA 2020 (table of echo
    # frequency in asymptomatic VHD) TTE every 1 to 2 years.
    body = bundle(
        patient_resource(),
        observation("80071-4", 0.3, "cm2"),
        observation("80064-9", 45, "mL"),
        observation("80061-5", 0.5, "cm"),
        observation("18043-0", 65, "%"),
        observation("29438-9", 35, "mm"),
        observation(
            "symptoms.nyha_class",
            1,
            "1",
            system="https://mr-cds.org/fhir/CodeSystem/input-field",
        ),
        condition("409712001"),
    )
    out = post(api, "/api/v1/fhir/evaluate", body).json()
    assert_fhir_r4_valid(out)
    (request,) = _resources(out, "ServiceRequest")
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert request["code"]["coding"][0]["code"] == "433236007"  # TTE
    assert request["patientInstruction"] == "Echocardiography every 1 to 2 years"
    grade = _resources(out, "Observation")[0]["valueCodeableConcept"]["coding"][0]
    # RVol 45 mL is in ASE 2017's moderate-to-severe band (45-59 mL): CID 3716
    # "Moderate to severe", SNOMED 371924009.
    assert grade["code"] == "371924009"


@pytest.mark.django_db
def test_an_ungradable_study_asks_for_tee_as_a_draft_referral(api):
    body = bundle(
        patient_resource(),
        observation("80071-4", 0.1, "cm2"),
        observation("80061-5", 0.2, "cm"),
        condition("409712001"),
    )
    out = post(api, "/api/v1/fhir/evaluate", body).json()
    assert_fhir_r4_valid(out)
    (request,) = _resources(out, "ServiceRequest")
    assert request["code"]["coding"][0]["code"] == "105376000"  # TEE
    assert _resources(out, "GuidanceResponse")[0]["status"] == "data-required"
    assert not _resources(out, "Condition")  # no grade, no diagnosis asserted


@pytest.mark.skipif(
    not SHARED.exists(), reason="../shared/interop not beside this clone"
)
def test_documentation_copy_of_codes_is_in_step():
    assert (ROOT / "docs" / "CODES.md").read_text() == (SHARED / "CODES.md").read_text()


def test_qualitative_signs_are_read_from_the_mr_cds_input_field_codesystem():
    system = "https://mr-cds.org/fhir/CodeSystem/input-field"
    jet = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": "echo.jet_type"}]},
        "valueCodeableConcept": {
            "coding": [{"system": system, "code": "eccentric_wall_impinging"}]
        },
    }
    flail = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": "echo.flail_leaflet"}]},
        "valueBoolean": True,
    }
    mapping = _map(jet, flail)
    assert mapping.data["echo"] == {
        "jet_type": "eccentric_wall_impinging",
        "flail_leaflet": True,
    }


@pytest.mark.django_db
def test_a_qualitative_sign_outside_the_contract_is_refused_with_the_allowed_values(
    api,
):
    system = "https://mr-cds.org/fhir/CodeSystem/input-field"
    jet = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": "echo.jet_type"}]},
        "valueCodeableConcept": {"coding": [{"system": system, "code": "swirly"}]},
    }
    response = post(api, "/api/v1/fhir/evaluate", bundle(patient_resource(), jet))
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.valueCodeableConcept"]
    assert '"eccentric_wall_impinging"' in issue["diagnostics"]
