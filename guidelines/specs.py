"""Compiled rule sets: plain frozen dataclasses the pure engine works on.

``loaders.py`` turns database rows (or the TOML seed files) into these objects; the
engine never sees the ORM. Each object prints as its definition, and that string is what
the result's findings and the admin show.

Conditions are a small tree: a leaf compares one parameter of the closed vocabulary
(``parameters.PARAMETERS``) with a value; a node combines children with ``all``, ``any``
or ``at_least`` N. No free text, no ``eval``. Evaluation is three-valued: a leaf whose
parameter is absent is *unknown* (``None``), so a rule that needs an absent value neither
fires nor is assumed false, and its missing parameters are reported.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# The operators a condition may use. "not_recorded_as" is for exclusion criteria only:
# it holds when the value is absent or not among the listed values; an absent value is
# reported under ``missing`` so the clinician confirms the exclusion. "recorded_as" is
# for optional triggers (a sign, a planned operation): it holds only when the value is
# recorded as one of the listed values; absent is simply false, not reported missing.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": op.eq,
    "!=": op.ne,
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
    "in": lambda value, allowed: value in allowed,
    "not_in": lambda value, allowed: value not in allowed,
    "not_recorded_as": lambda value, excluded: value not in excluded,
    "recorded_as": lambda value, allowed: value in allowed,
    "includes": lambda value, code: code in value,
    "excludes": lambda value, code: code not in value,
}
ORDERING_OPERATORS = ("<", "<=", ">", ">=")
SET_OPERATORS = ("in", "not_in", "not_recorded_as", "recorded_as")
SYMBOLS = {"<=": "≤", ">=": "≥", "!=": "≠", "==": "="}


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return "{" + ", ".join(format_value(v) for v in value) + "}"
    return str(value)


@dataclass(frozen=True)
class Leaf:
    """``parameter operator value``, e.g. ``echo.lvef_pct <= 60``."""

    parameter: str
    operator: str
    value: Any
    label: str = ""  # human name of the parameter, with unit

    def __str__(self) -> str:
        return _text(self)

    def describe(self) -> str:
        name = self.label or self.parameter
        if self.operator in ("not_recorded_as", "recorded_as"):
            verb = (
                "not recorded as"
                if self.operator == "not_recorded_as"
                else "recorded as"
            )
            values = self.value if len(self.value) > 1 else self.value[0]
            return f"{name} {verb} {format_value(values)}"
        if self.operator in ("includes", "excludes"):
            return f"recommendations {self.operator} {self.value}"
        return f"{name} {SYMBOLS.get(self.operator, self.operator)} {format_value(self.value)}"

    def evaluate(self, facts: Mapping[str, Any], missing: set[str]) -> bool | None:
        actual = facts.get(self.parameter)
        if actual is None:
            if self.operator == "not_recorded_as":
                missing.add(self.parameter)
                return True
            if self.operator == "recorded_as":
                return False
            missing.add(self.parameter)
            return None
        return bool(OPERATORS[self.operator](actual, self.value))

    def leaves(self):
        yield self


@dataclass(frozen=True)
class Node:
    """``all`` / ``any`` / ``at_least`` N of the children."""

    match: str  # "all" | "any" | "at_least"
    children: tuple[Leaf | Node, ...]
    n: int = 0

    def __str__(self) -> str:
        return _text(self)

    def describe(self) -> str:
        parts = [str(c) if isinstance(c, Leaf) else f"({c})" for c in self.children]
        if self.match == "all":
            return " and ".join(parts)
        if self.match == "any":
            return " or ".join(parts)
        return f"at least {self.n} of: " + "; ".join(parts)

    def evaluate(self, facts: Mapping[str, Any], missing: set[str]) -> bool | None:
        # Short-circuits: ``missing`` is only read by callers when the result is None.
        if self.match == "all":
            unknown = False
            for child in self.children:
                result = child.evaluate(facts, missing)
                if result is False:
                    return False
                unknown = unknown or result is None
            return None if unknown else True
        if self.match == "any":
            unknown = False
            for child in self.children:
                result = child.evaluate(facts, missing)
                if result is True:
                    return True
                unknown = unknown or result is None
            return None if unknown else False
        results = [child.evaluate(facts, missing) for child in self.children]
        true, unknown = results.count(True), results.count(None)
        if true >= self.n:
            return True
        return None if true + unknown >= self.n else False

    def leaves(self):
        for child in self.children:
            yield from child.leaves()


Condition = Leaf | Node


@cache
def _text(item) -> str:
    """String forms are built once per (immutable) rule object."""
    return item.describe()


@dataclass(frozen=True)
class Source:
    guideline: str
    section: str
    citation: str
    url: str
    evidence: str  # V, S, M or J (SPEC.md evidence tags)
    verified_from: str = ""  # the text the row was read against, when not ``url``

    @property
    def pending_verification(self) -> bool:
        return self.evidence in ("M", "S")

    def as_dict(self) -> dict[str, Any]:
        return {
            "guideline": self.guideline,
            "section": self.section,
            "citation": self.citation,
            "url": self.url,
            "evidence": self.evidence,
            "verified_from": self.verified_from,
            "pending_clinical_verification": self.pending_verification,
        }


@dataclass(frozen=True)
class SeverityCriterion:
    """One row of the ASE 2017 grading tables.

    ``role`` is ``specific_mild`` / ``specific_severe`` (SPEC 1.2 lists, counted),
    ``supportive_mild`` / ``supportive_severe`` (shown, not counted) or ``band``
    (a quantitative cut-off: values at or above ``condition``'s threshold fall in
    ``band``; SPEC 1.1 and 1.4). ``scope`` ``secondary_elliptical`` marks the lower
    severe cut-offs of SPEC 1.3 step 6.
    """

    key: str
    role: str
    condition: Condition
    band: str = ""
    scope: str = "all"
    source: Source | None = None

    def __str__(self) -> str:
        return _text(self)

    def describe(self) -> str:
        target = {
            "specific_mild": "specific for mild MR",
            "specific_severe": "specific for severe MR",
            "supportive_mild": "supports mild MR",
            "supportive_severe": "supports severe MR",
        }.get(self.role, self.band.replace("_", "-"))
        scope = " (secondary MR, elliptical orifice)" if self.scope != "all" else ""
        return f"{self.condition} → {target}{scope}"


@dataclass(frozen=True)
class StageCriterion:
    """C1/C2 split of chronic severe primary MR (ACC/AHA Table 17): any met → C2."""

    key: str
    condition: Condition
    source: Source | None = None

    def __str__(self) -> str:
        return _text(self)

    def describe(self) -> str:
        return f"{self.condition} → stage C2"


@dataclass(frozen=True)
class RecommendationRule:
    """If ``condition`` holds, recommend ``code`` with this class and level.

    Rules are evaluated in ``position`` order. Within a ``group`` only the first rule
    that fires counts; a code is listed once (its first firing rule). ``kind`` is
    ``recommendation`` or ``caution`` (class 3 statements: shown under ``cautions``).
    """

    key: str
    position: int
    code: str
    title: str
    detail: str
    cor: str | None
    loe: str | None
    condition: Condition
    source: Source
    group: str = ""
    kind: str = "recommendation"

    def __str__(self) -> str:
        return _text(self)

    def describe(self) -> str:
        grade = f" (class {self.cor}, level {self.loe})" if self.cor else ""
        return f"if {self.condition} then {self.code}{grade}"


@dataclass(frozen=True)
class RuleSet:
    code: str
    title: str
    version: str
    content_hash: str
    severity_criteria: tuple[SeverityCriterion, ...]
    stage_criteria: tuple[StageCriterion, ...]
    rules: tuple[RecommendationRule, ...]
    version_id: int | None = None
    notes: tuple[str, ...] = field(default=())

    def header(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "version": self.version,
            "content_hash": self.content_hash,
        }
