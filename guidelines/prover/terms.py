"""The terms of the translation: facts, the three-valued truth of a rule condition.

A fact is a pair *(recorded, value)*; a choice is the index of its value, a decimal an
exact rational. A condition gives two formulas, *true* and *false* (Kleene logic);
neither means unknown, a needed value being absent (docs/guideline.md section 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from ..parameters import PARAMETERS
from ..specs import Leaf
from ..vocabulary import Kind


def choices_of(name: str) -> tuple[Any, ...]:
    return PARAMETERS[name].choices


def index_of(name: str, value: Any) -> int:
    return choices_of(name).index(value)


def number(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


@dataclass(frozen=True)
class Fact:
    """One fact: whether it is recorded (known) and its value."""

    present: z3.BoolRef
    value: z3.ExprRef
    kind: Kind


def known(value: z3.ExprRef, kind: Kind) -> Fact:
    return Fact(z3.BoolVal(True), value, kind)


class View(dict):
    """Fact name → ``Fact``: what one evaluation knows (the engine's ``facts``)."""


# --- three-valued conditions ---------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    true: z3.BoolRef
    false: z3.BoolRef


def constant(name: str, value: Any) -> z3.ExprRef:
    kind = PARAMETERS[name].kind
    if kind is Kind.BOOLEAN:
        return z3.BoolVal(bool(value))
    if kind is Kind.CHOICE:
        return z3.IntVal(index_of(name, value))
    if kind is Kind.INTEGER:
        return z3.IntVal(int(value))
    return z3.RealVal(number(value))


def leaf_truth(leaf: Leaf, view: View, codes) -> Truth:
    """``codes(code)``: (``includes code`` holds, ``excludes code`` holds) for the
    codes recommended before this row."""
    op = leaf.operator
    if op in ("includes", "excludes"):
        includes, excludes = codes(leaf.value)
        true = includes if op == "includes" else excludes
        return Truth(true, z3.Not(true))
    fact = view[leaf.parameter]
    if op in ("in", "not_in", "not_recorded_as", "recorded_as"):
        member = z3.Or([fact.value == constant(leaf.parameter, v) for v in leaf.value])
        if op == "in":
            return Truth(
                z3.And(fact.present, member), z3.And(fact.present, z3.Not(member))
            )
        if op == "not_in":
            return Truth(
                z3.And(fact.present, z3.Not(member)), z3.And(fact.present, member)
            )
        if op == "recorded_as":
            true = z3.And(fact.present, member)
            return Truth(true, z3.Not(true))
        false = z3.And(fact.present, member)
        return Truth(z3.Not(false), false)
    value = constant(leaf.parameter, leaf.value)
    holds = {
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op](fact.value, value)
    return Truth(z3.And(fact.present, holds), z3.And(fact.present, z3.Not(holds)))


def leaves(condition) -> list[Leaf]:
    """The leaves of a condition tree, in order (read from its data shape)."""
    if isinstance(condition, Leaf):
        return [condition]
    return [leaf for child in condition.children for leaf in leaves(child)]


def reads(rule) -> frozenset[str]:
    return frozenset(leaf.parameter for leaf in leaves(rule.condition))


def no_codes(code: str) -> tuple[z3.BoolRef, z3.BoolRef]:
    return z3.BoolVal(False), z3.BoolVal(True)


def truth(condition, view: View, codes=no_codes) -> Truth:
    if isinstance(condition, Leaf):
        return leaf_truth(condition, view, codes)
    parts = [truth(c, view, codes) for c in condition.children]
    if condition.match == "all":
        return Truth(z3.And([p.true for p in parts]), z3.Or([p.false for p in parts]))
    if condition.match == "any":
        return Truth(z3.Or([p.true for p in parts]), z3.And([p.false for p in parts]))
    n = condition.n
    true_count = z3.Sum([z3.If(p.true, 1, 0) for p in parts])
    open_count = z3.Sum([z3.If(p.false, 0, 1) for p in parts])
    return Truth(true_count >= n, open_count < n)


def enum(name: str, value: str) -> z3.ArithRef:
    return z3.IntVal(index_of(name, value))


def is_value(fact: Fact, name: str, *values: str) -> z3.BoolRef:
    return z3.And(fact.present, z3.Or([fact.value == enum(name, v) for v in values]))


def is_true(fact: Fact) -> z3.BoolRef:
    return z3.And(fact.present, fact.value)


def larger(a, b):
    return z3.If(a >= b, a, b)
