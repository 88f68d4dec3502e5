"""Rule-set test cases: checking a result against expectations, and boundary cases
generated from the threshold rows themselves. Pure; used by the test suite and by the
publish gate (``authoring.version_check``).

An expectation (a vignette's ``expected`` narrowed to one profile) may hold:
``severity`` / ``acceptable_severity``, ``stage`` / ``acceptable_stages``, ``mr_type``,
``severity_subgrade``, ``required``, ``required_any_of``, ``must_not``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .engine import evaluate
from .grading import QUANTITATIVE
from .specs import CompiledRuleSet
from .validation import InputError, input_parse

BAND_ORDER = ("mild", "mild_to_moderate", "moderate_to_severe", "severe")
BAND_SEVERITY = {
    "mild": "mild",
    "mild_to_moderate": "moderate",
    "moderate_to_severe": "moderate",
    "severe": "severe",
}


def expectation_for_profile(expected: dict[str, Any], profile: str) -> dict[str, Any]:
    """A vignette's ``expected`` block flattened for one rule set."""
    out = {k: v for k, v in expected.items() if k not in ("profiles", "derived")}
    out.update(
        {
            k: v
            for k, v in expected.get("profiles", {}).get(profile, {}).items()
            if k in ("required", "required_any_of", "must_not", "acceptable")
        }
    )
    return out


def result_problems(result: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every way ``result`` breaks ``expected`` (empty list = pass)."""
    problems = []
    codes = [r["code"] for r in result["recommendations"]]
    severity_ok = [expected.get("severity"), *expected.get("acceptable_severity", [])]
    if "severity" in expected and result["severity"] not in severity_ok:
        problems.append(f"severity {result['severity']}, expected one of {severity_ok}")
    stage_ok = [expected.get("stage"), *expected.get("acceptable_stages", [])]
    if "stage" in expected and result["stage"] not in stage_ok:
        problems.append(f"stage {result['stage']}, expected one of {stage_ok}")
    if "mr_type" in expected and result["mr_type"] != expected["mr_type"]:
        problems.append(f"MR type {result['mr_type']}, expected {expected['mr_type']}")
    if (
        "severity_subgrade" in expected
        and result["severity"] == expected.get("severity")
        and result["severity_subgrade"] != expected["severity_subgrade"]
    ):
        problems.append(
            f"subgrade {result['severity_subgrade']}, expected {expected['severity_subgrade']}"
        )
    for code in expected.get("required", []):
        if code not in codes:
            problems.append(f"required {code} missing")
    any_of = expected.get("required_any_of") or []
    if any_of and not any(all(c in codes for c in group) for group in any_of):
        problems.append(f"none of the sets {any_of} recommended whole")
    for code in expected.get("must_not", []):
        if code in codes:
            problems.append(f"forbidden {code} recommended")
    return problems


def case_problems(
    data: dict[str, Any], expected: dict[str, Any], rule_set: CompiledRuleSet
) -> list[str]:
    try:
        clean = input_parse(data)
    except InputError as exc:
        return [f"invalid input: {exc}"]
    return result_problems(evaluate(clean, rule_set), expected)


# --- boundary cases from the threshold rows ------------------------------------------

BASE_PRIMARY = {
    "presentation": "chronic",
    "etiology": "degenerative_prolapse",
    "patient": {"age_years": 60, "sex": "male", "height_cm": 175, "weight_kg": 75},
    "symptoms": {"nyha_class": 1},
    "echo": {"lvef_pct": 65, "lvesd_mm": 35, "lvedd_mm": 55},
}
STEP = {
    "echo.eroa_cm2": Decimal("0.01"),
    "echo.regurgitant_volume_ml": Decimal(1),
    "echo.regurgitant_fraction_pct": Decimal(1),
    "echo.lvef_pct": Decimal(1),
    "echo.lvesd_mm": Decimal(1),
}


def _band_thresholds(rule_set: CompiledRuleSet) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for c in rule_set.severity_criteria:
        if c.role == "band" and c.scope == "all":
            leaf = next(c.condition.leaves())
            out.setdefault(leaf.parameter, {})[c.band] = leaf.value
    return out


def _with_echo(**values) -> dict[str, Any]:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE_PRIMARY.items()}
    for path, value in values.items():
        data["echo"][path.split(".", 1)[1]] = float(value)
    return data


def boundary_cases(
    rule_set: CompiledRuleSet,
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, input, expected) at, just below and just above every cut-off.

    Quantitative bands: two parameters placed on their own cut-off of a band agree on
    that band's grade; one step below both they agree on the band beneath. Stage rows:
    the C2 criterion at its threshold gives C2, one step on the other side C1.
    """
    return [(c.name, c.input, c.expected) for c in boundary_case_list(rule_set)]


@dataclass(frozen=True)
class BoundaryCase:
    """One generated case; ``focus`` holds the values placed on or beside a cut-off."""

    name: str
    input: dict[str, Any]
    expected: dict[str, Any]
    focus: dict[str, Decimal]


def boundary_case_list(rule_set: CompiledRuleSet) -> list[BoundaryCase]:
    """``boundary_cases`` with the values each case is about (for clinical wording)."""
    cases = []
    thresholds = _band_thresholds(rule_set)
    params = [p for p in QUANTITATIVE if p in thresholds]
    for i, first in enumerate(params):
        for second in params[i + 1 :]:
            for band in BAND_ORDER[1:]:
                if band not in thresholds[first] or band not in thresholds[second]:
                    continue
                t1, t2 = thresholds[first][band], thresholds[second][band]
                lower = BAND_ORDER[BAND_ORDER.index(band) - 1]
                at = {"severity": BAND_SEVERITY[band], "mr_type": "primary"}
                if BAND_SEVERITY[band] == "moderate":
                    at["severity_subgrade"] = band
                below = {"severity": BAND_SEVERITY[lower], "mr_type": "primary"}
                if BAND_SEVERITY[lower] == "moderate":
                    below["severity_subgrade"] = lower
                name = f"{first.split('.')[1]} {t1} + {second.split('.')[1]} {t2}"
                for label, delta, expected in (
                    (f"{name} → {band} (at)", 0, at),
                    (f"{name} minus one step → {lower} (just below)", -1, below),
                    (f"{name} plus one step → {band} (just above)", 1, dict(at)),
                ):
                    focus = {
                        first: t1 + delta * STEP[first],
                        second: t2 + delta * STEP[second],
                    }
                    cases.append(
                        BoundaryCase(label, _with_echo(**focus), expected, focus)
                    )
    severe = {
        p: thresholds[p]["severe"] + STEP[p] * 5
        for p in params
        if "severe" in thresholds[p]
    }
    for criterion in rule_set.stage_criteria:
        leaf = next(criterion.condition.leaves())
        if leaf.parameter not in STEP or leaf.operator not in ("<=", ">=", "<", ">"):
            continue
        step = STEP[leaf.parameter]
        inside = (
            leaf.value
            if leaf.operator in ("<=", ">=")
            else (leaf.value - step if leaf.operator == "<" else leaf.value + step)
        )
        outside = inside + step if leaf.operator in ("<=", "<") else inside - step
        for value, stage, where in (
            (inside, "C2", "at"),
            (outside, "C1", "other side"),
        ):
            data = _with_echo(**severe, **{leaf.parameter: value})
            cases.append(
                BoundaryCase(
                    f"{leaf.parameter} {value} → stage {stage} ({where})",
                    data,
                    {"severity": "severe", "stage": stage},
                    {leaf.parameter: value},
                )
            )
    return cases
