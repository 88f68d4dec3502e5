"""Stored record <-> contract input JSON, for every field of the vocabulary."""

import json
from decimal import Decimal

import pytest
from django.db import IntegrityError

from assessments.inputs import (
    assessment_from_input,
    assessment_input,
    assessment_to_input,
    input_json,
)
from assessments.models import Assessment, PriorEcho
from assessments.services import assessment_create
from guidelines.validation import InputError, input_parse
from guidelines.vocabulary import INPUT_FIELDS, Kind

# The patient fields come from the record (see the `patient` fixture: born 1958-06-15,
# female, 165 cm, 68.5 kg; the encounter is on 2025-03-10).
RECORD_PATIENT = {"age_years": 66, "sex": "female", "height_cm": 165, "weight_kg": 68.5}
FROM_RECORD = {f"patient.{name}" for name in RECORD_PATIENT}


def sample_values(spec):
    """Boundary and inner values of one field (record-bound patient fields: the record)."""
    if spec.path in FROM_RECORD:
        return [RECORD_PATIENT[spec.name]]
    if spec.kind is Kind.BOOLEAN:
        return [True, False]
    if spec.kind is Kind.CHOICE:
        return list(spec.choice_values)
    if spec.kind is Kind.INTEGER:
        return [
            int(spec.minimum),
            int((spec.minimum + spec.maximum) // 2),
            int(spec.maximum),
        ]
    inner = (spec.minimum + spec.maximum) / 2 + Decimal("0.125")
    return [
        float(spec.minimum),
        float(inner.quantize(Decimal("0.001"))),
        float(spec.maximum),
    ]


def as_input(path, value):
    if "." in path:
        section, name = path.split(".")
        return {section: {name: value}}
    return {path: value}


def full_input():
    data: dict = {}
    for spec in INPUT_FIELDS:
        values = sample_values(spec)
        value = values[len(values) // 2]
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = value
        else:
            data[spec.path] = value
    data["echo"]["lvesd_mm"], data["echo"]["lvedd_mm"] = 41.5, 58
    data["prior_echos"] = [
        {"months_ago": 24, "lvef_pct": 64, "lvesd_mm": 36.5},
        {"months_ago": 12, "lvef_pct": 61.2},
        {"months_ago": 0},
    ]
    return data


def stored(encounter, author, data):
    created = assessment_create(encounter=encounter, data=data, author=author)
    return Assessment.objects.get(pk=created.pk)  # re-read from the database


CASES = [
    pytest.param(spec, value, id=f"{spec.path}={value}")
    for spec in INPUT_FIELDS
    for value in sample_values(spec)
]


@pytest.mark.parametrize(("spec", "value"), CASES)
def test_every_field_round_trips_through_the_database(
    encounter, clinician, spec, value
):
    record = stored(encounter, clinician, as_input(spec.path, value))

    output = assessment_to_input(record)

    section = output.get(spec.section, {}) if spec.section else output
    assert section[spec.name if spec.section else spec.path] == value
    assert type(section[spec.name if spec.section else spec.path]) in (
        int,
        float,
        bool,
        str,
    )


def test_the_full_input_round_trips_exactly(encounter, clinician):
    data = full_input()
    assert {s.path for s in INPUT_FIELDS} == {
        f"{k}.{n}" if isinstance(v, dict) else k
        for k, v in data.items()
        if k != "prior_echos"
        for n in (v if isinstance(v, dict) else [None])
    }
    record = stored(encounter, clinician, data)

    output = assessment_to_input(record)

    assert json.loads(json.dumps(output)) == output  # plain JSON, numbers as numbers
    assert input_parse(output) == input_parse(data)
    assert output["prior_echos"] == data["prior_echos"]  # oldest first


def test_absent_values_are_left_out_not_guessed(encounter, clinician):
    record = stored(encounter, clinician, {"echo": {"eroa_cm2": 0.45}})

    assert assessment_to_input(record) == {
        "presentation": "chronic",  # from the encounter
        "patient": RECORD_PATIENT,  # from the patient record
        "echo": {"eroa_cm2": 0.45},
    }


def test_age_derives_from_the_birth_date_at_the_encounter_date(encounter, clinician):
    encounter.occurred_at = encounter.occurred_at.replace(year=2024, month=6, day=15)
    encounter.save(update_fields=["occurred_at"])

    record = stored(encounter, clinician, {})

    assert record.patient_age_years == 66  # the birthday itself counts


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_years", 70),
        ("sex", "male"),
        ("height_cm", 180),
        ("weight_kg", 68.4),
    ],
)
def test_input_contradicting_the_patient_record_is_refused(encounter, field, value):
    with pytest.raises(InputError) as caught:
        assessment_input(encounter=encounter, data={"patient": {field: value}})

    (error,) = caught.value.errors
    assert error.field == f"patient.{field}"
    assert "contradicts the patient record" in error.message


