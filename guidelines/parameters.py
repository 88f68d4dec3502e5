"""The closed vocabulary that rule conditions may reference.

Every contract input field (``vocabulary.INPUT_FIELDS``, by dotted path) plus the facts
the engine derives before rules run (MR type, grade, stage, symptom status, derived
measurements, ...). A rule row naming anything else is refused when it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .vocabulary import INPUT_FIELDS, Kind

SEVERITIES = ("none_trivial", "mild", "moderate", "severe", "indeterminate")
SUBGRADES = ("mild_to_moderate", "moderate_to_severe")
STAGES = ("A", "B", "C", "C1", "C2", "D", "not_applicable", "undetermined")
MR_TYPES = (
    "primary",
    "secondary_ventricular",
    "secondary_atrial",
    "not_applicable",
    "undetermined",
)
SYMPTOM_STATUSES = ("symptomatic", "asymptomatic", "equivocal", "unknown")
RISK_CATEGORIES = ("low", "intermediate", "high", "prohibitive")
BANDS = ("mild", "mild_to_moderate", "moderate_to_severe", "severe")

# Closed vocabulary of recommendation codes (CONTRACT section 2). A rule set may add
# codes (listed in its data file); these may never be renamed.
CONTRACT_CODES = (
    "no_treatment", "surveillance_echo_3_5y", "surveillance_echo_1_2y",
    "surveillance_echo_6_12m", "surgery_mv", "repair_preferred", "replacement", "teer",
    "gdmt", "crt", "acute_stabilization", "symptomatic_diuretics",
    "further_imaging_tee_cmr", "exercise_testing", "heart_team_review",
    "coronary_revascularization", "prosthesis_shared_decision", "af_ablation_laao",
    "anticoagulation_doac", "advanced_hf_evaluation", "endocarditis_management",
    "rheumatic_secondary_prophylaxis", "preconception_counseling",
    "tv_repair_concomitant", "palliative_care", "tmvi_evaluation", "tte_baseline",
)  # fmt: skip
# Codes MR-CDS adds (CONTRACT allows additions).
EXTRA_CODES = (
    "prosthesis_mechanical",
    "prosthesis_bioprosthetic",
    "coronary_assessment",
)
# Codes that are an intervention or a treatment; never listed with ``no_treatment``.
INTERVENTION_CODES = frozenset(
    {
        "surgery_mv", "repair_preferred", "replacement", "teer", "gdmt", "crt",
        "acute_stabilization", "symptomatic_diuretics", "coronary_revascularization",
        "af_ablation_laao", "anticoagulation_doac", "tv_repair_concomitant",
        "tmvi_evaluation", "prosthesis_mechanical", "prosthesis_bioprosthetic",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Kind
    label: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    derived: bool = False

    @property
    def display(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def _input_parameters() -> dict[str, Parameter]:
    return {
        f.path: Parameter(
            f.path, f.kind, f.label, f.unit, f.choice_values, f.minimum, f.maximum
        )
        for f in INPUT_FIELDS
    }


def _derived(name, kind, label, unit="", choices=(), lo=None, hi=None):
    lo = Decimal(str(lo)) if lo is not None else None
    hi = Decimal(str(hi)) if hi is not None else None
    return Parameter(name, kind, label, unit, tuple(choices), lo, hi, derived=True)


DERIVED_PARAMETERS: tuple[Parameter, ...] = (
    _derived("mr_type", Kind.CHOICE, "MR type", choices=MR_TYPES),
    _derived("severity", Kind.CHOICE, "MR severity", choices=SEVERITIES),
    _derived("severity_subgrade", Kind.CHOICE, "Moderate subgrade", choices=SUBGRADES),
    _derived("stage", Kind.CHOICE, "ACC/AHA stage", choices=STAGES),
    _derived("symptom_status", Kind.CHOICE, "Symptom status", choices=SYMPTOM_STATUSES),
    _derived("surgical_risk", Kind.CHOICE, "Surgical risk (given or derived)",
             choices=RISK_CATEGORIES),
    _derived("severe_specific_count", Kind.INTEGER,
             "Criteria specific for severe MR met", lo=0, hi=10),
    _derived("mild_specific_count", Kind.INTEGER,
             "Criteria specific for mild MR met", lo=0, hi=10),
    _derived("lv_progression_serial", Kind.BOOLEAN,
             "Progressive LV dilation or EF decline on ≥3 serial studies"),
    _derived("echo_recorded", Kind.BOOLEAN,
             "Any echocardiographic measurement or sign recorded"),
    _derived("derived.bsa_m2", Kind.DECIMAL, "BSA (Mosteller)", "m²", lo=0, hi=5),
    _derived("derived.bmi_kg_m2", Kind.DECIMAL, "BMI", "kg/m²", lo=0, hi=200),
    _derived("derived.lvesd_index_mm_m2", Kind.DECIMAL, "LVESD index", "mm/m²",
             lo=0, hi=100),
    _derived("recommendations", Kind.CHOICE, "Recommendations so far",
             choices=CONTRACT_CODES + EXTRA_CODES),
)  # fmt: skip

PARAMETERS: dict[str, Parameter] = {
    **_input_parameters(),
    **{p.name: p for p in DERIVED_PARAMETERS},
}
