"""Services behind the API that the clinical-record services do not cover yet:
the caller's care site for new patients, patient updates, API tokens. Each validates
fully and writes in one transaction."""

from typing import Any

from django.db import transaction
from knox.models import AuthToken

from guidelines.services import FieldError

from ..choices import INTEGRATIONS_GROUP, Role
from ..models import Membership, Organization, Patient
from .errors import ApiInputError

PATIENT_UPDATABLE = (
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "height_cm",
    "weight_kg",
)


class NotAnApiClient(Exception):
    """Only users with an API-client membership may hold API tokens."""


def organization_for_creator(user) -> Organization:
    """The care site a new patient of ``user`` belongs to: their only membership."""
    memberships = list(
        Membership.objects.filter(user=user).select_related("organization")[:2]
    )
    if len(memberships) != 1:
        why = "no care site" if not memberships else "more than one care site"
        raise ApiInputError(
            [
                FieldError(
                    "",
                    f"cannot tell which care site the patient belongs to: you are a "
                    f"member of {why}; patients are created only by users of exactly "
                    "one care site",
                )
            ]
        )
    return memberships[0].organization


@transaction.atomic
def patient_update(*, patient: Patient, data: dict[str, Any]) -> Patient:
    """Change some of a patient's recorded details (stored assessments keep theirs)."""
    fields = [name for name in PATIENT_UPDATABLE if name in data]
    for name in fields:
        setattr(patient, name, data[name])
    patient.full_clean()
    if fields:
        patient.save(update_fields=fields)
    return patient


def user_is_api_client(user) -> bool:
    """May hold API tokens: active, in the integrations group, an API client of a site."""
    return (
        user.is_active
        and user.groups.filter(name=INTEGRATIONS_GROUP).exists()
        and Membership.objects.filter(user=user, role=Role.API_CLIENT).exists()
    )


def api_token_issue(*, user) -> str:
    """A new API token for an API client; only its hash is stored. Shown once."""
    if not user_is_api_client(user):
        raise NotAnApiClient(
            f"{user.get_username()} is not an active API client: API tokens are only "
            "issued to members of the 'integrations' group with an API-client "
            "membership of a care site."
        )
    _, token = AuthToken.objects.create(user=user)
    return token