def test_patient_values_matching_the_record_are_accepted(encounter):
    record, _ = assessment_from_input(
        assessment_input(
            encounter=encounter,
            data={"patient": {**RECORD_PATIENT, "height_cm": "165.0"}},
        )
    )
    assert record.patient_height_cm == Decimal("165")


def test_input_values_fill_what_the_record_lacks(encounter, clinician, patient):
    patient.height_cm = None
    patient.save(update_fields=["height_cm"])

    record = stored(encounter, clinician, {"patient": {"height_cm": 171.5}})

    assert record.patient_height_cm == Decimal("171.5")


def test_invalid_part_saves_nothing(encounter, clinician):
    data = {
        "echo": {"eroa_cm2": 0.5},
        "prior_echos": [{"months_ago": 6}, {"lvef_pct": 50}],
    }

    with pytest.raises(InputError) as caught:
        assessment_create(encounter=encounter, data=data, author=clinician)

    assert [e.field for e in caught.value.errors] == ["prior_echos[1].months_ago"]
    assert Assessment.objects.count() == 0
    assert PriorEcho.objects.count() == 0


def test_a_database_failure_on_a_part_rolls_back_the_whole_record(
    encounter, clinician, monkeypatch
):
    def fail(self, *args, **kwargs):
        raise IntegrityError("simulated failure writing a prior echo")

    monkeypatch.setattr(PriorEcho, "save", fail)

    with pytest.raises(IntegrityError):
        assessment_create(
            encounter=encounter,
            data={"echo": {"eroa_cm2": 0.5}, "prior_echos": [{"months_ago": 6}]},
            author=clinician,
        )

    assert Assessment.objects.count() == 0


def test_errors_name_the_contract_path(encounter, clinician):
    with pytest.raises(InputError) as caught:
        assessment_create(
            encounter=encounter,
            data={"echo": {"eroa_cm2": 3}, "labs": {"bnp_pg_ml": -1}},
            author=clinician,
        )
    assert {e.field for e in caught.value.errors} == {"echo.eroa_cm2", "labs.bnp_pg_ml"}


def test_input_in_hand_reads_as_the_stored_record(encounter, clinician):
    """The API answers a creation from the canonical input in hand: it must be exactly
    what reading the stored record back gives (prior echos in the stored order)."""
    raw = {
        "etiology": "flail_leaflet",
        "symptoms": {"nyha_class": 2, "dyspnea": True},
        "echo": {"eroa_cm2": "0.450", "lvef_pct": 57, "flail_leaflet": True},
        "prior_echos": [
            {"months_ago": 6, "lvef_pct": 60},
            {"months_ago": 18, "lvef_pct": 63, "lvesd_mm": 37},
            {"months_ago": 6, "lvesd_mm": 40},
        ],
    }
    canonical = assessment_input(encounter=encounter, data=raw)
    stored = Assessment.objects.get(
        pk=assessment_create(data=canonical, author=clinician).pk
    )
    assert input_json(canonical.data) == assessment_to_input(stored)
    assert [s["months_ago"] for s in input_json(canonical.data)["prior_echos"]] == [
        18,
        6,
        6,
    ]
