"""The two conversions between a stored assessment and the contract's input JSON.

``assessment_to_input`` turns a stored record into CONTRACT section 1 input (numbers as
JSON numbers, absent values left out). ``assessment_from_input`` turns input into an
unsaved record for an encounter, taking the patient's age (at the encounter date), sex,
height and weight from the patient record and refusing input that contradicts it.
The API, the pages and the rules engine all go through these two functions.
"""

from decimal import Decimal
from typing import Any

from guidelines.services import FieldError, InputError, input_parse
from guidelines.vocabulary import INPUT_FIELDS, PRIOR_ECHO_FIELDS, Kind, sections

from .models import Assessment, Encounter, PriorEcho

NYHA_NUMERALS = {1: "I", 2: "II", 3: "III", 4: "IV"}
PATH_BY_COLUMN = {spec.column: spec.path for spec in INPUT_FIELDS}
PRIOR_ECHO_NAMES = tuple(spec.path for spec in PRIOR_ECHO_FIELDS)


def json_number(value: Any) -> Any:
    """Decimal -> int when whole, else float (exact for our 9 digits, 3 places)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def assessment_to_input(assessment: Assessment, *, studies=None) -> dict[str, Any]:
    """The stored record as contract input JSON (absent values omitted).

    ``studies`` are the prior echos when the record is not saved yet (default: its
    stored ones).
    """
    data: dict[str, Any] = {}
    for spec in INPUT_FIELDS:
        value = getattr(assessment, spec.column)
        if value is None or value == "":
            continue
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = json_number(value)
        else:
            data[spec.path] = json_number(value)
    studies = [
        {
            name: json_number(getattr(study, name))
            for name in PRIOR_ECHO_NAMES
            if getattr(study, name) is not None
        }
        for study in (assessment.prior_echos.all() if studies is None else studies)
    ]
    if studies:
        data["prior_echos"] = studies
    return data


def prior_echos_loaded(assessment: Assessment, studies: list[PriorEcho]) -> None:
    """Mark ``studies`` as the assessment's loaded prior echos, exactly as
    ``prefetch_related("prior_echos")`` would, so that reading a record just saved
    (``assessment_to_input``) costs no query. They are put in the model's order (most
    distant first; saved one by one, so ties keep their order), as a read would."""
    loaded = assessment.prior_echos.all()
    loaded._result_cache = sorted(studies, key=lambda study: -study.months_ago)
    loaded._prefetch_done = True
    assessment._prefetched_objects_cache = {"prior_echos": loaded}


def patient_section_for_encounter(
    encounter: Encounter, given: dict[str, Any]
) -> dict[str, Any]:
    """Merge the input's ``patient`` section with the patient record at the encounter.

    Absent values come from the record; a given value that contradicts the record is
    refused with an error naming the field.
    """
    patient = encounter.patient
    on = encounter.occurred_on
    record = {
        "age_years": patient.age_on(on),
        "sex": patient.sex,
        **patient.body_values(),
    }
    errors = []
    for name, recorded in record.items():
        if name in given and given[name] != recorded:
            unit = {"age_years": " years", "height_cm": " cm", "weight_kg": " kg"}
            what = f"{json_number(recorded)}{unit.get(name, '')}"
            if name == "age_years":
                what += f" at the encounter date {on.isoformat()}"
            errors.append(
                FieldError(
                    f"patient.{name}",
                    f"contradicts the patient record ({what}); "
                    "leave it out to use the record",
                )
            )
    if errors:
        raise InputError(errors)
    return {**given, **record}


def assessment_from_input(
    *, encounter: Encounter, data: dict[str, Any]
) -> tuple[Assessment, list[PriorEcho]]:
    """An unsaved assessment (and its prior echos) for ``encounter`` from contract input.

    Raises ``InputError`` naming every refused field. Nothing is saved here.
    """
    canonical = input_parse(data, require_patient=False)
    canonical["patient"] = patient_section_for_encounter(
        encounter, canonical.get("patient", {})
    )
    canonical.setdefault("presentation", encounter.presentation)
    assessment = Assessment(encounter=encounter)
    for spec in INPUT_FIELDS:
        source = canonical.get(spec.section, {}) if spec.section else canonical
        value = source.get(spec.name if spec.section else spec.path)
        if value is None and spec.kind is Kind.CHOICE:
            value = ""
        setattr(assessment, spec.column, value)
    studies = [PriorEcho(**study) for study in canonical.get("prior_echos", [])]
    return assessment, studies


def input_display_groups(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Contract input in clinical order, each recorded value with its label and unit
    (choices by their label, yes/no spelt out), for the pages and the PDF."""
    groups = []
    for section in sections():
        values = data.get(section.key, {}) if section.key else data
        rows = []
        for spec in section.fields:
            value = values.get(spec.name if section.key else spec.path)
            if value is None:
                continue
            if spec.kind is Kind.BOOLEAN:
                value = "Yes" if value else "No"
            elif spec.path == "symptoms.nyha_class":
                value = NYHA_NUMERALS.get(value, value)
            elif spec.kind is Kind.CHOICE:
                value = dict(spec.choices).get(value, value)
            rows.append(
                {
                    "path": spec.path,
                    "label": spec.label,
                    "value": value,
                    "unit": spec.unit,
                }
            )
        if rows:
            groups.append({"title": section.title, "rows": rows})
    return groups
