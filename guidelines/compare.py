"""Compare two rule-set documents rule by rule. Pure: plain dicts in, dataclasses out.

Rows are matched by ``key`` within their table (severity criteria, stage criteria,
recommendation rules, added codes). A row only in the new document is *added*, only in
the old one *removed*; a row in both with any differing field is *changed*, and each
differing field is listed with its old and new value side by side. Conditions are shown
as their readable text (``echo.eroa_cm2 ≥ 0.40``), so a moved threshold reads as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .conditions import ConditionError, condition_parse

TABLES = (
    ("severity", "Severity criteria"),
    ("stage", "Stage criteria"),
    ("rule", "Recommendation rules"),
    ("codes", "Recommendation codes"),
)
# Fields shown per table, in reading order ("if ... then ..." then provenance).
FIELDS = {
    "severity": ("when", "role", "band", "scope", "position"),
    "stage": ("when", "position"),
    "rule": (
        "when",
        "code",
        "class",
        "level",
        "title",
        "detail",
        "group",
        "kind",
        "position",
    ),
    "codes": ("title",),
}
SOURCE_FIELDS = ("guideline", "section", "citation", "url", "evidence")
HEADER_FIELDS = ("title", "guideline", "citation", "url", "notes")
LABELS = {"when": "condition", "class": "class", "level": "level"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class RowDifference:
    table: str
    key: str
    status: str  # "added" | "removed" | "changed"
    summary: str  # the row as "if ... then ..." (new row, or the removed one)
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Comparison:
    header: tuple[FieldChange, ...] = ()
    rows: tuple[RowDifference, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.header and not self.rows

    def by_table(self) -> list[tuple[str, list[RowDifference]]]:
        return [
            (label, [d for d in self.rows if d.table == table])
            for table, label in TABLES
            if any(d.table == table for d in self.rows)
        ]


def condition_display(data: Any) -> str:
    try:
        return str(condition_parse(data))
    except ConditionError as exc:
        return f"invalid: {exc}"


def _display(name: str, value: Any) -> str:
    if name == "when":
        return condition_display(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


SEVERITY_OUTCOMES = {
    "specific_mild": "counts towards mild MR (specific sign)",
    "specific_severe": "counts towards severe MR (specific sign)",
    "supportive_mild": "supports mild MR (shown, not counted)",
    "supportive_severe": "supports severe MR (shown, not counted)",
}
RULE_KINDS = {
    "caution": "caution: ",
    "conditional": "would apply once its prerequisite is done: ",
}


def row_summary(table: str, row: dict[str, Any]) -> str:
    """A row as one line in clinical words: ``if <condition> then <outcome>``."""
    if table == "codes":
        return f"{row['code']}: {row.get('title', '')}"
    condition = condition_display(row.get("when"))
    if table == "severity":
        role = str(row.get("role", ""))
        outcome = (
            f"{row.get('band', '').replace('_', '-')} MR (quantitative cut-off)"
            if role == "band"
            else SEVERITY_OUTCOMES.get(role, role.replace("_", " "))
        )
    elif table == "stage":
        outcome = "stage C2"
    else:
        grade = ", ".join(
            f"{name} {row[field]}"
            for field, name in (("class", "Class"), ("level", "Level"))
            if row.get(field)
        )
        title = row.get("title") or row.get("code", "")
        kind = RULE_KINDS.get(row.get("kind", ""), "")
        outcome = f"{kind}{title}" + (f" ({grade})" if grade else "")
    return f"if {condition} then {outcome}"


def _same(name: str, a: Any, b: Any) -> bool:
    """Equal values; conditions compare as parsed trees, so 0.4 equals 0.40."""
    if name == "when":
        try:
            return condition_parse(a) == condition_parse(b)
        except ConditionError:
            return a == b
    return _display(name, a) == _display(name, b)


def _rows(doc: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    key = "code" if table == "codes" else "key"
    return {row[key]: row for row in doc.get(table, [])}


def documents_compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """Every difference from ``old`` to ``new`` (both canonical rule-set documents)."""
    header = tuple(
        FieldChange(name, _display(name, a), _display(name, b))
        for name in HEADER_FIELDS
        if (a := old.get("ruleset", {}).get(name))
        != (b := new.get("ruleset", {}).get(name))
    )
    rows: list[RowDifference] = []
    for table, _ in TABLES:
        before, after = _rows(old, table), _rows(new, table)
        names = FIELDS[table] + (SOURCE_FIELDS if table != "codes" else ())
        for key, row in after.items():
            if key not in before:
                rows.append(RowDifference(table, key, "added", row_summary(table, row)))
                continue
            changes = tuple(
                FieldChange(
                    LABELS.get(name, name),
                    _display(name, before[key].get(name)),
                    _display(name, row.get(name)),
                )
                for name in names
                if not _same(name, before[key].get(name), row.get(name))
            )
            if changes:
                rows.append(
                    RowDifference(
                        table, key, "changed", row_summary(table, row), changes
                    )
                )
        for key, row in before.items():
            if key not in after:
                rows.append(
                    RowDifference(table, key, "removed", row_summary(table, row))
                )
    counts = {
        status: sum(1 for d in rows if d.status == status)
        for status in ("added", "removed", "changed")
    }
    return Comparison(header=header, rows=tuple(rows), counts=counts)
