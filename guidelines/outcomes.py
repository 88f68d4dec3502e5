"""What a draft changes for patients, in clinical words (SPEC 0.14 p). Pure.

The publication gate runs the same inputs through a draft and through a reference (the
published version, the shipped data file) and lists every case whose outcome differs:
severity, stage, MR type, each recommendation, conditional recommendation or caution
added or removed, and each class or level that changed. A case reads like a patient ("LVESD 40 mm, asymptomatic
severe primary MR"), a change like a clinician would say it ("stage C2 → C1; Mitral valve
surgery (Class 1, Level B-NR) no longer recommended").

Boundary cases come from the reference's own thresholds, so a threshold the draft moved
shows up as a changed outcome at the reference's cut-off. Besides the generated
severity-band and stage boundary cases, every numeric threshold of the reference's
recommendation rows is probed on each vignette: the value placed on the cut-off and one
step beyond it (``threshold_gate_cases``). Cases with the same cut-off value, the same
reading and the same changes are listed once, naming the vignettes they came from.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .engine import evaluate
from .expectations import boundary_case_list
from .specs import CompiledRuleSet, Leaf
from .validation import InputError, input_parse
from .vocabulary import FIELDS_BY_PATH, Kind

SHORT_LABELS = {
    "echo.eroa_cm2": "EROA",
    "echo.regurgitant_volume_ml": "regurgitant volume",
    "echo.regurgitant_fraction_pct": "regurgitant fraction",
    "echo.lvef_pct": "LVEF",
    "echo.lvesd_mm": "LVESD",
}


@dataclass(frozen=True)
class GateCase:
    """One input the gate runs: ``label`` names it clinically, ``focus`` the values on
    or beside a cut-off (empty for a vignette)."""

    label: str
    input: dict[str, Any]
    focus: dict[str, Decimal]
    base: str = ""  # the vignette a threshold probe was placed on


@dataclass(frozen=True)
class OutcomeChange:
    """One case whose outcome differs between the reference and the draft."""

    id: str  # stable for the same reference, input and changes
    reference: str  # "published version 2020.1"
    case: str  # "LVESD 40 mm, asymptomatic severe primary MR"
    changes: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.case}: {'; '.join(self.changes)}"

    def as_record(self, reason: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "case": self.case,
            "changes": list(self.changes),
            "text": self.text,
            "reason": reason,
        }


def value_text(parameter: str, value: Decimal) -> str:
    field = FIELDS_BY_PATH.get(parameter)
    label = SHORT_LABELS.get(parameter) or (field.label if field else parameter)
    unit = field.unit if field else ""
    number = format(value.normalize(), "f") if isinstance(value, Decimal) else value
    if unit in ("%",):
        return f"{label} {number}%"
    return f"{label} {number} {unit}".rstrip()


def _grade(severity: str | None, subgrade: str | None) -> str:
    if not severity:
        return "not graded"
    if severity == "moderate" and subgrade:
        return subgrade.replace("_", "-")
    return severity.replace("_", " ")


def patient_words(result: dict[str, Any]) -> str:
    """The reference's reading of the case: "asymptomatic severe primary MR"."""
    words = []
    symptoms = result.get("symptom_status")
    if symptoms and symptoms != "unknown":
        words.append(symptoms.replace("_", " "))
    words.append(_grade(result.get("severity"), result.get("severity_subgrade")))
    mr_type = result.get("mr_type")
    if mr_type and mr_type != "undetermined":
        words.append(mr_type.replace("_", " "))
    return " ".join(words) + " MR"


def _class_text(rec: dict[str, Any]) -> str:
    parts = []
    if rec.get("class"):
        parts.append(f"Class {rec['class']}")
    if rec.get("level"):
        parts.append(f"Level {rec['level']}")
    return f" ({', '.join(parts)})" if parts else ""


