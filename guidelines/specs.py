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
from decimal import Decimal
from functools import cached_property
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
        return self.text

    @cached_property
    def text(self) -> str:
        """The string form, built once per (immutable) object."""
        return self.describe()

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
        """True, False, or None (unknown: the value is absent; it is added to
        ``missing``). ``not_recorded_as`` holds when absent, still adding it."""
        return self.test(facts, missing)

    @cached_property
    def test(self) -> Callable[[Mapping[str, Any], set[str]], bool | None]:
        """``evaluate`` as one closure, built once per leaf (the engine's hot path)."""
        name, value, operator = self.parameter, self.value, self.operator
        if operator == "not_recorded_as":

            def test(facts, missing):
                actual = facts.get(name)
                if actual is None:
                    missing.add(name)
                    return True
                return actual not in value

        elif operator == "recorded_as":

            def test(facts, missing):
                actual = facts.get(name)
                return actual is not None and actual in value

        elif operator == "==":

            def test(facts, missing):
                actual = facts.get(name)
                if actual is None:
                    missing.add(name)
                    return None
                return actual == value

        elif operator == "in":

            def test(facts, missing):
                actual = facts.get(name)
                if actual is None:
                    missing.add(name)
                    return None
                return actual in value

        else:
            compare = OPERATORS[operator]

            def test(facts, missing):
                actual = facts.get(name)
                if actual is None:
                    missing.add(name)
                    return None
                return bool(compare(actual, value))

        return test

    def leaves(self):
        return iter(self.all_leaves)

    @cached_property
    def all_leaves(self) -> tuple[Leaf, ...]:
        return (self,)

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        """The parameters the condition reads, in reading order, each once."""
        return (self.parameter,)


@dataclass(frozen=True)
class Node:
    """``all`` / ``any`` / ``at_least`` N of the children."""

    match: str  # "all" | "any" | "at_least"
    children: tuple[Leaf | Node, ...]
    n: int = 0

    def __str__(self) -> str:
        return self.text

    @cached_property
    def text(self) -> str:
        """The string form, built once per (immutable) object."""
        return self.describe()

    def describe(self) -> str:
        parts = [str(c) if isinstance(c, Leaf) else f"({c})" for c in self.children]
        if self.match == "all":
            return " and ".join(parts)
        if self.match == "any":
            return " or ".join(parts)
        return f"at least {self.n} of: " + "; ".join(parts)

    def evaluate(self, facts: Mapping[str, Any], missing: set[str]) -> bool | None:
        """Three-valued (Kleene) all / any / at-least-N of the children."""
        return self.test(facts, missing)

    @cached_property
    def test(self) -> Callable[[Mapping[str, Any], set[str]], bool | None]:
        """``evaluate`` as one function, compiled once per node (the hot path)."""
        if self.match == "at_least":
            tests = tuple(child.test for child in self.children)
            n = self.n

            def test(facts, missing):
                results = [child(facts, missing) for child in tests]
                true = results.count(True)
                if true >= n:
                    return True
                return None if true + results.count(None) >= n else False

            return test
        return compile_node(self)

    def leaves(self):
        return iter(self.all_leaves)

    @cached_property
    def all_leaves(self) -> tuple[Leaf, ...]:
        return tuple(leaf for child in self.children for leaf in child.leaves())

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        """The parameters the condition reads, in reading order, each once."""
        return tuple(dict.fromkeys(leaf.parameter for leaf in self.all_leaves))


def in_reading_order(condition: Leaf | Node, names) -> tuple[str, ...]:
    """``names`` (the parameters an evaluation found absent, a set) in the order the
    condition reads them, so that what is reported does not depend on set order."""
    return tuple([name for name in condition.parameters if name in names])


Condition = Leaf | Node


