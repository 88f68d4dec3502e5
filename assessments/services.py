"""Writes to the clinical record. Each service validates fully, then saves in one
transaction; nothing is ever half-saved."""

import datetime as dt
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from guidelines.services import (
    FieldError,
    InputError,
    active_version_of,
    canonical_evaluate,
    default_rule_set_code,
)

from .audit import audit_record
from .choices import AssessmentStatus, AuditAction, AuditChannel
from .inputs import (
    PATH_BY_COLUMN,
    AssessmentInput,
    assessment_from_input,
    assessment_input,
    assessment_to_input,
)
from .models import Assessment, Encounter, Organization, Patient


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
        organization=organization,
        mrn=mrn,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        sex=sex,
        height_cm=height_cm,
        weight_kg=weight_kg,
    )
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
        patient=patient,
        occurred_at=occurred_at,
        clinician=clinician,
        setting=setting,
        presentation=presentation,
    )
    encounter.full_clean()
    encounter.save()
    return encounter


def assessment_create(
    *,
    encounter: Encounter | None = None,
    data: AssessmentInput | dict[str, Any],
    author,
    supersedes: Assessment | None = None,
    reason: str = "",
) -> Assessment:
    """Store canonical input (``inputs.assessment_input``) as an assessment, with its
    result and the rule-set version that produced it.

    Raw contract input of ``encounter`` is accepted too and goes through
    ``assessment_input`` first (the same one parse; for scripts and tests). Raises
    ``InputError`` (errors by dotted field path); saves nothing then.
    """
    if not isinstance(data, AssessmentInput):
        data = assessment_input(encounter=encounter, data=data)
    assessment, studies = assessment_from_input(data)
    assessment.created_by = author if author is not None and author.pk else None
    assessment.supersedes = supersedes
    assessment.reason = reason
    errors: list[FieldError] = []
    try:
        # Field validators and clean() run here; the ~180 generated range constraints are
        # enforced by the database itself (and input_parse checked the same ranges), so
        # they are not re-checked one query each.
        assessment.full_clean(
            exclude=["encounter", "created_by", "supersedes"],
            validate_constraints=False,
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
    # The engine evaluates the canonical input that is stored; the result is kept with
    # the rule-set version that produced it.
    outcome = canonical_evaluate(data.data)
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
    return assessment


# --- amend and void (CONTRACT section 6) ------------------------------------------------
# A stored assessment is never edited. A correction is a new assessment of the same
# encounter that supersedes the old one, which becomes "amended"; a record made in error
# becomes "entered_in_error". Both keep their input and result as stored; only a final
# assessment can be amended or voided, so a correction cannot fork. Both are audited in
# the same transaction.

REASON_MAX_LENGTH = 500
REASON_REQUIRED = "is required: say why the stored assessment is corrected or voided"


class AssessmentStateError(Exception):
    """The assessment is not final (already amended or voided): nothing was changed."""


def _reason_checked(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InputError([FieldError("reason", REASON_REQUIRED)])
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise InputError(
            [
                FieldError(
                    "reason",
                    f"must be at most {REASON_MAX_LENGTH} characters "
                    f"(got {len(reason)})",
                )
            ]
        )
    return reason


def _final_locked(assessment: Assessment, action: str) -> Assessment:
    """The stored row, locked for this transaction; refused unless it is final."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.status != AssessmentStatus.FINAL:
        raise AssessmentStateError(
            f"Assessment #{locked.pk} is {locked.get_status_display().lower()}: only a "
            f"final assessment can be {action}."
        )
    return locked


@transaction.atomic
def assessment_amend(
    *,
    assessment: Assessment,
    data: AssessmentInput | dict[str, Any],
    reason: Any,
    author,
    channel: AuditChannel | str,
) -> Assessment:
    """Store ``data`` as a new assessment of the same encounter that supersedes
    ``assessment`` (which becomes amended). Raises ``InputError`` (fields of ``data`` by
    their path, or ``reason``) or ``AssessmentStateError``; nothing is changed then."""
    reason = _reason_checked(reason)
    old = _final_locked(assessment, "amended")
    new = assessment_create(
        encounter=old.encounter,
        data=data,
        author=author,
        supersedes=old,
        reason=reason,
    )
    old.status = AssessmentStatus.AMENDED
    old.reason = reason
    old.status_changed_at = timezone.now()
    old.status_changed_by = author if author is not None and author.pk else None
    old.save(
        update_fields=["status", "reason", "status_changed_at", "status_changed_by"]
    )
    patient = old.encounter.patient
    audit_record(
        user=author,
        action=AuditAction.CREATE,
        channel=channel,
        obj=new,
        patient=patient,
        detail=f"amends assessment #{old.pk}: {reason}",
    )
    audit_record(
        user=author,
        action=AuditAction.UPDATE,
        channel=channel,
        obj=old,
        patient=patient,
        detail=f"amended by assessment #{new.pk}: {reason}",
    )
    for name in ("status", "reason", "status_changed_at", "status_changed_by"):
        setattr(assessment, name, getattr(old, name))
    return new


@transaction.atomic
def assessment_void(
    *, assessment: Assessment, reason: Any, author, channel: AuditChannel | str
) -> Assessment:
    """Mark ``assessment`` entered in error (kept, shown as void, out of the trends)."""
    reason = _reason_checked(reason)
    old = _final_locked(assessment, "voided")
    old.status = AssessmentStatus.ENTERED_IN_ERROR
    old.reason = reason
    old.status_changed_at = timezone.now()
    old.status_changed_by = author if author is not None and author.pk else None
    old.save(
        update_fields=["status", "reason", "status_changed_at", "status_changed_by"]
    )
    audit_record(
        user=author,
        action=AuditAction.UPDATE,
        channel=channel,
        obj=old,
        patient=old.encounter.patient,
        detail=f"entered in error: {reason}",
    )
    for name in ("status", "reason", "status_changed_at", "status_changed_by"):
        setattr(assessment, name, getattr(old, name))
    return assessment


def assessment_reevaluate(
    *, assessment: Assessment, author, channel: AuditChannel | str
) -> Assessment:
    """Evaluate the stored input again under the active version of the same rule set:
    a new assessment that supersedes this one (kept, marked amended)."""
    data = assessment_to_input(assessment)
    stored = (assessment.result or {}).get("guideline") or {}
    code = stored.get("code") or default_rule_set_code()
    data["guideline"] = code
    current = active_version_of(code)
    reason = (
        f"Evaluated again under the current version {current.version} of "
        f"{current.title} (was version {stored.get('version') or 'unknown'})."
    )
    return assessment_amend(
        assessment=assessment,
        data=data,
        reason=reason,
        author=author,
        channel=channel,
    )
