"""factory_boy factories behind the named cast of tests/conftest.py."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from assessments.choices import Presentation, Role, Setting, Sex
from assessments.models import Encounter, Membership, Organization, Patient


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("password")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Care site {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CLINICIAN


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    organization = factory.SubFactory(OrganizationFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Patient{n}")
    birth_date = dt.date(1958, 6, 15)
    sex = Sex.FEMALE
    height_cm = Decimal("165")
    weight_kg = Decimal("68.5")


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Encounter

    patient = factory.SubFactory(PatientFactory)
    occurred_at = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
    setting = Setting.OUTPATIENT
    presentation = Presentation.CHRONIC
