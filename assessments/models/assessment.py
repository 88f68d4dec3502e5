"""What was recorded about mitral regurgitation at one encounter.

``Assessment`` has one typed column per input field of the contract (``CONTRACT.md``
section 1), generated from ``guidelines.vocabulary.INPUT_FIELDS``: the column of
``echo.eroa_cm2`` is ``echo_eroa_cm2``. The declared ranges and choices become database
check constraints, so the database itself refuses an implausible value, whichever path
wrote it. An absent value is NULL (numbers, booleans) or ``""`` (choices), never guessed.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from guidelines.vocabulary import (
    DECIMAL_MAX_DIGITS,
    DECIMAL_PLACES,
    INPUT_FIELDS,
    PRIOR_ECHO_FIELDS,
    InputField,
    Kind,
)

from ..choices import AssessmentStatus

PRIOR_ECHO = {spec.path: spec for spec in PRIOR_ECHO_FIELDS}
LVESD_BELOW_LVEDD_MESSAGE = (
    "echo.lvesd_mm must be below echo.lvedd_mm: the end-systolic diameter cannot "
    "reach the end-diastolic one."
)


def range_message(spec: InputField) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    return f"{spec.label} must be between {spec.minimum} and {spec.maximum}{unit}."


def model_field(spec: InputField) -> models.Field:
    """The typed model field for one vocabulary field (optional unless ``required``)."""
    common = {"verbose_name": spec.label, "help_text": spec.help}
    required = spec.required
    if spec.kind is Kind.CHOICE:
        return models.CharField(
            max_length=max(len(v) for v in spec.choice_values),
            choices=spec.choices,
            blank=not required,
            **common,
            **({} if required else {"default": ""}),
        )
    if spec.kind is Kind.BOOLEAN:
        return models.BooleanField(null=True, blank=True, **common)
    validators = [
        MinValueValidator(spec.minimum, message=range_message(spec)),
        MaxValueValidator(spec.maximum, message=range_message(spec)),
    ]
    if spec.kind is Kind.INTEGER:
        return models.SmallIntegerField(
            null=not required, blank=not required, validators=validators, **common
        )
    return models.DecimalField(
        max_digits=DECIMAL_MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=not required,
        blank=not required,
        validators=validators,
        **common,
    )


def check_constraints(specs, *, prefix: str, column=lambda spec: spec.column):
    """One CheckConstraint per ranged or enumerated field (NULL passes, as in SQL)."""
    constraints = []
    for spec in specs:
        name = column(spec)
        if spec.kind is Kind.CHOICE:
            allowed = [*spec.choice_values] + ([] if spec.required else [""])
            condition = Q(**{f"{name}__in": allowed})
            message = f"{spec.label} must be {spec.range_text}."
            suffix = "choice"
        elif spec.kind in (Kind.DECIMAL, Kind.INTEGER):
            condition = Q(
                **{f"{name}__gte": spec.minimum, f"{name}__lte": spec.maximum}
            )
            message = range_message(spec)
            suffix = "range"
        else:
            continue
        constraints.append(
            models.CheckConstraint(
                condition=condition,
                name=f"{prefix}_{name}_{suffix}",
                violation_error_message=message,
            )
        )
    return constraints


def _input_columns_base():
    """An abstract model holding the generated input columns, in vocabulary order."""
    attrs = {spec.column: model_field(spec) for spec in INPUT_FIELDS}
    attrs["__module__"] = __name__
    attrs["Meta"] = type("Meta", (), {"abstract": True})
    attrs["__doc__"] = "The contract input fields as typed columns (generated)."
    return type("AssessmentInputColumns", (models.Model,), attrs)


AssessmentInputColumns = _input_columns_base()


class Assessment(AssessmentInputColumns):
    """One clinician's recorded MR work-up at an encounter: history, ECG, labs, echo study
    and management context, as typed columns (see the module docstring)."""

    encounter = models.ForeignKey(
        "assessments.Encounter", on_delete=models.PROTECT, related_name="assessments"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assessments_created",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The engine's output, stored as produced (CONTRACT section 2), and the guideline
    # version that produced it. Pages, API and PDFs render this; none recomputes it.
    result = models.JSONField(null=True, blank=True, editable=False)
    rule_set_version = models.ForeignKey(
        "guidelines.RuleSetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="assessments",
    )
    # Amend and void (CONTRACT section 6): the only change a stored assessment admits is
    # its status, made by ``assessments.services`` and audited; the record and its
    # result stay as they were.
    status = models.CharField(
        max_length=16,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.FINAL,
        editable=False,
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="superseded_by",
        help_text="The assessment this one corrects (it is then 'amended').",
    )
    reason = models.TextField(
        blank=True,
        editable=False,
        help_text="Why this assessment corrects another, or why it was amended or "
        "voided (the latest of these).",
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *check_constraints(INPUT_FIELDS, prefix="assessment"),
            models.CheckConstraint(
                condition=Q(echo_lvesd_mm__lt=F("echo_lvedd_mm")),
                name="assessment_lvesd_below_lvedd",
                violation_error_message=LVESD_BELOW_LVEDD_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(status__in=AssessmentStatus.values),
                name="assessment_status_choice",
            ),
        ]

    def __str__(self):
        return f"Assessment #{self.pk} ({self.encounter})"

    @property
    def is_final(self) -> bool:
        return self.status == AssessmentStatus.FINAL

    @property
    def successor(self) -> "Assessment | None":
        """The assessment that supersedes this one, if any."""
        try:
            return self.superseded_by
        except Assessment.superseded_by.RelatedObjectDoesNotExist:
            return None

    def clean(self):
        lvesd, lvedd = self.echo_lvesd_mm, self.echo_lvedd_mm
        if lvesd is not None and lvedd is not None and lvesd >= lvedd:
            raise ValidationError(
                {
                    "echo_lvesd_mm": f"{LVESD_BELOW_LVEDD_MESSAGE} Got {lvesd} mm ≥ {lvedd} mm."
                }
            )


class PriorEcho(models.Model):
    """One earlier echocardiographic LV study of the patient, for serial comparison
    (``prior_echos[]`` of the contract)."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="prior_echos"
    )
    months_ago = model_field(PRIOR_ECHO["months_ago"])
    lvef_pct = model_field(PRIOR_ECHO["lvef_pct"])
    lvesd_mm = model_field(PRIOR_ECHO["lvesd_mm"])

    class Meta:
        ordering = ["assessment", "-months_ago", "id"]
        verbose_name = "prior echo"
        constraints = check_constraints(
            PRIOR_ECHO_FIELDS, prefix="prior_echo", column=lambda spec: spec.path
        )

    def __str__(self):
        return f"Echo {self.months_ago} months earlier"
