"""The missing-data step's generated group tests (``completion._compiled_fires``) pick the
same rule as testing each rule on facts with the completion written into them
(``completion._setting_fires``), for every completion of every group the step covers
over the recorded engine cases (vignettes, gate cases, random inputs with data missing).
"""

from __future__ import annotations

import gzip
import json

import pytest

from guidelines import completion
from guidelines.engine import evaluate
from guidelines.loaders import SHIPPED_RULE_SETS, ruleset_from_document
from guidelines.validation import InputError, input_parse
from tests.guidelines.test_engine_golden import GOLDEN_DIR

MAX_ASSIGNMENTS = 512


def _assignments(group):
    """The completions of each widening step (the unknowns completed so far)."""
    assignments = [{}]
    for step in group.steps:
        if step.combinations is None:
            return
        assignments = [
            {**base, **dict(zip(step.new, values, strict=True))}
            for base in assignments
            for values in step.combinations
        ]
        if len(assignments) > MAX_ASSIGNMENTS:
            return
        yield from assignments


@pytest.mark.parametrize("code", SHIPPED_RULE_SETS)
def test_a_generated_group_test_picks_the_rule_the_facts_would(code, monkeypatch):
    path = GOLDEN_DIR / f"engine_{code}.json.gz"
    golden = json.loads(gzip.decompress(path.read_bytes()))
    rule_set = ruleset_from_document(golden["document"])
    cover = completion._cover
    compared: list[int] = []

    def checked_cover(facts, plan, codes, recompute):
        for group in plan:
            if group.compiled is None:
                continue
            saved = completion.saved_values(
                facts, (*group.variables, "recommendations")
            )
            try:
                on_facts = completion._setting_fires(
                    facts, group.tests, group.variables
                )
                assignments = list(_assignments(group))
                covered, uncovered = [], []
                group.compiled(facts, tuple(codes), assignments, covered, uncovered)
                generated = {id(a): rule for a, rule in covered}
                generated.update((id(a), None) for a in uncovered)
                assert len(generated) == len(assignments)
                for assignment in assignments:
                    completion.restore(facts, saved)
                    facts["recommendations"] = tuple(codes)
                    expected = on_facts(assignment)
                    assert generated[id(assignment)] is expected, (group, assignment)
                    compared.append(1)
            finally:
                completion.restore(facts, saved)
        return cover(facts, plan, codes, recompute)

    monkeypatch.setattr(completion, "_cover", checked_cover)
    for case in golden["cases"]:
        try:
            clean = input_parse(case["input"])
        except InputError:
            continue
        evaluate(clean, rule_set)
    assert len(compared) > 100  # the generated tests did run


def test_a_node_nested_one_level_is_inlined_deeper_ones_and_at_least_are_not():
    from guidelines.specs import Leaf, Node

    leaf = Leaf("echo.lvef_pct", "<=", 60)
    one_level = Node("all", (leaf, Node("any", (leaf, leaf))))
    assert completion._inlinable(True)
    assert completion._inlinable(Node("all", (leaf, leaf)))
    assert completion._inlinable(one_level)
    assert not completion._inlinable(Node("any", (leaf, one_level)))
    assert not completion._inlinable(Node("at_least", (leaf, leaf), 1))
