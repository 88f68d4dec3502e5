"""FHIR services: a Bundle evaluated (nothing stored) or stored as an assessment, each
through the one input validation and the existing evaluation and creation services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from guidelines.services import Evaluation, InputError, guideline_evaluate

from ..inputs import assessment_input
from ..models import Assessment, Encounter
from ..services import assessment_create
from .fhir_in import (
    FhirBundleError,
    FhirMapping,
    Issue,
    bundle_map,
    issues_for_input_error,
)
from .models import CdsCard


def fhir_evaluate(*, data: Any) -> tuple[Evaluation, FhirMapping]:
    """Evaluate a FHIR Bundle (the patient's age as of today). Raises FhirBundleError."""
    mapping = bundle_map(data, on=timezone.localdate())
    try:
        return guideline_evaluate(data=mapping.data), mapping
    except InputError as exc:
        raise FhirBundleError(issues_for_input_error(exc, mapping)) from None


def fhir_assessment_create(
    *, encounter: Encounter, data: Any, author
) -> tuple[Assessment, FhirMapping]:
    """Store a FHIR Bundle as an assessment of ``encounter``: age, sex, height and
    weight come from the patient record; a Bundle that contradicts it is refused."""
    mapping = bundle_map(data, on=encounter.occurred_on)
    record = encounter.patient
    if mapping.birth_date is not None and mapping.birth_date != record.birth_date:
        raise FhirBundleError(
            [
                Issue(
                    f"Bundle.entry[{mapping.patient_entry}].resource.birthDate",
                    f"contradicts the patient record ({record.birth_date.isoformat()})",
                )
            ]
        )
    data_in = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in mapping.data.items()
    }
    # The age is the record's, at the encounter date.
    data_in.get("patient", {}).pop("age_years", None)
    try:
        canonical = assessment_input(encounter=encounter, data=data_in)
        assessment = assessment_create(data=canonical, author=author)
    except InputError as exc:
        raise FhirBundleError(issues_for_input_error(exc, mapping)) from None
    return assessment, mapping


def cds_card_list_for_user(user) -> QuerySet[CdsCard]:
    """Cards of the care sites ``user`` is a member of (superusers: all)."""
    cards = CdsCard.objects.select_related(
        "organization", "patient", "rule_set_version"
    )
    if not user.is_authenticated or not user.is_active:
        return cards.none()
    if user.is_superuser:
        return cards
    return cards.filter(organization__memberships__user=user)


def cds_card_get_for_user(user, card_uuid) -> CdsCard:
    try:
        return cds_card_list_for_user(user).get(uuid=card_uuid)
    except (CdsCard.DoesNotExist, ValueError):
        raise Http404("No CDS card matches.") from None
