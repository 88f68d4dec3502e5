"""Who may see what: one function per object type, 404 for "missing" and "not yours" alike.

A user sees the patients of the care sites they are a member of (superusers see all).
Views, API views and tasks never filter by owner themselves; they call these.

The rule is a join to the user's membership of the patient's organization. A user has
at most one membership per organization (``membership_unique_user_org``), so the join
never repeats a row. The patient list is the exception: it is narrowed by the ids of
the user's care sites, read first (one small query), so that a site of 100,000 patients
is paged over the index (organization, name) rather than joined in full; its total is
the sum of the sites' maintained patient counts (``patient_count_for_user``), not a
COUNT over their 100,000 rows.
"""

import contextlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.http import Http404

from .choices import INTEGRATIONS_GROUP, PRIVACY_OFFICERS_GROUP, Role
from .models import (
    Assessment,
    AuditEvent,
    Encounter,
    Membership,
    Organization,
    Patient,
)


def _visible_to(user, queryset: QuerySet, organization: str = "") -> QuerySet:
    """``queryset`` narrowed to the care sites of ``user``; ``organization`` is the
    lookup path from its model to the patient's organization, e.g. ``"organization__"``."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{organization}memberships__user": user})


def organization_list_for_user(user) -> QuerySet[Organization]:
    return _visible_to(user, Organization.objects.all())


def patient_list_for_user(user) -> QuerySet[Patient]:
    patients = Patient.objects.select_related("organization")
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return _visible_to(user, patients)
    sites = (
        Membership.objects.filter(user=user)
        .order_by()
        .values_list("organization_id", flat=True)
    )
    return patients.filter(organization_id__in=list(sites))


def patient_count_for_user(user) -> int:
    """How many patients ``patient_list_for_user(user)`` holds, without counting them:
    the sum of the maintained counts of the user's care sites (one small query)."""
    sites = organization_list_for_user(user)
    return sites.aggregate(total=Sum("patient_count"))["total"] or 0


@contextlib.contextmanager
def planned_for_the_search_terms():
    """Within it, PostgreSQL plans each query for its actual search terms. With
    prepared statements it may otherwise reuse a generic plan, made without the
    terms, that walks a site's 100,000 patients in list order looking for a rare
    name instead of asking the trigram index (70 ms instead of 2). One transaction
    (``SET LOCAL``): the setting ends with it."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def patient_get_for_user(user, pk) -> Patient:
    return _get_or_404(
        _visible_to(
            user, Patient.objects.select_related("organization"), "organization__"
        ),
        pk,
    )


def encounter_list_for_user(user) -> QuerySet[Encounter]:
    return _visible_to(
        user,
        Encounter.objects.select_related("patient__organization"),
        "patient__organization__",
    )


def encounter_get_for_user(user, pk) -> Encounter:
    return _get_or_404(encounter_list_for_user(user), pk)


def assessment_list_for_user(user) -> QuerySet[Assessment]:
    return _visible_to(
        user,
        Assessment.objects.select_related(
            "encounter__patient__organization", "created_by"
        ),
        "encounter__patient__organization__",
    )


def assessment_get_for_user(user, pk) -> Assessment:
    return _get_or_404(
        assessment_list_for_user(user)
        .select_related("supersedes", "superseded_by")
        .prefetch_related("prior_echos"),
        pk,
    )


# Every column of an assessment (its input, result and status), by field name.
ASSESSMENT_COLUMNS = tuple(f.name for f in Assessment._meta.concrete_fields)


def assessment_record_get_for_user(user, pk) -> Assessment:
    """One stored assessment as the API returns it: its columns, prior echos,
    encounter and patient, and the assessment that corrects it by id only (its
    hundred columns are not read, nor the author's account)."""
    return _get_or_404(
        _visible_to(
            user,
            Assessment.objects.select_related("encounter__patient", "superseded_by"),
            "encounter__patient__organization__",
        )
        .only(*ASSESSMENT_COLUMNS, "superseded_by__id")
        .prefetch_related("prior_echos"),
        pk,
    )


def _is_integration() -> RawSQL:
    """Whether the user of the row is an EHR integration: in the integrations group or
    an API client of a care site. Written as SQL because every request with a session
    asks it (``SessionUserBackend``): the same test as two ``Exists(OuterRef(...))``
    subqueries cost about 1 ms of query building per request on the benchmark machine,
    a tenth of the patient page (issue 18); this costs next to nothing. The user table
    is the query's own (its alias is its name)."""
    quote = connection.ops.quote_name
    users = quote(get_user_model()._meta.db_table)
    user_pk = quote(get_user_model()._meta.pk.column)
    user_groups = get_user_model().groups.through._meta
    group_id = quote(user_groups.get_field("group").column)
    user_id = quote(user_groups.get_field("user").column)
    # Identifiers from the models' metadata, values as parameters: nothing from input.
    sql = (
        f"EXISTS (SELECT 1 FROM {quote(user_groups.db_table)} ug"  # noqa: S608
        f" INNER JOIN {quote(Group._meta.db_table)} g ON g.id = ug.{group_id}"
        f" WHERE ug.{user_id} = {users}.{user_pk} AND g.name = %s)"
        f" OR EXISTS (SELECT 1 FROM {quote(Membership._meta.db_table)} m"
        f" WHERE m.{quote(Membership._meta.get_field('user').column)} = {users}.{user_pk}"
        " AND m.role = %s)"
    )
    return RawSQL(sql, (INTEGRATIONS_GROUP, Role.API_CLIENT), BooleanField())  # noqa: S611


def users_with_integration_flag(users: QuerySet) -> QuerySet:
    """The users, each read with ``is_integration`` in the same query (the user of a
    session is: ``assessments.backends.SessionUserBackend``)."""
    return users.annotate(is_integration=_is_integration())


def user_is_integration(user) -> bool:
    """An EHR integration: in the integrations group or an API client of a care site.
    Integrations use the API only. No query when the user was read with
    ``users_with_integration_flag``, else one."""
    known = getattr(user, "is_integration", None)
    if known is not None:
        return known
    users = get_user_model().objects.filter(pk=user.pk)
    return bool(
        users_with_integration_flag(users)
        .values_list("is_integration", flat=True)
        .first()
    )


def user_is_privacy_officer(user) -> bool:
    """Privacy officers (and superusers) read every patient's access report."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=PRIVACY_OFFICERS_GROUP).exists()


def audit_events_for_patient(patient) -> QuerySet:
    """Everything the trail holds about one patient's record, newest first: who saw or
    changed it (or tried), when, from where, through what (the access report)."""
    return AuditEvent.objects.filter(patient=patient).select_related("user")


def integrations_group() -> Group:
    return Group.objects.get_or_create(name=INTEGRATIONS_GROUP)[0]


def _get_or_404(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=int(pk))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise Http404(f"No {queryset.model._meta.verbose_name} matches.") from None
