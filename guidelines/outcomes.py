"""What a draft changes for patients, in clinical words (SPEC 0.14 p). Pure.

The publication gate runs the same inputs through a draft and through a reference (the
published version, the shipped data file) and lists every case whose outcome differs:
severity, stage, MR type, each recommendation or caution added or removed, and each
class or level that changed. A case reads like a patient ("LVESD 40 mm, asymptomatic
severe primary MR"), a change like a clinician would say it ("stage C2 → C1; Mitral valve
surgery (Class 1, Level B-NR) no longer recommended").

Boundary cases come from the reference's own thresholds, so a threshold the draft moved
shows up as a changed outcome at the reference's cut-off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .engine import evaluate
from .specs import RuleSet
from .testing import boundary_case_list
from .validation import InputError, input_parse
from .vocabulary import FIELDS_BY_PATH

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
        title = rec.get("title") or code
        for key, label in (("class", "Class"), ("level", "Level")):
            if (was.get(key) or "") != (rec.get(key) or ""):
                changes.append(
                    f"{title}: {label} {was.get(key) or 'none'} → "
                    f"{rec.get(key) or 'none'}"
                )
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
        old.get("cautions", []), new.get("cautions", []), "cautioned against"
    )
    return changes


def boundary_gate_cases(rule_set: RuleSet) -> list[GateCase]:
    """The reference's boundary cases, each labelled by the values on its cut-off."""
    return [
        GateCase(", ".join(value_text(p, v) for p, v in c.focus.items()), c.input,
                 dict(c.focus))
        for c in boundary_case_list(rule_set)
    ]  # fmt: skip


def change_id(reference: str, data: dict[str, Any], changes: Iterable[str]) -> str:
    blob = json.dumps([reference, data, list(changes)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def outcome_changes(
    *, cases: Iterable[GateCase], draft: RuleSet, reference: RuleSet, label: str
) -> list[OutcomeChange]:
    """Every case whose outcome under ``draft`` differs from that under ``reference``
    (an input that either refuses is skipped: the checks report invalid inputs)."""
    found: list[OutcomeChange] = []
    seen: set[str] = set()
    for case in cases:
        try:
            clean = input_parse(case.input)
        except InputError:
            continue
        old = evaluate(clean, reference)
        changes = outcome_differences(old, evaluate(clean, draft))
        if not changes:
            continue
        ident = change_id(label, case.input, changes)
        if ident in seen:
            continue
        seen.add(ident)
        found.append(
            OutcomeChange(
                ident, label, f"{case.label}, {patient_words(old)}", tuple(changes)
            )
        )
    return found