def specialise(
    condition: Condition, known: Mapping[str, Any], *, top: bool = True
) -> Condition | bool:
    """``condition`` with the leaves on ``known`` facts decided (facts every evaluation
    has before the rules run, never absent): ``True``/``False`` when that decides it,
    else a smaller condition giving the same result *and* reporting the same absent
    values for any other facts. So a nested node is decided only when nothing before
    its deciding child could report an absent value (``all`` stops at a false child,
    ``any`` at a true one, and what the children before it reported stays reported);
    the whole condition (``top``) may be decided whatever came before."""
    if isinstance(condition, Leaf):
        if known.get(condition.parameter) is None:
            return condition
        return bool(condition.test(known, set()))
    if condition.match == "at_least":
        children, n = [], condition.n
        for child in condition.children:
            value = specialise(child, known, top=False)
            if value is True:
                n -= 1
            elif value is not False:
                children.append(value)
        if not children or (top and (n <= 0 or len(children) < n)):
            return n <= 0
        return Node("at_least", tuple(children), n)  # every child is still read
    stop = condition.match == "any"  # the child value that decides the node
    children = []
    for child in condition.children:
        value = specialise(child, known, top=False)
        if value is not stop and value is not (not stop):
            children.append(value)
        elif value is stop:
            if top or not children:
                return stop
            children.append(child)  # decides at run time, after those before it
            break
    if not children:
        return not stop
    if len(children) == 1:
        return children[0]
    return Node(condition.match, tuple(children))


def always(value: bool) -> Callable[[Mapping[str, Any], set[str]], bool]:
    return lambda facts, missing: value


# --- conditions compiled to Python functions --------------------------------------------
#
# An ``all`` / ``any`` node becomes one function whose body tests each child in turn,
# with Kleene's three-valued logic: a leaf whose value is absent is unknown (its name goes
# into ``missing``), ``all`` is false at its first false child and unknown if any child
# was, ``any`` mirrors it. A call per leaf costs more than the test itself, so the leaves
# are written inline. Only names made here and operators from the closed table below
# enter the source; parameter names and values are bound as variables (``p0``, ``v0``),
# never written into it. ``at_least`` nodes and nested nodes are called as functions.
# ``inline_condition`` writes the same tests as statements for the larger generated
# functions (the grading's reading, a rule set's recommendation pass), on parameters
# read once into locals, nested ``all`` / ``any`` nodes included (only ``at_least`` is
# called); ``FunctionSource`` holds such a function's bound names.
#
# For example ``{all = [["severity", "==", "severe"], ["echo.lvef_pct", "<=", 60]]}``:
#
#     def test(facts, missing):
#         get = facts.get
#         unknown = False
#         value = get(p0)
#         if value is None:
#             missing.add(p0)
#             unknown = True
#         elif not (value == v0):
#             return False
#         value = get(p1)
#         ...
#         return None if unknown else True

COMPARISONS = {
    "==": "{x} == {v}",
    "!=": "{x} != {v}",
    "<": "{x} < {v}",
    "<=": "{x} <= {v}",
    ">": "{x} > {v}",
    ">=": "{x} >= {v}",
    "in": "{x} in {v}",
    "not_in": "{x} not in {v}",
    "includes": "{v} in {x}",
    "excludes": "{v} not in {x}",
}


def compile_node(node: Node) -> Callable[[Mapping[str, Any], set[str]], bool | None]:
    """One function testing ``node`` exactly as the closures of ``Leaf.test`` would."""
    is_all = node.match == "all"
    stop = "False" if is_all else "True"  # the child value that decides the node
    names: dict[str, Any] = {}
    lines = ["def test(facts, missing):", "    get = facts.get", "    unknown = False"]

    def bind(prefix: str, value: Any) -> str:
        name = f"{prefix}{len(names)}"
        names[name] = value
        return name

    for child in node.children:
        if isinstance(child, Node):
            f = bind("n", child.test)
            lines += [
                f"    result = {f}(facts, missing)",
                f"    if result is {stop}:",
                f"        return {stop}",
                "    if result is None:",
                "        unknown = True",
            ]
            continue
        p, v = bind("p", child.parameter), bind("v", child.value)
        lines.append(f"    value = get({p})")
        if child.operator == "recorded_as":  # absent is false, not unknown
            test = f"value is not None and value in {v}"
            lines += [
                f"    if {'not ' if is_all else ''}({test}):",
                f"        return {stop}",
            ]
            continue
        if child.operator == "not_recorded_as":  # absent holds, reported
            lines += ["    if value is None:", f"        missing.add({p})"]
            if not is_all:
                lines.append("        return True")
            holds = f"value not in {v}"
        else:
            lines += [
                "    if value is None:",
                f"        missing.add({p})",
                "        unknown = True",
            ]
            holds = COMPARISONS[child.operator].format(x="value", v=v)
        lines += [
            f"    elif {'not ' if is_all else ''}({holds}):",
            f"        return {stop}",
        ]
    lines.append(f"    return None if unknown else {'True' if is_all else 'False'}")
    source = "\n".join(lines)
    exec(compile(source, f"<condition {node.match}>", "exec"), names)  # noqa: S102
    return names["test"]


