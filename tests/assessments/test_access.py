"""A user sees only the patients of their own care sites: 404 for the others."""

import pytest
from django.http import Http404

from assessments.selectors import (
    assessment_get_for_user,
    encounter_get_for_user,
    patient_get_for_user,
    patient_list_for_user,
)
from assessments.services import assessment_create
from tests.factories import PatientFactory


def test_clinician_sees_the_patients_of_their_organization(clinician, patient):
    assert patient_get_for_user(clinician, patient.pk) == patient
    assert list(patient_list_for_user(clinician)) == [patient]


def test_it_hides_another_organizations_patient(other_clinician, patient):
    with pytest.raises(Http404):
        patient_get_for_user(other_clinician, patient.pk)
    assert list(patient_list_for_user(other_clinician)) == []


def test_missing_and_not_yours_look_the_same(other_clinician, patient):
    with pytest.raises(Http404) as not_yours:
        patient_get_for_user(other_clinician, patient.pk)
    with pytest.raises(Http404) as missing:
        patient_get_for_user(other_clinician, patient.pk + 1000)
    assert str(not_yours.value) == str(missing.value)


@pytest.mark.parametrize("pk", ["abc", None, "1.5"])
def test_a_malformed_id_is_a_404_not_a_500(clinician, pk):
    with pytest.raises(Http404):
        patient_get_for_user(clinician, pk)


def test_it_hides_another_organizations_encounter_and_assessment(
    clinician, other_clinician, encounter
):
    assessment = assessment_create(encounter=encounter, data={}, author=clinician)

    assert encounter_get_for_user(clinician, encounter.pk) == encounter
    assert assessment_get_for_user(clinician, assessment.pk) == assessment
    with pytest.raises(Http404):
        encounter_get_for_user(other_clinician, encounter.pk)
    with pytest.raises(Http404):
        assessment_get_for_user(other_clinician, assessment.pk)


def test_api_client_sees_its_organizations_patients(api_client_user, patient):
    assert patient_get_for_user(api_client_user, patient.pk) == patient


def test_editor_without_membership_sees_no_patient(editor, patient):
    with pytest.raises(Http404):
        patient_get_for_user(editor, patient.pk)


def test_superuser_sees_every_patient(superuser, patient, other_organization):
    other = PatientFactory(organization=other_organization)
    assert set(patient_list_for_user(superuser)) == {patient, other}


def test_anonymous_sees_nothing(patient):
    from django.contrib.auth.models import AnonymousUser

    assert list(patient_list_for_user(AnonymousUser())) == []


def test_a_user_in_two_organizations_sees_each_patient_once(
    clinician, patient, other_organization
):
    from tests.factories import MembershipFactory

    MembershipFactory(user=clinician, organization=other_organization)
    other = PatientFactory(organization=other_organization)
    assert sorted(p.pk for p in patient_list_for_user(clinician)) == sorted(
        [patient.pk, other.pk]
    )


def test_admin_shows_staff_only_their_organizations_patients(
    client, other_clinician, patient
):
    other_clinician.is_staff = True
    other_clinician.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    other_clinician.user_permissions.add(
        Permission.objects.get(codename="view_patient")
    )
    client.force_login(other_clinician)

    response = client.get(f"/admin/assessments/patient/{patient.pk}/change/")
    listing = client.get("/admin/assessments/patient/")

    assert response.status_code == 302  # "does not exist" -> redirect to the index
    assert patient.mrn not in listing.content.decode()
