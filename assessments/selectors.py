"""Who may see what: one function per object type, 404 for "missing" and "not yours" alike.

A user sees the patients of the care sites they are a member of (superusers see all).
Views, API views and tasks never filter by owner themselves; they call these.
"""

from django.db.models import QuerySet
from django.http import Http404

from .models import Assessment, Encounter, Organization, Patient


def organization_list_for_user(user) -> QuerySet[Organization]:
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user).distinct()


def patient_list_for_user(user) -> QuerySet[Patient]:
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    patients = Patient.objects.select_related("organization")
    if user.is_superuser:
        return patients
    return patients.filter(
        organization__in=Organization.objects.filter(memberships__user=user)
    )


def patient_get_for_user(user, pk) -> Patient:
    return _get_or_404(patient_list_for_user(user), pk)


def encounter_list_for_user(user) -> QuerySet[Encounter]:
    return Encounter.objects.select_related(
        "patient__organization", "clinician"
    ).filter(patient__in=patient_list_for_user(user))


def encounter_get_for_user(user, pk) -> Encounter:
    return _get_or_404(encounter_list_for_user(user), pk)


def assessment_list_for_user(user) -> QuerySet[Assessment]:
    return Assessment.objects.select_related(
        "encounter__patient__organization", "created_by"
    ).filter(encounter__patient__in=patient_list_for_user(user))


def assessment_get_for_user(user, pk) -> Assessment:
    return _get_or_404(
        assessment_list_for_user(user).prefetch_related("prior_echos"), pk
    )


def _get_or_404(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=int(pk))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise Http404(f"No {queryset.model._meta.verbose_name} matches.") from None