def inline_condition(
    condition: Condition,
    value_of: Callable[[str], str],
    bind: Callable[[str, Any], str],
    missing: str,
    *,
    report: bool = True,
) -> list[str]:
    """Statements (not indented) that set ``result`` to ``condition``'s three-valued
    test, for a function that holds each parameter's value in a local variable already
    (``value_of(parameter)`` names it) instead of reading it from the facts.

    Used by the compiled passes (the grading's sign rows, a rule set's recommendation
    pass): they read each parameter once and test every row on the locals. ``missing``
    names the set the absent parameters go into, exactly as ``Leaf.test`` and
    ``compile_node`` add them (``all`` stops at its first false child, ``any`` at its
    first true one); with ``report`` false the leaves add nothing (nobody reads it). A
    nested ``all`` / ``any`` node is written inline too, on locals of its own depth
    (``pending1``, ``unknown1``, its result in ``nested1``), testing its children in
    the same order and stopping at the same child as its compiled function would; an
    ``at_least`` node is called as its compiled function (on ``facts``, adding to
    ``missing``). ``bind`` gives the name a parameter name or value is bound to: none
    is written into the source.
    """
    if isinstance(condition, Leaf):
        return _leaf_lines(condition, value_of, bind, report and missing, "result")
    if condition.match == "at_least":
        f = bind("n", condition.test)
        return [f"result = {f}(facts, {missing})"]
    return _node_lines(condition, value_of, bind, missing, report, 0, "result")


def holds_expression(
    condition: Condition | bool,
    value_of: Callable[[str], str],
    bind: Callable[[str, Any], str],
) -> str:
    """A Python expression, on the locals ``value_of`` names, that is true exactly when
    ``condition``'s three-valued test is True (not False, not unknown), for a caller
    that reports no absent value. Three-valued ``all`` is True when every child is
    True and ``any`` when some child is, so the expression is the children's own
    expressions joined by ``and`` / ``or``; a leaf is True when its value is recorded
    and the comparison holds (``recorded_as`` likewise; ``not_recorded_as`` when the
    value is absent or not among its values). Nothing it tests has side effects, so
    stopping at the first child that decides it changes nothing. ``at_least`` nodes
    are not written (their callers call their compiled function)."""
    if isinstance(condition, bool):
        return str(condition)
    if isinstance(condition, Leaf):
        x, v = value_of(condition.parameter), bind("v", condition.value)
        if condition.operator == "recorded_as":
            return f"({x} is not None and {x} in {v})"
        if condition.operator == "not_recorded_as":
            return f"({x} is None or {x} not in {v})"
        holds = COMPARISONS[condition.operator].format(x=x, v=v)
        return f"({x} is not None and {holds})"
    if condition.match == "at_least":
        raise ValueError("an at_least node is called, not written as an expression")
    joined = " and " if condition.match == "all" else " or "
    return (
        "("
        + joined.join(holds_expression(c, value_of, bind) for c in condition.children)
        + ")"
    )


def inline_branches(
    condition: Condition,
    value_of: Callable[[str], str],
    bind: Callable[[str, Any], str],
    missing: str,
    if_true: list[str],
    if_unknown: list[str],
    report: bool = True,
) -> list[str]:
    """Statements that run ``if_true`` when ``condition`` holds and ``if_unknown``
    when it is unknown (nothing when it is false), testing it as ``inline_condition``
    does (the same values read, the same absent values reported). An ``all`` / ``any``
    node branches on its ``pending`` and ``unknown`` locals directly instead of
    setting ``result`` first: ``all`` holds when no child decided it (``pending``) and
    none was unknown, ``any`` when a child decided it. With ``report`` false the leaves
    add nothing to ``missing`` (as in ``inline_condition``)."""
    indent = "    "
    if isinstance(condition, Leaf) or condition.match == "at_least":
        return [
            *inline_condition(condition, value_of, bind, missing, report=report),
            "if result is None:",
            *(indent + line for line in if_unknown),
            "elif result:",
            *(indent + line for line in if_true),
        ]
    lines = _node_body(condition, value_of, bind, missing, report, 0)
    if condition.match == "all":
        return [
            *lines,
            "if pending:",
            "    if unknown:",
            *(2 * indent + line for line in if_unknown),
            "    else:",
            *(2 * indent + line for line in if_true),
        ]
    return [
        *lines,
        "if not pending:",
        *(indent + line for line in if_true),
        "elif unknown:",
        *(indent + line for line in if_unknown),
    ]


