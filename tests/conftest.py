"""The named cast: a clinician and the patient of their care site, and "the others"
(a clinician of another site) for every permission test."""

import pytest

from assessments.choices import Role
from tests.factories import (
    EncounterFactory,
    MembershipFactory,
    OrganizationFactory,
    PatientFactory,
    UserFactory,
)


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Riverside Heart Clinic")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Northgate Cardiology")


@pytest.fixture
def clinician(organization):
    user = UserFactory(username="alice", first_name="Alice")
    MembershipFactory(user=user, organization=organization, role=Role.CLINICIAN)
    return user


@pytest.fixture
def other_clinician(other_organization):
    user = UserFactory(username="bob", first_name="Bob")
    MembershipFactory(user=user, organization=other_organization, role=Role.CLINICIAN)
    return user


@pytest.fixture
def api_client_user(organization):
    from assessments.selectors import integrations_group

    user = UserFactory(username="ehr")
    MembershipFactory(user=user, organization=organization, role=Role.API_CLIENT)
    user.groups.add(integrations_group())
    return user


@pytest.fixture
def editor(db):
    from django.contrib.auth.models import Group

    user = UserFactory(username="charlie", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="guideline editors")[0])
    return user


@pytest.fixture
def second_editor(db):
    """A second guideline editor: reviews and publishes what ``editor`` drafted."""
    from django.contrib.auth.models import Group

    user = UserFactory(username="erin", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="guideline editors")[0])
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def patient(organization):
    return PatientFactory(organization=organization, mrn="MRN-0001")


@pytest.fixture
def encounter(patient, clinician):
    return EncounterFactory(patient=patient, clinician=clinician)


@pytest.fixture(autouse=True)
def _fresh_guideline_caches():
    """Each test starts without cached active-version ids or compiled rule sets (the
    cache is Redis when REDIS_URL is set, shared across test databases)."""
    from django.core.cache import cache

    from guidelines import services

    cache.clear()
    services._compiled.clear()
    yield
    services._compiled.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The shipped rule sets are loaded once into the test database."""
    from guidelines.authoring import guidelines_load

    with django_db_blocker.unblock():
        guidelines_load()


@pytest.fixture(autouse=True)
def _rule_sets_present(request):
    """Tests with database access see the shipped rule sets (transactional tests flush
    the database, so reload when they are gone)."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db:
        return
    request.getfixturevalue(
        "transactional_db"
        if "live_server" in request.fixturenames
        or (marker and marker.kwargs.get("transaction"))
        else "db"
    )
    from guidelines.authoring import guidelines_load
    from guidelines.models import RuleSetVersion

    if not RuleSetVersion.objects.filter(status="published").exists():
        guidelines_load()


@pytest.fixture
def rule_sets(db):
    """The shipped rule sets as published versions (loaded for every database test)."""
    from guidelines.models import RuleSetVersion

    return list(RuleSetVersion.objects.filter(status="published"))


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_audit_trigger():
    """Transactional tests empty every table with TRUNCATE, which the audit trail's
    trigger refuses (PostgreSQL). The test database's superuser flushes as a replica
    session, which fires no ordinary trigger; the application's role cannot do that."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def sql_flush_as_replica(self, style, tables, **kwargs):
        statements = sql_flush(self, style, tables, **kwargs)
        if statements:
            statements = ["SET LOCAL session_replication_role = replica", *statements]
        return statements

    DatabaseOperations.sql_flush = sql_flush_as_replica
    yield
    DatabaseOperations.sql_flush = sql_flush
