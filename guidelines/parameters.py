"""The closed vocabulary that rule conditions may reference.

Every contract input field (``vocabulary.INPUT_FIELDS``, by dotted path) plus the facts
the engine derives before rules run (MR type, grade, stage, symptom status, derived
measurements, ...). A rule row naming anything else is refused when it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# The result vocabulary and the recommendation codes are declared in ``vocabulary``;
# the rule modules read them from here with the parameters.
from .vocabulary import (
    BANDS as BANDS,
)
from .vocabulary import (
    CLASS_MEANINGS as CLASS_MEANINGS,
)
from .vocabulary import (
    CONTRACT_CODES,
    EXTRA_CODES,
    INPUT_FIELDS,
    MR_TYPES,
    RISK_CATEGORIES,
    SEVERITIES,
    STAGES,
    SUBGRADES,
    SYMPTOM_STATUSES,
    Kind,
)
from .vocabulary import (
    INTERVENTION_CODES as INTERVENTION_CODES,
)
from .vocabulary import (
    VALUE_LABELS as VALUE_LABELS,
)
from .vocabulary import (
    class_rank as class_rank,
)
from .vocabulary import (
    value_label as value_label,
)


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
    _derived(
        "surgical_risk",
        Kind.CHOICE,
        "Surgical risk (given or derived)",
        choices=RISK_CATEGORIES,
    ),
    _derived(
        "severe_specific_count",
        Kind.INTEGER,
        "Criteria specific for severe MR met",
        lo=0,
        hi=10,
    ),
    _derived(
        "mild_specific_count",
        Kind.INTEGER,
        "Criteria specific for mild MR met",
        lo=0,
        hi=10,
    ),
    _derived(
        "lv_progression_serial",
        Kind.BOOLEAN,
        "Progressive LV dilation or EF decline on ≥3 serial studies",
    ),
    _derived(
        "echo_recorded",
        Kind.BOOLEAN,
        "Any echocardiographic measurement or sign recorded",
    ),
    _derived("derived.bsa_m2", Kind.DECIMAL, "BSA (Mosteller)", "m²", lo=0, hi=5),
    _derived("derived.bmi_kg_m2", Kind.DECIMAL, "BMI", "kg/m²", lo=0, hi=200),
    _derived(
        "derived.lvesd_index_mm_m2", Kind.DECIMAL, "LVESD index", "mm/m²", lo=0, hi=100
    ),
    _derived(
        "derived.tricuspid_annulus_index_mm_m2",
        Kind.DECIMAL,
        "Tricuspid annulus index",
        "mm/m²",
        lo=0,
        hi=100,
    ),
    _derived(
        "recommendations",
        Kind.CHOICE,
        "Recommendations so far",
        choices=CONTRACT_CODES + EXTRA_CODES,
    ),
)

PARAMETERS: dict[str, Parameter] = {
    **_input_parameters(),
    **{p.name: p for p in DERIVED_PARAMETERS},
}


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