def _node_lines(node, value_of, bind, missing, report, depth, target) -> list[str]:
    """An ``all`` / ``any`` node's statements, setting ``target`` (see
    ``inline_condition``); ``depth`` names its locals."""
    suffix = str(depth) if depth else ""
    is_all = node.match == "all"
    decided = "False" if is_all else "True"
    rest = "True" if is_all else "False"
    return [
        *_node_body(node, value_of, bind, missing, report, depth),
        f"{target} = (None if unknown{suffix} else {rest}) "
        f"if pending{suffix} else {decided}",
    ]


def _node_body(node, value_of, bind, missing, report, depth) -> list[str]:
    """An ``all`` / ``any`` node's children tested, leaving ``pending`` (no child
    decided it) and ``unknown`` (a child was unknown) set; ``depth`` names them."""
    is_all = node.match == "all"
    suffix = str(depth) if depth else ""
    pending, unknown = f"pending{suffix}", f"unknown{suffix}"
    # ``pending`` stays true until a child decides the node (false for all, true for
    # any); ``unknown`` records that a child was unknown.
    lines = [f"{pending} = True", f"{unknown} = False"]
    for index, child in enumerate(node.children):
        if isinstance(child, Leaf):
            body = _leaf_child_lines(
                child, is_all, value_of, bind, report and missing, pending, unknown
            )
        elif child.match == "at_least":
            body = _node_child_lines(child, is_all, bind, missing, pending, unknown)
        else:
            nested = f"nested{depth + 1}"
            body = [
                *_node_lines(child, value_of, bind, missing, report, depth + 1, nested),
                f"if {nested} is {'False' if is_all else 'True'}:",
                f"    {pending} = False",
                f"elif {nested} is None:",
                f"    {unknown} = True",
            ]
        lines += body if index == 0 else [f"if {pending}:", *("    " + x for x in body)]
    return lines


def _leaf_lines(leaf, value_of, bind, missing, target) -> list[str]:
    """A leaf at the top: ``target`` = True, False or None, as ``Leaf.test``."""
    x, p, v = value_of(leaf.parameter), bind("p", leaf.parameter), bind("v", leaf.value)
    add = [f"    {missing}.add({p})"] if missing else []
    if leaf.operator == "recorded_as":
        return [f"{target} = {x} is not None and {x} in {v}"]
    if leaf.operator == "not_recorded_as":
        return [
            f"if {x} is None:",
            *add,
            f"    {target} = True",
            "else:",
            f"    {target} = {x} not in {v}",
        ]
    holds = COMPARISONS[leaf.operator].format(x=x, v=v)
    return [
        f"if {x} is None:",
        *add,
        f"    {target} = None",
        "else:",
        f"    {target} = {holds}",
    ]


def _leaf_child_lines(
    leaf, is_all, value_of, bind, missing, pending="pending", unknown="unknown"
) -> list[str]:
    """A leaf inside an ``all`` / ``any`` node: sets ``pending = False`` when it decides
    the node, ``unknown = True`` when its value is absent (as ``compile_node``)."""
    x, p, v = value_of(leaf.parameter), bind("p", leaf.parameter), bind("v", leaf.value)
    add = [f"    {missing}.add({p})"] if missing else []
    if leaf.operator == "recorded_as":  # absent is false, not unknown
        test = f"{x} is not None and {x} in {v}"
        return [f"if {'not ' if is_all else ''}({test}):", f"    {pending} = False"]
    if leaf.operator == "not_recorded_as":  # absent holds, reported
        lines = [f"if {x} is None:", *add]
        lines.append("    pass" if is_all else f"    {pending} = False")
        holds = f"{x} not in {v}"
    else:
        lines = [f"if {x} is None:", *add, f"    {unknown} = True"]
        holds = COMPARISONS[leaf.operator].format(x=x, v=v)
    return [
        *lines,
        f"elif {'not ' if is_all else ''}({holds}):",
        f"    {pending} = False",
    ]


