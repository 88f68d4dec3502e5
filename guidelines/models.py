"""Guideline rule sets as versioned, admin-editable data.

A ``RuleSet`` is one guideline profile (``acc_aha_2020``). Each ``RuleSetVersion`` owns
every rule row; a published version is immutable (services refuse changes, the admin
shows it read-only), and an assessment points at the version that produced it. Editing
means copying the active version into a draft, changing rows, passing the test cases,
and publishing, which retires the previous version in the same transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .vocabulary import (
    BAND,
    GUIDELINE_CHOICES,  # noqa: F401  (documented codes)
)


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published (active)"
    RETIRED = "retired", "Retired"


class VersionOrigin(models.TextChoices):
    FILE = "file", "Loaded from the repository data file"
    EDITOR = "editor", "Edited in the admin"


class EvidenceTag(models.TextChoices):
    VERIFIED = "V", "V: verified against the guideline text"
    SECONDARY = "S", "S: secondary source only (pending clinical verification)"
    MEMORY = "M", "M: from memory, unverified (pending clinical verification)"
    JUDGEMENT = "J", "J: design judgement"


class SeverityRole(models.TextChoices):
    SPECIFIC_MILD = "specific_mild", "Specific for mild MR (counted)"
    SPECIFIC_SEVERE = "specific_severe", "Specific for severe MR (counted)"
    SUPPORTIVE_MILD = "supportive_mild", "Supports mild MR (shown)"
    SUPPORTIVE_SEVERE = "supportive_severe", "Supports severe MR (shown)"
    BAND = "band", "Quantitative band lower bound"


class RuleKind(models.TextChoices):
    RECOMMENDATION = "recommendation", "Recommendation"
    CAUTION = "caution", "Caution (class 3: do not)"
    CONDITIONAL = "conditional", "Conditional (would apply once … is done)"


class RuleSet(models.Model):
    """One guideline profile, e.g. the 2020 ACC/AHA valvular heart disease guideline."""

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ("code",)

    def __str__(self):
        return self.code


class RuleSetVersion(models.Model):
    """One version of a rule set: every threshold and recommendation it applies."""

    rule_set = models.ForeignKey(
        RuleSet, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.CharField(max_length=40)
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    origin = models.CharField(
        max_length=10, choices=VersionOrigin.choices, default=VersionOrigin.EDITOR
    )
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    guideline = models.CharField(max_length=100, help_text="Label shown in sources")
    title = models.CharField(max_length=200)
    citation = models.TextField()
    url = models.URLField(max_length=500, blank=True)
    notes = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    pending_rules_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who acknowledged publishing rules tagged [M]/[S] (SPEC 0.9)",
    )
    pending_rules_acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who last changed the draft (a row, a code or "
        "its header); cannot be the one who publishes it",
    )
    last_edited_at = models.DateTimeField(null=True, blank=True)
    is_rollback = models.BooleanField(
        default=False, help_text="A copy of an earlier version, to roll back to it"
    )
    edited_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Everyone who created or changed the draft, recorded at publication",
    )
    publication_reason = models.TextField(
        blank=True, help_text="Why this version was published (the approver's words)"
    )
    outcome_changes = models.JSONField(
        default=list,
        blank=True,
        help_text="Every outcome that changed against the published version and the "
        "shipped data file, each with the reason it was accepted (SPEC 0.14 p)",
    )
    safety_proof = models.JSONField(
        default=dict,
        blank=True,
        help_text="The safety invariants (docs/guideline.md §6b) proved for every input "
        "in range when the version was published: each invariant's status and time",
    )

    class Meta:
        ordering = ("rule_set__code", "-created_at")
        constraints = [
            models.UniqueConstraint(
                fields=["rule_set"],
                condition=Q(status="published"),
                name="guidelines_one_published_version_per_rule_set",
            ),
            models.UniqueConstraint(
                fields=["rule_set", "version"], name="guidelines_version_label_unique"
            ),
        ]

    def __str__(self):
        return f"{self.rule_set.code} {self.version} ({self.get_status_display()})"

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class SourcedRow(models.Model):
    """Provenance shared by every rule row (SPEC 0.9)."""

    version = models.ForeignKey(RuleSetVersion, on_delete=models.CASCADE)
    key = models.SlugField(
        max_length=80, help_text="Stable identifier within the version"
    )
    position = models.PositiveIntegerField(default=0)
    condition = models.JSONField(
        help_text='[parameter, operator, value] or {"all"|"any": [...]} or '
        '{"at_least": N, "of": [...]}'
    )
    guideline = models.CharField(max_length=100, blank=True)
    section = models.CharField(max_length=300)
    citation = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    evidence = models.CharField(max_length=1, choices=EvidenceTag.choices)
    verified_from = models.CharField(
        max_length=500,
        blank=True,
        help_text="The text or reproduction the row was read against, when it is not "
        "the guideline itself (the URL is the guideline's DOI)",
    )

    class Meta:
        abstract = True
        ordering = ("position", "id")


class SeverityCriterionRow(SourcedRow):
    """One ASE 2017 grading criterion or quantitative cut-off of a rule-set version."""

    role = models.CharField(max_length=20, choices=SeverityRole.choices)
    # The lower bound of a quantitative band: every band but the lowest (vocabulary).
    band = models.CharField(max_length=20, blank=True, choices=BAND.choices[1:])
    scope = models.CharField(
        max_length=24,
        default="all",
        choices=[
            ("all", "All MR"),
            ("secondary_elliptical", "Secondary MR, elliptical orifice"),
        ],
    )
    history = HistoricalRecords()

    class Meta(SourcedRow.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["version", "key"], name="guidelines_severity_key"
            )
        ]

    def __str__(self):
        return self.key


class StageCriterionRow(SourcedRow):
    """One stage C2 criterion (ACC/AHA Table 17) of a rule-set version."""

    history = HistoricalRecords()

    class Meta(SourcedRow.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["version", "key"], name="guidelines_stage_key"
            )
        ]

    def __str__(self):
        return self.key


class RecommendationRuleRow(SourcedRow):
    """If the condition holds, recommend the code with this class and level."""

    code = models.SlugField(max_length=60)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    cor = models.CharField("class", max_length=20, blank=True)
    loe = models.CharField("level", max_length=20, blank=True)
    group = models.SlugField(max_length=40, blank=True, help_text="First match wins")
    kind = models.CharField(
        max_length=16, choices=RuleKind.choices, default=RuleKind.RECOMMENDATION
    )
    history = HistoricalRecords()

    class Meta(SourcedRow.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["version", "key"], name="guidelines_rule_key"
            )
        ]

    def __str__(self):
        return f"{self.key} → {self.code}"


class RecommendationCode(models.Model):
    """A recommendation code a rule-set version adds to the contract's vocabulary."""

    version = models.ForeignKey(
        RuleSetVersion, on_delete=models.CASCADE, related_name="codes"
    )
    code = models.SlugField(
        max_length=60,
        help_text="Lowercase letters, digits and underscores, e.g. mitral_surgery_redo",
    )
    title = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "recommendation code"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"], name="guidelines_code_unique"
            )
        ]

    def __str__(self):
        return self.code


class RuleSetTestCase(models.Model):
    """An assessment input with its expected result; every publication must pass them."""

    class Origin(models.TextChoices):
        VIGNETTE = "vignette", "Clinical vignette (repository)"
        EDITOR = "editor", "Added by an editor"

    rule_set = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="test_cases"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    origin = models.CharField(
        max_length=10, choices=Origin.choices, default=Origin.EDITOR
    )
    input = models.JSONField(help_text="Assessment input (CONTRACT section 1)")
    expected = models.JSONField(
        help_text="severity, acceptable_severity, stage, acceptable_stages, mr_type, "
        "severity_subgrade, required, required_any_of, must_not"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("rule_set__code", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["rule_set", "name"], name="guidelines_case_name"
            )
        ]

    def __str__(self):
        return f"{self.rule_set.code}: {self.name}"
