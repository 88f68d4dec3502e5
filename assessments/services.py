"""Writes to the clinical record. Each service validates fully, then saves in one
transaction; nothing is ever half-saved."""

import datetime as dt
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from guidelines.services import guideline_evaluate
from guidelines.validation import FieldError, InputError

from .models import Assessment, Encounter, Organization, Patient
from .records import (
    PATH_BY_COLUMN,
    assessment_from_input,
    assessment_to_input,
    prior_echos_loaded,
)


def _field_errors(
    exc: ValidationError, *, prefix: str = "", paths=None
) -> list[FieldError]:
    paths = paths or {}
    errors = []
    for name, messages in exc.message_dict.items():
        field = "" if name == NON_FIELD_ERRORS else paths.get(name, name)
        for message in messages:
            errors.append(FieldError(f"{prefix}{field}".rstrip("."), message))
    return errors


@transaction.atomic
def patient_create(
    *,
    organization: Organization,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: dt.date,
    sex: str,
    height_cm=None,
    weight_kg=None,
) -> Patient:
    patient = Patient(
        organization=organization, mrn=mrn, given_name=given_name,
        family_name=family_name, birth_date=birth_date, sex=sex,
        height_cm=height_cm, weight_kg=weight_kg,
    )  # fmt: skip
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def encounter_create(
    *,
    patient: Patient,
    occurred_at: dt.datetime,
    clinician=None,
    setting: str = "outpatient",
    presentation: str = "chronic",
) -> Encounter:
    encounter = Encounter(
        patient=patient, occurred_at=occurred_at, clinician=clinician,
        setting=setting, presentation=presentation,
    )  # fmt: skip
    encounter.full_clean()
    encounter.save()
    return encounter


def assessment_create(
    *, encounter: Encounter, data: dict[str, Any], author
) -> Assessment:
    """Store contract input (CONTRACT section 1) as an assessment of ``encounter``.

    ``data`` may be raw JSON or the canonical dict of ``input_parse``. The patient's age,
    sex, height and weight come from the patient record when left out; a contradiction
    is refused. Raises ``InputError`` (errors by dotted field path); saves nothing then.
    """
    assessment, studies = assessment_from_input(encounter=encounter, data=data)
    assessment.created_by = author if author is not None and author.pk else None
    errors: list[FieldError] = []
    try:
        # Field validators and clean() run here; the ~180 generated range constraints are
        # enforced by the database itself (and input_parse checked the same ranges), so
        # they are not re-checked one query each.
        assessment.full_clean(
            exclude=["encounter", "created_by"], validate_constraints=False
        )  # the encounter and author are objects in hand: no existence queries
    except ValidationError as exc:
        errors += _field_errors(exc, paths=PATH_BY_COLUMN)
    for index, study in enumerate(studies):
        try:
            study.full_clean(exclude=["assessment"], validate_constraints=False)
        except ValidationError as exc:
            errors += _field_errors(exc, prefix=f"prior_echos[{index}].")
    if errors:
        raise InputError(errors)
    # Evaluate exactly what is stored (the record as contract input), and keep the
    # result with the rule-set version that produced it.
    outcome = guideline_evaluate(data=assessment_to_input(assessment, studies=studies))
    assessment.result = outcome.result
    assessment.rule_set_version_id = outcome.version_id
    if studies:
        with transaction.atomic():  # the record and its prior echos, all or nothing
            assessment.save()
            for study in studies:
                study.assessment = assessment
                study.save()
    else:
        assessment.save()  # one statement, atomic by itself (no savepoint needed)
    prior_echos_loaded(assessment, studies)
    return assessment
