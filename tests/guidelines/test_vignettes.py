"""Every clinical vignette, for both rule sets, table-driven (SPEC vignettes.json).

The vignettes are copied into the repository (guidelines/data/vignettes.json) so the
suite runs from a fresh clone; ``test_repository_copy_is_in_step`` fails when the copy
drifts from ../shared/clinical/ where that folder exists.
"""

import json
from pathlib import Path

import pytest

from guidelines.engine import evaluate
from guidelines.expectations import expectation_for_profile, result_problems
from guidelines.loaders import DATA_DIR, SHIPPED_RULE_SETS, ruleset_load
from guidelines.validation import input_parse

VIGNETTES = json.loads((DATA_DIR / "vignettes.json").read_text())
RULE_SETS = {code: ruleset_load(code) for code in SHIPPED_RULE_SETS}
SHARED = Path(__file__).resolve().parents[3] / "shared" / "clinical"

CASES = [
    pytest.param(code, v, id=f"{v['id']} {code}")
    for v in VIGNETTES
    for code in SHIPPED_RULE_SETS
    if code in v["expected"]["profiles"]
]


@pytest.mark.parametrize(("code", "vignette"), CASES)
def test_vignette_result_meets_expectations(code, vignette):
    result = evaluate(input_parse(vignette["input"]), RULE_SETS[code])
    expected = expectation_for_profile(vignette["expected"], code)
    assert result_problems(result, expected) == []


@pytest.mark.parametrize(
    "vignette",
    [pytest.param(v, id=v["id"]) for v in VIGNETTES if v["expected"].get("derived")],
)
def test_vignette_derived_values(vignette):
    result = evaluate(input_parse(vignette["input"]), RULE_SETS["acc_aha_2020"])
    for name, value in vignette["expected"]["derived"].items():
        assert result["derived"][name] == pytest.approx(value, abs=0.051), name


def test_every_vignette_runs_in_both_profiles():
    assert len(CASES) == 2 * len(VIGNETTES) == 40


def test_result_problems_detects_a_wrong_result():
    expected = {
        "severity": "severe",
        "stage": "C2",
        "required": ["surgery_mv"],
        "must_not": ["teer"],
        "required_any_of": [["gdmt"]],
    }
    result = {
        "severity": "moderate",
        "stage": "B",
        "mr_type": "primary",
        "severity_subgrade": None,
        "recommendations": [{"code": "teer"}],
    }
    problems = result_problems(result, expected)
    assert len(problems) == 5


@pytest.mark.skipif(
    not SHARED.exists(), reason="../shared/clinical not beside this clone"
)
def test_repository_copy_is_in_step():
    assert json.loads((SHARED / "vignettes.json").read_text()) == VIGNETTES


@pytest.mark.skipif(
    not SHARED.exists(), reason="../shared/clinical not beside this clone"
)
@pytest.mark.parametrize(
    ("copy", "original"),
    [
        ("docs/clinical-spec.md", "clinical/SPEC.md"),
        ("docs/CONTRACT.md", "CONTRACT.md"),
    ],
)
def test_documentation_copies_are_in_step(copy, original):
    root = Path(__file__).resolve().parents[2]
    assert (root / copy).read_text() == (SHARED.parent / original).read_text()
