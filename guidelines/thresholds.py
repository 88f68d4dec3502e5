"""The cut-offs a trend chart draws, read from a compiled rule set (pure, no Django).

Severe-band lower bounds (ASE 2017 quantitative parameters, the same for primary and
secondary MR in the rows of scope "all") and the stage C2 criteria (ACC/AHA Table 17:
LV dysfunction in chronic severe *primary* MR) become lines; the C2 lines are drawn for
primary MR only, so a secondary-MR patient never sees a primary-MR threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .parameters import parameter_label
from .specs import CompiledRuleSet, Leaf

SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


@dataclass(frozen=True)
class Threshold:
    parameter: str  # dotted input path, e.g. "echo.eroa_cm2"
    value: Decimal
    label: str  # "≥ 0.4 cm²: severe MR (ASE 2017)"
    source: str
    short: str = ""  # on the chart itself: "≥ 0.4 cm² severe"


def chart_thresholds(
    rule_set: CompiledRuleSet, mr_type: str | None
) -> dict[str, Threshold]:
    """One threshold per parameter for a patient of ``mr_type``."""
    found: dict[str, Threshold] = {}
    for criterion in rule_set.severity_criteria:
        if criterion.role != "band" or criterion.band != "severe":
            continue
        if criterion.scope != "all":
            continue
        leaf = next(criterion.condition.leaves())
        if isinstance(leaf, Leaf) and leaf.operator in SYMBOLS:
            found.setdefault(
                leaf.parameter,
                _threshold(leaf, "severe MR", criterion.source, "severe"),
            )
    if mr_type == "primary":
        for criterion in rule_set.stage_criteria:
            for leaf in criterion.condition.leaves():
                if (
                    isinstance(leaf, Leaf)
                    and leaf.operator in SYMBOLS
                    and not leaf.parameter.startswith("derived.")
                ):
                    found.setdefault(
                        leaf.parameter,
                        _threshold(
                            leaf,
                            "stage C2 (LV dysfunction, primary MR)",
                            criterion.source,
                            "C2",
                        ),
                    )
    return found


def _threshold(leaf: Leaf, meaning: str, source, tag: str) -> Threshold:
    unit = parameter_label(leaf.parameter)
    unit = unit[unit.rfind("(") + 1 : -1] if unit.endswith(")") else ""
    value = Decimal(str(leaf.value))
    number = format(value.normalize(), "f")
    guideline = source.guideline if source is not None else ""
    cut_off = f"{SYMBOLS[leaf.operator]} {number} {unit}".rstrip()
    label = f"{cut_off}: {meaning}" + (f" ({guideline})" if guideline else "")
    return Threshold(leaf.parameter, value, label, guideline, f"{cut_off} {tag}")
