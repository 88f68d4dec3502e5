"""Compiled conditions (``specs.compile_node``), conditions inlined in the generated
passes (``specs.inline_condition``) and their specialisation to known facts
(``specs.specialise``) give what the three-valued semantics of ``specs`` says, for any
condition tree and any facts: checked against a plain recursive reading of it."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from guidelines.specs import (
    FunctionSource,
    Leaf,
    Node,
    inline_branches,
    inline_condition,
    specialise,
)

NAMES = ("echo.lvef_pct", "symptoms.nyha_class", "ecg.rhythm", "stage")
VALUES = {
    "echo.lvef_pct": st.sampled_from([Decimal(30), Decimal(60), Decimal("60.5")]),
    "symptoms.nyha_class": st.integers(1, 4),
    "ecg.rhythm": st.sampled_from(["sinus", "atrial_fibrillation"]),
    "stage": st.sampled_from(["C1", "C2", "D"]),
}
OPERATORS = {
    "echo.lvef_pct": ["<", "<=", ">", ">=", "==", "!="],
    "symptoms.nyha_class": ["<", ">=", "==", "in", "not_in"],
    "ecg.rhythm": ["==", "in", "not_recorded_as", "recorded_as"],
    "stage": ["==", "!=", "in", "not_recorded_as", "recorded_as"],
}
SETS = ("in", "not_in", "not_recorded_as", "recorded_as")


@st.composite
def leaves(draw):
    name = draw(st.sampled_from(NAMES))
    operator = draw(st.sampled_from(OPERATORS[name]))
    if operator in SETS:
        value = tuple(draw(st.lists(VALUES[name], min_size=1, max_size=2)))
    else:
        value = draw(VALUES[name])
    return Leaf(name, operator, value)


def nodes(children):
    return st.one_of(
        st.builds(
            lambda match, items: Node(match, tuple(items)),
            st.sampled_from(["all", "any"]),
            st.lists(children, min_size=1, max_size=4),
        ),
        st.lists(children, min_size=1, max_size=4).flatmap(
            lambda items: st.integers(1, len(items)).map(
                lambda n: Node("at_least", tuple(items), n)
            )
        ),
    )


conditions = st.recursive(leaves(), nodes, max_leaves=8)
facts_strategy = st.fixed_dictionaries(
    {}, optional={name: VALUES[name] for name in NAMES}
)


def reference(condition, facts, missing):
    """The semantics in words: an absent value is unknown and reported (absent under
    ``not_recorded_as`` holds, under ``recorded_as`` is false, neither unknown); ``all``
    stops at a false child, ``any`` at a true one, ``at_least`` reads them all."""
    if isinstance(condition, Leaf):
        value = facts.get(condition.parameter)
        if value is None:
            if condition.operator == "recorded_as":
                return False
            missing.add(condition.parameter)
            return True if condition.operator == "not_recorded_as" else None
        wanted = condition.value
        return {
            "==": lambda: value == wanted,
            "!=": lambda: value != wanted,
            "<": lambda: value < wanted,
            "<=": lambda: value <= wanted,
            ">": lambda: value > wanted,
            ">=": lambda: value >= wanted,
            "in": lambda: value in wanted,
            "not_in": lambda: value not in wanted,
            "recorded_as": lambda: value in wanted,
            "not_recorded_as": lambda: value not in wanted,
        }[condition.operator]()
    if condition.match == "at_least":
        results = [reference(c, facts, missing) for c in condition.children]
        if results.count(True) >= condition.n:
            return True
        unknown = results.count(True) + results.count(None) >= condition.n
        return None if unknown else False
    stop = condition.match == "any"  # the value that decides the node
    unknown = False
    for child in condition.children:
        result = reference(child, facts, missing)
        if result is stop:
            return stop
        unknown = unknown or result is None
    return None if unknown else not stop


@settings(max_examples=400, deadline=None)
@given(conditions, facts_strategy)
def test_a_compiled_condition_gives_the_documented_result(condition, facts):
    expected_missing: set[str] = set()
    expected = reference(condition, facts, expected_missing)
    missing: set[str] = set()
    assert condition.test(facts, missing) is expected
    if expected is None:  # what is reported is read only when the result is unknown
        assert missing == expected_missing


@settings(max_examples=400, deadline=None)
@given(conditions, facts_strategy, st.sets(st.sampled_from(NAMES)))
def test_a_specialised_condition_gives_the_same_result(condition, facts, known_names):
    known = {name: facts[name] for name in known_names if name in facts}
    special = specialise(condition, known)
    expected_missing: set[str] = set()
    expected = reference(condition, facts, expected_missing)
    if isinstance(special, bool):
        assert special is expected
        return
    missing: set[str] = set()
    assert special.test(facts, missing) is expected
    if expected is None:
        assert missing == expected_missing


def inlined(condition, *, report=True):
    """``condition`` as the generated passes test it: its parameters read once into
    locals, then ``specs.inline_condition``'s statements."""
    src = FunctionSource()
    body = inline_condition(condition, src.value_of, src.bind, "missing", report=report)
    return _test_function(src, body, "result", "<inlined condition>")


def _test_function(src, body, returned, name, first=()):
    """``test(facts, missing)``: the parameters read into locals, ``first``, then
    ``body``; it returns the local ``returned``."""
    lines = [
        "def test(facts, missing):",
        "    get = facts.get",
        *src.preload(),
        *("    " + line for line in (*first, *body)),
        f"    return {returned}",
    ]
    return src.function(lines, "test", name)


@settings(max_examples=400, deadline=None)
@given(conditions, facts_strategy)
def test_an_inlined_condition_gives_the_documented_result(condition, facts):
    expected = assert_documented_result(inlined(condition), condition, facts)
    assert inlined(condition, report=False)(facts, set()) is expected


def assert_documented_result(test, condition, facts):
    """``test(facts, missing)`` gives ``condition``'s documented result and, when it is
    unknown, reports the absent values as the compiled test does; the result."""
    expected_missing: set[str] = set()
    expected = reference(condition, facts, expected_missing)
    missing: set[str] = set()
    assert test(facts, missing) is expected
    if expected is None:
        assert missing == expected_missing
    return expected


def branched(condition):
    """``condition`` as the recommendation pass tests it (``specs.inline_branches``):
    True from the branch taken when it holds, None from the one when it is unknown,
    False when neither is taken."""
    src = FunctionSource()
    body = inline_branches(
        condition, src.value_of, src.bind, "missing", ["taken = True"], ["taken = None"]
    )
    return _test_function(
        src, body, "taken", "<branched condition>", first=["taken = False"]
    )


@settings(max_examples=400, deadline=None)
@given(conditions, facts_strategy)
def test_a_branched_condition_takes_the_branch_of_its_documented_result(
    condition, facts
):
    assert_documented_result(branched(condition), condition, facts)


def test_an_inlined_condition_writes_no_parameter_or_value_into_its_source():
    condition = Node(
        "all",
        (
            Leaf("ecg.rhythm", "==", "sinus'); import os; ('"),
            Leaf("echo.lvef_pct", "<=", Decimal(60)),
        ),
    )
    src = FunctionSource()
    text = "\n".join(inline_condition(condition, src.value_of, src.bind, "missing"))
    assert "sinus" not in text
    assert "ecg.rhythm" not in text
    assert (
        inlined(condition)({"ecg.rhythm": "sinus", "echo.lvef_pct": 50}, set()) is False
    )
