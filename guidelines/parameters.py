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
    _derived("derived.tricuspid_annulus_index_mm_m2", Kind.DECIMAL,
             "Tricuspid annulus index", "mm/m²", lo=0, hi=100),
    _derived("recommendations", Kind.CHOICE, "Recommendations so far",
             choices=CONTRACT_CODES + EXTRA_CODES),
)  # fmt: skip

PARAMETERS: dict[str, Parameter] = {
    **_input_parameters(),
    **{p.name: p for p in DERIVED_PARAMETERS},
}


# --- words for result values (every clinician surface shows these, never the codes) ---
# ACC/AHA 2020 stages of MR: Tables 15 (primary) and 19 (secondary); C1/C2 are primary MR.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "severity": {
        "none_trivial": "No or trivial MR", "mild": "Mild MR", "moderate": "Moderate MR",
        "severe": "Severe MR", "indeterminate": "Severity indeterminate",
    },
    "severity_subgrade": {
        "mild_to_moderate": "mild to moderate", "moderate_to_severe": "moderate to severe",
    },
    "mr_type": {
        "primary": "Primary MR", "secondary_ventricular": "Secondary (ventricular) MR",
        "secondary_atrial": "Secondary (atrial) MR",
        "not_applicable": "MR type not applicable", "undetermined": "MR type undetermined",
    },
    "stage": {
        "A": "Stage A (at risk of MR)", "B": "Stage B (progressive MR)",
        "C": "Stage C (asymptomatic severe MR)",
        "C1": "Stage C1 (asymptomatic severe MR, LV function preserved)",
        "C2": "Stage C2 (asymptomatic severe MR with LV dysfunction)",
        "D": "Stage D (symptomatic severe MR)",
        "not_applicable": "Stage not applicable", "undetermined": "Stage undetermined",
    },
    "symptom_status": {
        "symptomatic": "Symptomatic", "asymptomatic": "Asymptomatic",
        "equivocal": "Symptoms equivocal", "unknown": "Symptom status not recorded",
    },
    "surgical_risk": {
        "low": "Low", "intermediate": "Intermediate", "high": "High",
        "prohibitive": "Prohibitive",
    },
    "risk_factors": {
        "female_sex": "Female sex", "older_age": "Age 65 years or more",
        "low_body_mass": "Low body mass (BMI < 18.5 kg/m²)",
        "prior_myocardial_infarction": "Prior myocardial infarction",
        "prior_mitral_stenosis": "Prior mitral stenosis",
        "mitral_valve_prolapse": "Mitral valve prolapse",
        "renal_dysfunction": "Renal dysfunction", "marfan_syndrome": "Marfan syndrome",
        "ehlers_danlos_syndrome": "Ehlers-Danlos syndrome",
        "rheumatic_fever": "Rheumatic fever",
        "infective_endocarditis_history": "Prior infective endocarditis",
        "chest_radiation": "Chest radiation", "hypertension": "Hypertension",
    },
    # Evidence tags of a rule row's source (SPEC 0.9; guidelines.models.EvidenceTag).
    "evidence": {
        "V": "verified against the guideline text",
        "S": "secondary source only, pending clinical verification",
        "M": "from memory, unverified, pending clinical verification",
        "J": "design judgement",
    },
}  # fmt: skip

# Classes of recommendation, in both notations (ACC/AHA: 1, 2a, 2b, 3; ESC: I, IIa, IIb,
# III). ``class_rank`` puts them on one scale: 1 = I, 2a = IIa, 2b = IIb, 3 = III.
CLASS_RANKS = {
    "1": 1, "i": 1, "2a": 2, "iia": 2, "2b": 3, "iib": 3,
    "3": 4, "iii": 4, "3: no benefit": 4, "3: harm": 5,
}  # fmt: skip
CLASS_MEANINGS = {
    1: "strong: is recommended",
    2: "moderate: is reasonable / should be considered",
    3: "weak: may be considered",
    4: "no benefit / not recommended",
    5: "harm: not recommended",
}


def class_rank(value: str | None) -> int | None:
    """The strength of a class of recommendation on one scale (1 strongest), whatever
    the notation; ``None`` when there is no class."""
    if not value:
        return None
    return CLASS_RANKS.get(str(value).strip().lower())


def value_label(kind: str, value) -> str:
    """The clinical words for a result value (``value_label("mr_type", "primary")``)."""
    if value is None or value == "":
        return "not recorded"
    return VALUE_LABELS.get(kind, {}).get(str(value), str(value).replace("_", " "))


# Values the engine derives that no rule references (shown with their formula).
DERIVED_ONLY_LABELS = {
    "lvot_stroke_volume_ml": "LVOT stroke volume (mL)",
    "prior_echos": "Prior echocardiograms (serial LV studies)",
}


def parameter_label(path: str) -> str:
    """A parameter's label with its unit (``echo.eroa_cm2`` -> ``EROA (cm²)``); a
    derived value's bare name (``bsa_m2``, ``eroa_cm2``) is found too."""
    for candidate in (path, f"derived.{path}", f"echo.{path}"):
        if candidate in PARAMETERS:
            return PARAMETERS[candidate].display
    if path in DERIVED_ONLY_LABELS:
        return DERIVED_ONLY_LABELS[path]
    return path.rsplit(".", 1)[-1].replace("_", " ")
