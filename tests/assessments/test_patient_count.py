"""Each care site's patient count is kept by the database (migration 0014's triggers),
exact whichever path adds, removes or moves a patient, and within the transaction that
does it: the patient list reports its total from it instead of counting the rows."""

import pytest
from django.db import connection, transaction

from assessments.models import Organization, Patient
from assessments.services import patient_create
from tests.factories import OrganizationFactory, PatientFactory


def kept_and_actual(*organizations) -> list[tuple[int, int]]:
    """(kept count, actual count) of each care site."""
    kept = dict(
        Organization.objects.filter(pk__in=[o.pk for o in organizations]).values_list(
            "pk", "patient_count"
        )
    )
    return [
        (kept[o.pk], Patient.objects.filter(organization=o).count())
        for o in organizations
    ]


def test_the_count_follows_every_way_of_adding_removing_and_moving_patients(
    organization, other_organization
):
    assert kept_and_actual(organization) == [(0, 0)]
    patient_create(
        organization=organization,
        mrn="S-1",
        given_name="Ada",
        family_name="Lovelace",
        birth_date="1950-01-01",
        sex="female",
    )
    PatientFactory.create_batch(3, organization=organization)
    Patient.objects.bulk_create(
        PatientFactory.build_batch(4, organization=other_organization)
    )
    assert kept_and_actual(organization, other_organization) == [(4, 4), (4, 4)]

    moved = Patient.objects.filter(organization=organization).first()
    moved.organization = other_organization
    moved.save(update_fields=["organization"])
    assert kept_and_actual(organization, other_organization) == [(3, 3), (5, 5)]

    Patient.objects.filter(organization=other_organization).update(
        organization=organization
    )
    assert kept_and_actual(organization, other_organization) == [(8, 8), (0, 0)]

    Patient.objects.filter(pk__in=Patient.objects.values("pk")[:2]).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM assessments_patient WHERE id = %s",
            [Patient.objects.values_list("pk", flat=True).first()],
        )
    assert kept_and_actual(organization, other_organization) == [(5, 5), (0, 0)]


def test_a_patient_added_in_a_rolled_back_transaction_is_not_counted(organization):
    PatientFactory(organization=organization)
    seen_inside = []

    def add_two_then_fail():
        with transaction.atomic():
            PatientFactory.create_batch(2, organization=organization)
            seen_inside.extend(kept_and_actual(organization))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        add_two_then_fail()
    assert seen_inside == [(3, 3)]  # counted at once, within the transaction
    assert kept_and_actual(organization) == [(1, 1)]


def test_a_new_care_site_starts_at_zero_and_sites_count_apart(db):
    first, second = OrganizationFactory(), OrganizationFactory()
    PatientFactory.create_batch(2, organization=first)
    PatientFactory(organization=second)
    assert kept_and_actual(first, second, OrganizationFactory()) == [
        (2, 2),
        (1, 1),
        (0, 0),
    ]
