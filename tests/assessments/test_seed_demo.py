"""manage.py seed_demo: the demo data set of CONTRACT section 3, idempotent."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.http import Http404

from assessments.demo import DEFAULT_PASSWORD
from assessments.inputs import assessment_to_input
from assessments.models import (
    Assessment,
    AuditEvent,
    Encounter,
    Membership,
    Organization,
    Patient,
    PriorEcho,
)
from assessments.selectors import patient_get_for_user, patient_list_for_user


def snapshot():
    User = get_user_model()
    return {
        "organizations": list(Organization.objects.values()),
        "memberships": list(Membership.objects.values()),
        "patients": list(Patient.objects.values()),
        "encounters": list(Encounter.objects.values()),
        "assessments": [
            assessment_to_input(a) for a in Assessment.objects.order_by("id")
        ],
        "assessment_ids": list(Assessment.objects.values_list("id", "created_at")),
        "prior_echos": list(PriorEcho.objects.values()),
        "users": list(User.objects.order_by("id").values()),
        "groups": list(User.groups.through.objects.values()),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    settings.MR_CDS_DEMO_PASSWORD = ""
    call_command("seed_demo", stdout=StringIO())


def test_seed_demo_twice_gives_the_same_data(seeded):
    before = snapshot()

    call_command("seed_demo", stdout=StringIO())

    assert snapshot() == before


def test_seed_demo_creates_two_organizations_with_patients_and_assessments(seeded):
    assert Organization.objects.count() == 2
    for organization in Organization.objects.all():
        assert organization.patients.count() >= 2
    assert Assessment.objects.count() == Patient.objects.count()
    assert Assessment.objects.filter(echo_lvef_pct__isnull=False).count() >= 5


def test_demo_users_and_their_roles(seeded):
    User = get_user_model()
    first, second = Organization.objects.order_by("id")
    clinician = User.objects.get(username="demo-clinician")
    ehr = User.objects.get(username="demo-ehr")
    editor = User.objects.get(username="demo-editor")

    assert clinician.check_password(DEFAULT_PASSWORD)
    assert clinician.memberships.get().organization == first
    assert (
        User.objects.get(username="demo-clinician-2").memberships.get().organization
        == second
    )
    assert ehr.memberships.get().role == "api_client"
    assert ehr.groups.filter(name="integrations").exists()
    assert editor.groups.filter(name="guideline editors").exists()
    assert not editor.memberships.exists()


def test_demo_makes_the_organization_boundary_visible(seeded):
    User = get_user_model()
    clinician = User.objects.get(username="demo-clinician")
    other = User.objects.get(username="demo-clinician-2")
    theirs = patient_list_for_user(other).first()

    assert patient_list_for_user(clinician).count() == 4
    with pytest.raises(Http404):
        patient_get_for_user(clinician, theirs.pk)


def test_seed_demo_refuses_the_default_password_when_debug_is_off(db, settings):
    settings.DEBUG = False
    settings.MR_CDS_DEMO_PASSWORD = ""

    with pytest.raises(CommandError, match="MR_CDS_DEMO_PASSWORD"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()


def test_seed_demo_uses_the_given_password_when_debug_is_off(db, settings):
    settings.DEBUG = False
    settings.MR_CDS_DEMO_PASSWORD = "a-long-demo-secret"
    out = StringIO()

    call_command("seed_demo", stdout=out)

    user = get_user_model().objects.get(username="demo-clinician")
    assert user.check_password("a-long-demo-secret")
    assert "a-long-demo-secret" not in out.getvalue()