def _node_child_lines(
    node, is_all, bind, missing, pending="pending", unknown="unknown"
) -> list[str]:
    """An ``at_least`` node: its compiled function, called on the facts."""
    f = bind("n", node.test)
    return [
        f"value = {f}(facts, {missing})",
        f"if value is {'False' if is_all else 'True'}:",
        f"    {pending} = False",
        "elif value is None:",
        f"    {unknown} = True",
    ]


class FunctionSource:
    """The source of one generated function and the values it uses (as in
    ``compile_node``): ``bind`` gives a value a name (parameter names, values, rows,
    texts are bound, never written into the source); ``value_of`` names the local
    that holds a parameter's value, read once at the top (``preload``)."""

    def __init__(self, **names: Any):
        self.names: dict[str, Any] = dict(names)
        self.locals_of: dict[str, str] = {}

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def value_of(self, parameter: str) -> str:
        if parameter not in self.locals_of:
            self.locals_of[parameter] = f"x{len(self.locals_of)}"
        return self.locals_of[parameter]

    def preload(self, skip: tuple[str, ...] = ()) -> list[str]:
        """``xN = get(pM)`` for each parameter read (``get`` is ``facts.get``)."""
        return [
            f"    {x} = get({self.bind('p', p)})"
            for p, x in self.locals_of.items()
            if p not in skip
        ]

    def function(self, lines: list[str], name: str, label: str) -> Callable:
        exec(compile("\n".join(lines), label, "exec"), self.names)  # noqa: S102
        return self.names[name]


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
        return dict(self._as_dict)

    @cached_property
    def _as_dict(self) -> dict[str, Any]:
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
        return self.text

    @cached_property
    def text(self) -> str:
        """The string form, built once per (immutable) object."""
        return self.describe()

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
        return self.text

    @cached_property
    def text(self) -> str:
        """The string form, built once per (immutable) object."""
        return self.describe()

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
        return self.text

    @cached_property
    def text(self) -> str:
        """The string form, built once per (immutable) object."""
        return self.describe()

    @cached_property
    def reads(self) -> frozenset[str]:
        """Every parameter the condition reads (computed once per compiled rule)."""
        return frozenset(leaf.parameter for leaf in self.condition.leaves())

    def describe(self) -> str:
        grade = f" (class {self.cor}, level {self.loe})" if self.cor else ""
        return f"if {self.condition} then {self.code}{grade}"


@dataclass(frozen=True)
class CompiledRuleSet:
    """One rule-set version as the engine reads it: its header and its rows, each
    condition parsed into a tree (not the ``models.RuleSet`` row that names a rule
    set in the database). Built by ``loaders``; never changed once built."""

    code: str
    title: str
    version: str
    content_hash: str
    severity_criteria: tuple[SeverityCriterion, ...]
    stage_criteria: tuple[StageCriterion, ...]
    rules: tuple[RecommendationRule, ...]
    version_id: int | None = None
    notes: tuple[str, ...] = field(default=())
    # Structures derived once per compiled rule set (e.g. completion domains).
    memo: dict[Any, Any] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @cached_property
    def numeric_thresholds(self) -> dict[str, tuple[Any, ...]]:
        """Each number parameter's thresholds in the rules and stage criteria."""
        found: dict[str, set[Any]] = {}
        for item in (*self.rules, *self.stage_criteria):
            for leaf in item.condition.leaves():
                values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
                for value in values:
                    if isinstance(value, int | Decimal) and not isinstance(value, bool):
                        found.setdefault(leaf.parameter, set()).add(Decimal(value))
        return {name: tuple(sorted(values)) for name, values in found.items()}

    @cached_property
    def grading_parameters(self) -> frozenset[str]:
        """The parameters the severity criteria read (never completed, SPEC 0.14 c)."""
        return frozenset(
            leaf.parameter
            for criterion in self.severity_criteria
            for leaf in criterion.condition.leaves()
        )

    def header(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "version": self.version,
            "content_hash": self.content_hash,
        }
