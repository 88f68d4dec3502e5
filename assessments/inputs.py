"""Assessment input: parsed once at the edge, then stored and shown.

``assessment_input`` is the one function that turns raw contract input (CONTRACT
section 1) plus its encounter into canonical input: validation (``input_parse``), the
patient's age at the encounter date, sex, height and weight from the record (a given
value that contradicts it is refused), the encounter's presentation by default. The
API, the form, the admin and the commands call it; services and the engine take what it
returns and never parse again.

``assessment_from_input`` turns canonical input into an unsaved record;
``input_json`` turns canonical input into contract JSON (numbers as JSON numbers,
absent values left out), exactly as ``assessment_to_input`` reads a stored record back.
``stored_canonical_input`` reads a stored record's columns back as canonical input
(replay over many stored assessments), without the round trip through JSON.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class AssessmentInput:
    """Canonical input of one assessment of ``encounter`` (``assessment_input``'s
    output): values as ``input_parse`` gives them, the patient section complete."""

    encounter: Encounter
    data: dict[str, Any]


def _contract_json(values, studies) -> dict[str, Any]:
    """Contract input JSON from a getter of each field's value and the prior echos (as
    getters too), in the declaration order, absent values left out."""
    data: dict[str, Any] = {}
    for spec in INPUT_FIELDS:
        value = values(spec)
        if value is None or value == "":
            continue
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = json_number(value)
        else:
            data[spec.path] = json_number(value)
    studies = [
        {
            name: json_number(study(name))
            for name in PRIOR_ECHO_NAMES
            if study(name) is not None
        }
        for study in studies
    ]
    if studies:
        data["prior_echos"] = studies
    return data


def assessment_to_input(assessment: Assessment, *, studies=None) -> dict[str, Any]:
    """The stored record as contract input JSON (absent values omitted). ``studies``
    are its prior echos when they are read apart (replay reads plain rows: anything
    with the columns as attributes will do); by default the record's own."""
    if studies is None:
        studies = assessment.prior_echos.all()
    return _contract_json(
        lambda spec: getattr(assessment, spec.column),
        [lambda name, study=study: getattr(study, name) for study in studies],
    )


# Per column of ``INPUT_FIELDS`` (their order): its section ("" at the top level), its
# key there, and whether it holds a decimal number.
STORED_FIELDS = tuple(
    (spec.section, spec.name if spec.section else spec.path, spec.kind is Kind.DECIMAL)
    for spec in INPUT_FIELDS
)
STORED_PRIOR_ECHO_FIELDS = tuple(
    (spec.path, spec.kind is Kind.DECIMAL) for spec in PRIOR_ECHO_FIELDS
)


def parsed_decimal(value: Decimal) -> Decimal:
    """A stored number as the parse gives it back from contract JSON (``json_number``,
    then ``input_parse``): without trailing zeros, "0.450" as 0.45 and "50.000" as 50."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize()  # not whole: the exponent stays negative, never "5E+1"


def stored_canonical_input(
    values: Sequence[Any], studies: Iterable[Sequence[Any]] = ()
) -> dict[str, Any]:
    """Canonical input of a stored assessment from its column values (in
    ``INPUT_FIELDS`` order) and its prior echos' (each in ``PRIOR_ECHO_NAMES`` order,
    most distant first): exactly ``input_parse(assessment_to_input(record))``.

    It is not parsed again: the record was parsed when it was stored
    (``assessment_input``), and the database's check constraints hold what the parse
    checks (ranges, choices, decimal places, LVESD below LVEDD, age and sex given)."""
    data: dict[str, Any] = {}
    for (section, key, is_decimal), value in zip(STORED_FIELDS, values, strict=True):
        if value is None or value == "":
            continue
        if is_decimal:
            value = parsed_decimal(value)
        if section:
            section_values = data.get(section)
            if section_values is None:
                section_values = data[section] = {}
            section_values[key] = value
        else:
            data[key] = value
    prior_echos = [
        {
            name: parsed_decimal(value) if is_decimal else value
            for (name, is_decimal), value in zip(
                STORED_PRIOR_ECHO_FIELDS, study, strict=True
            )
            if value is not None
        }
        for study in studies
    ]
    if prior_echos:
        data["prior_echos"] = prior_echos
    return data


def input_json(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical input as contract JSON: what ``assessment_to_input`` reads back once it
    is stored (prior echos in the stored order, most distant first)."""

    def value(spec):
        values = data.get(spec.section, {}) if spec.section else data
        return values.get(spec.name if spec.section else spec.path)

    studies = sorted(data.get("prior_echos", []), key=lambda s: -s["months_ago"])
    return _contract_json(value, [lambda name, s=s: s.get(name) for s in studies])


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


def assessment_input(*, encounter: Encounter, data: Any) -> AssessmentInput:
    """Raw contract input for ``encounter`` as canonical input: the one parse.

    Raises ``InputError`` naming every refused field (a contradiction of the patient
    record included).
    """
    canonical = input_parse(data, require_patient=False)
    canonical["patient"] = patient_section_for_encounter(
        encounter, canonical.get("patient", {})
    )
    canonical.setdefault("presentation", encounter.presentation)
    return AssessmentInput(encounter, canonical)


def assessment_from_input(
    assessment_input: AssessmentInput,
) -> tuple[Assessment, list[PriorEcho]]:
    """An unsaved assessment (and its prior echos) from canonical input."""
    canonical = assessment_input.data
    assessment = Assessment(encounter=assessment_input.encounter)
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
