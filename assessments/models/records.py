"""Who and where: care sites, their members, their patients and the patients' encounters."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from guidelines.vocabulary import FIELDS_BY_PATH

from ..choices import Presentation, Role, Setting, Sex

HEIGHT = FIELDS_BY_PATH["patient.height_cm"]
WEIGHT = FIELDS_BY_PATH["patient.weight_kg"]
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    """Completed years of life on the day ``on`` (a birthday counts on the day itself)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def _range_validators(spec):
    message = f"Must be between {spec.minimum} and {spec.maximum} {spec.unit}".strip()
    return [
        MinValueValidator(spec.minimum, message=message + "."),
        MaxValueValidator(spec.maximum, message=message + "."),
    ]


class Organization(models.Model):
    """One care site (a clinic or hospital); patients belong to exactly one."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The site's patient list reports its total without counting 100,000 rows. Kept
    # by the database itself (triggers on the patient table, migration 0014), in the
    # transaction that adds, removes or moves a patient, whichever code path writes.
    patient_count = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Patients of this care site (kept by the database).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's membership of a care site, as a clinician or as an EHR integration."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLINICIAN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"


class Patient(models.Model):
    """One person under care at one care site, identified there by a medical record number."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="patients"
    )
    mrn = models.CharField("MRN", max_length=64, help_text="Medical record number.")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    height_cm = models.DecimalField(
        "height (cm)",
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=_range_validators(HEIGHT),
    )
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=_range_validators(WEIGHT),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [  # a care site's patients in list order (counted and paged on it)
            models.Index(
                fields=["organization", "family_name", "given_name", "id"],
                name="patient_site_by_name",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mrn"], name="patient_mrn_unique_per_org"
            ),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_not_empty"),
            models.CheckConstraint(
                condition=Q(sex__in=Sex.values), name="patient_sex_valid"
            ),
            models.CheckConstraint(
                condition=Q(birth_date__gte=EARLIEST_BIRTH_DATE),
                name="patient_birth_date_plausible",
            ),
            models.CheckConstraint(
                condition=Q(
                    height_cm__gte=HEIGHT.minimum, height_cm__lte=HEIGHT.maximum
                ),
                name="patient_record_height_cm_range",
                violation_error_message=f"Height must be {HEIGHT.range_text}.",
            ),
            models.CheckConstraint(
                condition=Q(
                    weight_kg__gte=WEIGHT.minimum, weight_kg__lte=WEIGHT.maximum
                ),
                name="patient_record_weight_kg_range",
                violation_error_message=f"Weight must be {WEIGHT.range_text}.",
            ),
        ]

    def __str__(self):
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def clean(self):
        if self.birth_date and self.birth_date > timezone.localdate():
            raise ValidationError({"birth_date": "The date of birth is in the future."})

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: dt.date) -> int:
        return age_in_years(self.birth_date, day)

    def body_values(self) -> dict[str, Decimal]:
        """Height and weight as recorded (absent ones left out)."""
        values = {"height_cm": self.height_cm, "weight_kg": self.weight_kg}
        return {k: v for k, v in values.items() if v is not None}


class Encounter(models.Model):
    """One visit or admission of a patient, seen by a clinician at a given time."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="encounters"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="encounters",
        null=True,
        blank=True,
    )
    setting = models.CharField(
        max_length=20, choices=Setting.choices, default=Setting.OUTPATIENT
    )
    presentation = models.CharField(
        max_length=20, choices=Presentation.choices, default=Presentation.CHRONIC
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [  # a patient's encounters, most recent first
            models.Index(
                fields=["patient", "-occurred_at", "-id"],
                name="encounter_patient_recent",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(setting__in=Setting.values), name="encounter_setting_valid"
            ),
            models.CheckConstraint(
                condition=Q(presentation__in=Presentation.values),
                name="encounter_presentation_valid",
            ),
        ]

    def __str__(self):
        when = timezone.localtime(self.occurred_at).strftime("%Y-%m-%d %H:%M")
        return f"{self.get_setting_display()} encounter {when}"

    def clean(self):
        if (
            self.occurred_at
            and self.patient_id
            and self.occurred_on < self.patient.birth_date
        ):
            raise ValidationError(
                {"occurred_at": "The encounter cannot precede the patient's birth."}
            )

    @property
    def occurred_on(self) -> dt.date:
        return timezone.localdate(self.occurred_at)