def _recommendation_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]], what: str
) -> list[str]:
    before = {r["code"]: r for r in old}
    after = {r["code"]: r for r in new}
    changes = []
    for code, rec in before.items():
        if code not in after:
            title = rec.get("title") or code
            changes.append(f"{title}{_class_text(rec)} no longer {what}")
    for code, rec in after.items():
        if code not in before:
            changes.append(f"now {what}: {rec.get('title') or code}{_class_text(rec)}")
            continue
        was = before[code]
        title, old_title = rec.get("title") or code, was.get("title") or code
        grades = [
            f"{label} {was.get(key) or 'none'} → {rec.get(key) or 'none'}"
            for key, label in (("class", "Class"), ("level", "Level"))
            if (was.get(key) or "") != (rec.get(key) or "")
        ]
        if not grades:
            continue
        if old_title != title:  # another rule of the same code now applies
            changes.append(f"{old_title}{_class_text(was)} → {title}{_class_text(rec)}")
        else:
            changes.append(f"{title}: {', '.join(grades)}")
    return changes


def outcome_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every clinically meaningful difference from result ``old`` to ``new``."""
    changes = []
    old_grade = _grade(old.get("severity"), old.get("severity_subgrade"))
    new_grade = _grade(new.get("severity"), new.get("severity_subgrade"))
    if old_grade != new_grade:
        changes.append(f"severity {old_grade} → {new_grade}")
    if old.get("stage") != new.get("stage"):
        changes.append(
            f"stage {old.get('stage') or 'none'} → {new.get('stage') or 'none'}"
        )
    if old.get("mr_type") != new.get("mr_type"):
        changes.append(
            f"MR type {old.get('mr_type') or 'none'} → {new.get('mr_type') or 'none'}"
        )
    changes += _recommendation_changes(
        old.get("recommendations", []), new.get("recommendations", []), "recommended"
    )
    changes += _recommendation_changes(
        old.get("conditional", []),
        new.get("conditional", []),
        "conditional (would apply if a missing value were recorded)",
    )
    changes += _recommendation_changes(
        old.get("cautions", []), new.get("cautions", []), "cautioned against"
    )
    return changes


def boundary_gate_cases(rule_set: CompiledRuleSet) -> list[GateCase]:
    """The reference's boundary cases, each labelled by the values on its cut-off."""
    return [
        GateCase(
            ", ".join(value_text(p, v) for p, v in c.focus.items()),
            c.input,
            dict(c.focus),
        )
        for c in boundary_case_list(rule_set)
    ]


def _step(parameter: str, value: Decimal) -> Decimal:
    """One step beside a cut-off: 1 for whole numbers, else the cut-off's last digit
    (1.35 → 0.01)."""
    if FIELDS_BY_PATH[parameter].kind is Kind.INTEGER:
        return Decimal(1)
    exponent = value.normalize().as_tuple().exponent
    return Decimal(1).scaleb(min(int(exponent), 0))


def _with_value(data: dict[str, Any], parameter: str, value: Decimal) -> dict[str, Any]:
    out = copy.deepcopy(data)
    section, name = parameter.split(".", 1)
    kind = FIELDS_BY_PATH[parameter].kind
    out.setdefault(section, {})[name] = (
        int(value) if kind is Kind.INTEGER else float(value)
    )
    return out


def rule_thresholds(rule_set: CompiledRuleSet) -> list[tuple[str, str, Decimal]]:
    """Every numeric cut-off on an input field in the rule set's recommendation rows."""
    found = set()
    for rule in rule_set.rules:
        for leaf in rule.condition.leaves():
            if not isinstance(leaf, Leaf) or leaf.operator not in (
                "<",
                "<=",
                ">",
                ">=",
            ):
                continue
            field = FIELDS_BY_PATH.get(leaf.parameter)
            if field is None or field.kind not in (Kind.DECIMAL, Kind.INTEGER):
                continue
            found.add((leaf.parameter, leaf.operator, Decimal(leaf.value)))
    return sorted(found)


