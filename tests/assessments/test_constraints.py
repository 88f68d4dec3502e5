"""The database itself refuses implausible values, whichever path writes them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assessments.models import Assessment, Patient, PriorEcho
from assessments.services import assessment_create
from guidelines.validation import InputError
from guidelines.vocabulary import INPUT_FIELDS, Kind

RANGED = [spec for spec in INPUT_FIELDS if spec.kind in (Kind.DECIMAL, Kind.INTEGER)]
ENUMERATED = [spec for spec in INPUT_FIELDS if spec.kind is Kind.CHOICE]


@pytest.fixture
def assessment(encounter, clinician):
    return assessment_create(encounter=encounter, data={}, author=clinician)


def _refused_by_database(queryset, **values):
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**values)


@pytest.mark.parametrize("spec", RANGED, ids=lambda spec: spec.path)
def test_database_refuses_a_value_above_the_declared_range(assessment, spec):
    too_high = spec.maximum + 1
    _refused_by_database(
        Assessment.objects.filter(pk=assessment.pk), **{spec.column: too_high}
    )


@pytest.mark.parametrize("spec", RANGED, ids=lambda spec: spec.path)
def test_database_refuses_a_value_below_the_declared_range(assessment, spec):
    too_low = spec.minimum - 1
    _refused_by_database(
        Assessment.objects.filter(pk=assessment.pk), **{spec.column: too_low}
    )


@pytest.mark.parametrize("spec", ENUMERATED, ids=lambda spec: spec.path)
def test_database_refuses_an_undeclared_choice(assessment, spec):
    _refused_by_database(
        Assessment.objects.filter(pk=assessment.pk), **{spec.column: "?"}
    )


def test_database_refuses_an_out_of_range_value_on_bulk_create(encounter):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.bulk_create(
            [
                Assessment(
                    encounter=encounter,
                    patient_age_years=66,
                    patient_sex="female",
                    echo_eroa_cm2=Decimal("2.5"),
                )
            ]
        )


def test_database_refuses_lvesd_not_below_lvedd(assessment):
    _refused_by_database(
        Assessment.objects.filter(pk=assessment.pk),
        echo_lvesd_mm=Decimal("60"),
        echo_lvedd_mm=Decimal("55"),
    )


def test_database_refuses_an_implausible_prior_echo(assessment):
    study = PriorEcho.objects.create(assessment=assessment, months_ago=12)
    _refused_by_database(PriorEcho.objects.filter(pk=study.pk), lvef_pct=Decimal("95"))
    _refused_by_database(PriorEcho.objects.filter(pk=study.pk), months_ago=601)


def test_database_refuses_an_implausible_patient_height(patient):
    _refused_by_database(
        Patient.objects.filter(pk=patient.pk), height_cm=Decimal("251")
    )


def test_database_refuses_a_duplicate_mrn_in_one_organization(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            organization=patient.organization,
            mrn=patient.mrn,
            given_name="X",
            family_name="Y",
            birth_date=patient.birth_date,
            sex="male",
        )


def test_full_clean_names_the_field_and_the_range(encounter):
    record = Assessment(
        encounter=encounter,
        patient_age_years=66,
        patient_sex="female",
        echo_eroa_cm2=Decimal("2.5"),
    )
    with pytest.raises(ValidationError) as caught:
        record.full_clean()
    assert caught.value.message_dict["echo_eroa_cm2"] == [
        "EROA must be between 0 and 2 cm²."
    ]


def test_lvesd_not_below_lvedd_is_refused_naming_the_field(encounter):
    record = Assessment(
        encounter=encounter,
        patient_age_years=66,
        patient_sex="female",
        echo_lvesd_mm=Decimal("55"),
        echo_lvedd_mm=Decimal("55"),
    )
    with pytest.raises(ValidationError) as caught:
        record.full_clean()
    (message,) = caught.value.message_dict["echo_lvesd_mm"]
    assert "echo.lvesd_mm must be below echo.lvedd_mm" in message


def test_service_refuses_lvesd_not_below_lvedd_by_contract_path(encounter, clinician):
    with pytest.raises(InputError) as caught:
        assessment_create(
            encounter=encounter,
            data={"echo": {"lvesd_mm": 60, "lvedd_mm": 50}},
            author=clinician,
        )
    assert [e.field for e in caught.value.errors] == ["echo.lvesd_mm"]
    assert Assessment.objects.count() == 0
