"""What the CDS Hooks service keeps: the cards it issued (with the result behind them),
the clinicians' feedback on them, and the JWT ids already used (replay protection when
Redis is not there)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class FeedbackOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class CdsCard(models.Model):
    """One card MR-CDS returned to an EHR for one hook call about one patient: the
    result it was built from and the rule-set version that produced it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "assessments.Organization", on_delete=models.PROTECT, related_name="cds_cards"
    )
    patient = models.ForeignKey(
        "assessments.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cds_cards",
        help_text="The patient of the care site with the EHR patient's MRN, if any.",
    )
    fhir_patient_id = models.CharField("EHR patient id", max_length=64)
    hook_instance = models.CharField(max_length=100)
    issuer = models.CharField("EHR (JWT issuer)", max_length=255)
    rule_set_version = models.ForeignKey(
        "guidelines.RuleSetVersion", on_delete=models.PROTECT, related_name="cds_cards"
    )
    content_hash = models.CharField(max_length=64)
    summary = models.CharField(max_length=140)
    indicator = models.CharField(max_length=10)
    recommendation_rules = models.JSONField(
        default=list, help_text="[{rule, code}] of the recommendations on the card."
    )
    input = models.JSONField()
    result = models.JSONField()
    sources = models.JSONField(default=dict, help_text="What the FHIR mapping used.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CDS Hooks card"

    def __str__(self):
        return f"CDS card {self.uuid}"


class CdsFeedback(models.Model):
    """One outcome an EHR reported for a card: the clinician accepted it or overrode
    it (with the override reason, if one was given)."""

    card = models.ForeignKey(CdsCard, on_delete=models.PROTECT, related_name="feedback")
    outcome = models.CharField(max_length=10, choices=FeedbackOutcome.choices)
    override_reason_system = models.CharField(max_length=255, blank=True)
    override_reason_code = models.CharField(max_length=100, blank=True)
    override_reason_display = models.CharField(max_length=255, blank=True)
    user_comment = models.TextField(blank=True)
    accepted_suggestions = models.JSONField(default=list)
    outcome_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "CDS Hooks feedback"
        verbose_name_plural = "CDS Hooks feedback"
        permissions = [
            ("view_override_rates", "Can see CDS Hooks override rates per rule")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=FeedbackOutcome.values),
                name="cdsfeedback_outcome_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} {self.card.uuid}"


class UsedJwtId(models.Model):
    """One CDS Hooks JWT already accepted (issuer + jti), kept until it expires so that
    the same token is refused a second time. Used when Redis is not available."""

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="usedjwtid_unique")
        ]

    def __str__(self):
        return f"{self.issuer} {self.jti}"