def threshold_gate_cases(
    rule_set: CompiledRuleSet, bases: Iterable[GateCase]
) -> list[GateCase]:
    """Each vignette with each rule cut-off's value placed on it and one step beyond
    (outside the condition), the values within the field's plausible range."""
    bases = list(bases)
    cases = []
    for parameter, operator, value in rule_thresholds(rule_set):
        field = FIELDS_BY_PATH[parameter]
        step = _step(parameter, value)
        inside = (
            value
            if operator in ("<=", ">=")
            else (value - step if operator == "<" else value + step)
        )
        outside = inside + step if operator in ("<=", "<") else inside - step
        for probe in (inside, outside):
            if (field.minimum is not None and probe < field.minimum) or (
                field.maximum is not None and probe > field.maximum
            ):
                continue
            for base in bases:
                cases.append(
                    GateCase(
                        value_text(parameter, probe),
                        _with_value(base.input, parameter, probe),
                        {parameter: probe},
                        base=base.label.removeprefix("vignette "),
                    )
                )
    return cases


def change_id(reference: str, key: Any) -> str:
    blob = json.dumps([reference, key], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# Outcome summaries by (rule-set content hash, input): a rule set with a given content
# gives the same outcome for the same input, so the publish page and the publication
# that follows it evaluate each case once per process.
_SUMMARIES: dict[tuple[str, str], dict[str, Any] | None] = {}
_SUMMARIES_MAX = 50_000


def outcome_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The parts of a result the gate compares (and ``patient_words`` reads)."""

    def recs(items):
        return [
            {k: r.get(k) for k in ("code", "title", "class", "level")} for r in items
        ]

    return {
        **{
            k: result.get(k)
            for k in (
                "severity",
                "severity_subgrade",
                "stage",
                "mr_type",
                "symptom_status",
            )
        },
        "recommendations": recs(result.get("recommendations", [])),
        "conditional": recs(result.get("conditional", [])),
        "cautions": recs(result.get("cautions", [])),
    }


def _summary(rule_set: CompiledRuleSet, key: str, data: dict[str, Any], data_key: str):
    cache_key = (key, data_key)
    if key and cache_key in _SUMMARIES:
        return _SUMMARIES[cache_key]
    try:
        summary = outcome_summary(evaluate(input_parse(data), rule_set))
    except InputError:
        summary = None
    if key:
        if len(_SUMMARIES) >= _SUMMARIES_MAX:
            _SUMMARIES.clear()
        _SUMMARIES[cache_key] = summary
    return summary


def outcome_changes(
    *,
    cases: Iterable[GateCase],
    draft: CompiledRuleSet,
    reference: CompiledRuleSet,
    label: str,
    draft_key: str = "",
    reference_key: str = "",
) -> list[OutcomeChange]:
    """Every case whose outcome under ``draft`` differs from that under ``reference``
    (an input that either refuses is skipped: the checks report invalid inputs).
    ``draft_key`` / ``reference_key``: the rule sets' content hashes, to reuse
    outcomes already computed in this process (empty: no reuse).

    Probes with the same label, reading and changes are one change naming their
    vignettes ("LVESD 40 mm (on MR-005, MR-027), asymptomatic severe primary MR: ...").
    """
    merged: dict[tuple[str, str, tuple[str, ...], bool], list[str]] = {}
    for case in cases:
        data_key = json.dumps(case.input, sort_keys=True, default=str)
        old = _summary(reference, reference_key, case.input, data_key)
        new = _summary(draft, draft_key, case.input, data_key)
        if old is None or new is None:
            continue
        changes = tuple(outcome_differences(old, new))
        if not changes:
            continue
        key = (case.label, patient_words(old), changes, bool(case.base))
        bases = merged.setdefault(key, [])
        if case.base and case.base not in bases:
            bases.append(case.base)
    found = []
    for (case_label, words, changes, _), bases in merged.items():
        where = f" (on {', '.join(bases)})" if bases else ""
        found.append(
            OutcomeChange(
                change_id(label, [case_label, words, changes, bases]),
                label,
                f"{case_label}{where}, {words}",
                changes,
            )
        )
    return found
