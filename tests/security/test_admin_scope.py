"""The admin is scoped like the pages and the API: a staff member of one care site sees
and chooses only that site's patients, encounters, assessments, API tokens and audit
events; care sites, memberships, users and groups are the superuser's; stored
assessments are read-only; a change of patient data is audited with old and new values."""

import pytest
from django.contrib.auth.models import Permission
from knox.models import AuthToken

from assessments.choices import Role
from assessments.models import AuditEvent, Encounter, Membership, Patient
from assessments.services import assessment_create
from tests.factories import (
    EncounterFactory,
    MembershipFactory,
    PatientFactory,
    UserFactory,
)

STAFF_PERMISSIONS = [
    f"{action}_{model}"
    for model in (
        "patient",
        "encounter",
        "assessment",
        "priorecho",
        "organization",
        "membership",
        "auditevent",
        "authtoken",
    )
    for action in ("view", "add", "change", "delete")
]


@pytest.fixture
def staff(organization):
    """Support staff of the clinician's care site, with every model permission."""
    user = UserFactory(username="sam", is_staff=True)
    MembershipFactory(user=user, organization=organization)
    user.user_permissions.set(Permission.objects.filter(codename__in=STAFF_PERMISSIONS))
    return user


@pytest.fixture
def as_staff(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def other_patient(other_organization):
    return PatientFactory(organization=other_organization, mrn="MRN-OTHER")


@pytest.fixture
def other_encounter(other_patient, other_clinician):
    return EncounterFactory(patient=other_patient, clinician=other_clinician)


def _listed(response):
    return list(response.context["cl"].result_list)


def test_staff_lists_only_their_sites_records(
    as_staff, patient, encounter, clinician, other_encounter, other_clinician
):
    mine = assessment_create(encounter=encounter, data={}, author=clinician)
    assessment_create(encounter=other_encounter, data={}, author=other_clinician)

    assert _listed(as_staff.get("/admin/assessments/patient/")) == [patient]
    assert _listed(as_staff.get("/admin/assessments/encounter/")) == [encounter]
    assert _listed(as_staff.get("/admin/assessments/assessment/")) == [mine]


def test_staff_see_only_their_sites_audit_events(
    as_staff, clinician, patient, other_clinician, other_patient
):
    from assessments.audit import audit_record

    audit_record(user=clinician, action="read", channel="page", obj=patient)
    audit_record(user=other_clinician, action="read", channel="page", obj=other_patient)

    listed = _listed(as_staff.get("/admin/assessments/auditevent/"))

    assert {event.patient for event in listed} == {patient}


def test_another_sites_patient_cannot_be_opened_and_the_attempt_is_audited(
    as_staff, staff, other_patient
):
    response = as_staff.get(f"/admin/assessments/patient/{other_patient.pk}/change/")

    assert response.status_code == 302  # the admin's "does not exist" redirect
    refusal = AuditEvent.objects.get(user=staff, outcome="refused")
    assert refusal.patient == other_patient
    assert refusal.channel == "admin"


def test_staff_cannot_create_a_patient_in_another_site(as_staff, other_organization):
    response = as_staff.post(
        "/admin/assessments/patient/add/",
        {
            "organization": other_organization.pk,
            "mrn": "X-1",
            "given_name": "Eve",
            "family_name": "Intruder",
            "birth_date": "1960-01-01",
            "sex": "female",
        },
    )

    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Patient.objects.filter(mrn="X-1").exists()


def test_staff_cannot_create_an_encounter_for_another_sites_patient(
    as_staff, other_patient
):
    response = as_staff.post(
        "/admin/assessments/encounter/add/",
        {
            "patient": other_patient.pk,
            "occurred_at_0": "2025-03-10",
            "occurred_at_1": "09:30",
            "setting": "outpatient",
            "presentation": "chronic",
        },
    )

    assert response.status_code == 200
    assert "patient" in response.context["adminform"].form.errors
    assert not Encounter.objects.filter(patient=other_patient).exists()


def test_the_clinician_choice_lists_only_colleagues(
    as_staff, clinician, other_clinician
):
    form = as_staff.get("/admin/assessments/encounter/add/").context["adminform"].form

    assert clinician in form.fields["clinician"].queryset
    assert other_clinician not in form.fields["clinician"].queryset


@pytest.mark.parametrize(
    "url",
    [
        "/admin/assessments/membership/",
        "/admin/assessments/membership/add/",
        "/admin/assessments/organization/",
        "/admin/assessments/organization/add/",
        "/admin/auth/user/",
        "/admin/auth/group/",
    ],
)
def test_care_sites_memberships_users_and_groups_are_the_superusers(as_staff, url):
    assert as_staff.get(url).status_code == 403


def test_staff_cannot_grant_themself_another_site(as_staff, staff, other_organization):
    response = as_staff.post(
        "/admin/assessments/membership/add/",
        {"user": staff.pk, "organization": other_organization.pk, "role": "clinician"},
    )

    assert response.status_code == 403
    assert not Membership.objects.filter(
        user=staff, organization=other_organization
    ).exists()


def test_staff_see_only_their_sites_api_tokens(
    as_staff, api_client_user, other_organization
):
    from assessments.api.services import api_token_issue
    from assessments.selectors import integrations_group

    other_ehr = UserFactory(username="other-ehr")
    MembershipFactory(
        user=other_ehr, organization=other_organization, role=Role.API_CLIENT
    )
    other_ehr.groups.add(integrations_group())
    api_token_issue(user=api_client_user)
    api_token_issue(user=other_ehr)

    listed = _listed(as_staff.get("/admin/knox/authtoken/"))

    assert [token.user for token in listed] == [api_client_user]
    assert AuthToken.objects.count() == 2


def test_a_stored_assessment_is_read_only_in_the_admin(
    client, superuser, encounter, clinician
):
    assessment = assessment_create(
        encounter=encounter, data={"echo": {"eroa_cm2": 0.45}}, author=clinician
    )
    client.force_login(superuser)
    url = f"/admin/assessments/assessment/{assessment.pk}/"

    view = client.get(url + "change/")
    edit = client.post(
        url + "change/", {"encounter": encounter.pk, "echo_eroa_cm2": "0.1"}
    )
    delete = client.post(url + "delete/", {"post": "yes"})
    add = client.get("/admin/assessments/assessment/add/")

    assert view.status_code == 200
    assert 'name="echo_eroa_cm2"' not in view.content.decode()
    assert (edit.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assessment.refresh_from_db()
    assert str(assessment.echo_eroa_cm2) == "0.450"


def test_an_admin_change_of_a_patient_records_old_and_new_values(
    client, superuser, patient
):
    client.force_login(superuser)
    response = client.post(
        f"/admin/assessments/patient/{patient.pk}/change/",
        {
            "organization": patient.organization.pk,
            "mrn": patient.mrn,
            "given_name": "Adah",
            "family_name": patient.family_name,
            "birth_date": "1958-06-15",
            "sex": "female",
            "height_cm": "165",
            "weight_kg": "70",
        },
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="update")
    assert "given_name: 'Ada' -> 'Adah'" in event.detail
    assert "weight_kg: '68.500' -> '70'" in event.detail


def test_an_api_change_of_a_patient_records_old_and_new_values(ehr, patient):
    response = ehr.patch(
        f"/api/v1/patients/{patient.pk}/", {"family_name": "Lovelace"}, format="json"
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="update")
    assert f"family_name: {patient.family_name!r} -> 'Lovelace'" in event.detail
