"""MR-CDS's own clinical vignettes (guidelines/data/vignettes_mrcds.json), both rule sets.

Written from the guideline texts (ASE 2017, ACC/AHA 2020 as digested in SPEC section 2,
ESC/EACTS 2025, ESC HF 2021), never from the engine's output; each carries the SPEC 0.14
items it exercises in ``spec_items`` and cites its sentence or table in ``rationale``.

Beyond the shared vignette format a profile block may hold (checked here, not in
guidelines/expectations.py):
- ``severity`` / ``severity_subgrade`` / ``stage`` / ``acceptable_severity`` /
  ``acceptable_stages``: a profile's own grade or stage where the guidelines differ
  (ESC elliptical orifice, SPEC 0.14 d);
- ``conditional_required``: codes that must be listed under the result's ``conditional``
  (CONTRACT 6, SPEC 0.14 c/f);
- ``classes``: {code: class} that the recommendation must carry (null = no class).
"""

import json
import re

import pytest

from guidelines.engine import evaluate
from guidelines.expectations import expectation_for_profile, result_problems
from guidelines.loaders import DATA_DIR, SHIPPED_RULE_SETS, ruleset_load
from guidelines.validation import input_parse

VIGNETTES = json.loads((DATA_DIR / "vignettes_mrcds.json").read_text())
RULE_SETS = {code: ruleset_load(code) for code in SHIPPED_RULE_SETS}
PROFILE_OVERRIDES = (
    "severity",
    "severity_subgrade",
    "stage",
    "acceptable_severity",
    "acceptable_stages",
)
FORMAT_KEYS = {
    "id",
    "description",
    "input",
    "expected",
    "rationale",
    "evidence",
    "spec_items",
}
PROFILE_KEYS = {
    "required",
    "required_any_of",
    "acceptable",
    "must_not",
    "notes",
    "conditional_required",
    "classes",
    *PROFILE_OVERRIDES,
}

# Each guideline's own class and level labels (SPEC 0.1, 0.14 l). A row whose only source
# is a 2014/2017 statement may carry that statement's labels only if its source's
# guideline names that year.
VOCABULARY = {
    "acc_aha_2020": {
        "class": {"1", "2a", "2b", "3: No Benefit", "3: Harm"},
        "level": {"A", "B-R", "B-NR", "C-LD", "C-EO"},
    },
    "esc_eacts_2025": {"class": {"I", "IIa", "IIb", "III"}, "level": {"A", "B", "C"}},
}
OLDER_ACC_AHA = {"class": {"I", "IIa", "IIb", "III"}, "level": {"A", "B", "C"}}

CASES = [
    pytest.param(code, v, id=f"{v['id']} {code}")
    for v in VIGNETTES
    for code in SHIPPED_RULE_SETS
    if code in v["expected"]["profiles"]
]


def mrcds_expectation(expected: dict, profile: str) -> dict:
    """The shared flattening, plus a profile's own grade/stage where it has one."""
    out = expectation_for_profile(expected, profile)
    block = expected["profiles"].get(profile, {})
    for key in PROFILE_OVERRIDES:
        if key in block:
            out[key] = block[key]
    return out


def mrcds_problems(result: dict, expected: dict, profile: str) -> list[str]:
    problems = result_problems(result, mrcds_expectation(expected, profile))
    block = expected["profiles"].get(profile, {})
    conditional = [c["code"] for c in result.get("conditional", [])]
    for code in block.get("conditional_required", []):
        if code not in conditional:
            problems.append(f"conditional {code} missing (conditional: {conditional})")
    by_code = {r["code"]: r for r in result["recommendations"]}
    for code, cls in block.get("classes", {}).items():
        if code in by_code and by_code[code]["class"] != cls:
            problems.append(
                f"{code} class {by_code[code]['class']!r}, expected {cls!r}"
            )
    return problems


def vocabulary_problems(result: dict, profile: str) -> list[str]:
    problems = []
    rows = [
        *result["recommendations"],
        *result.get("cautions", []),
        *result.get("conditional", []),
    ]
    for row in rows:
        cls, level = row.get("class"), row.get("level")
        source = row.get("source") or {}
        said = str(source.get("guideline", ""))
        vocab = VOCABULARY[profile]
        # SPEC 0.14 l: a 2014/2017 label only where the source names that guideline and
        # year ("AHA/ACC 2014: I, B"), never under a 2020 source.
        if profile == "acc_aha_2020" and re.search(r"\b(2014|2017)\b", said):
            vocab = {k: vocab[k] | OLDER_ACC_AHA[k] for k in vocab}
        if level is not None and cls is None:
            problems.append(f"{row['code']}: level {level!r} without a class")
        if cls is not None and cls not in vocab["class"]:
            problems.append(f"{row['code']}: class {cls!r} not in {profile} vocabulary")
        if level is not None and level not in vocab["level"]:
            problems.append(
                f"{row['code']}: level {level!r} not in {profile} vocabulary ({said})"
            )
    return problems


@pytest.mark.parametrize(("code", "vignette"), CASES)
def test_mrcds_vignette_result_meets_expectations(code, vignette):
    result = evaluate(input_parse(vignette["input"]), RULE_SETS[code])
    assert mrcds_problems(result, vignette["expected"], code) == []


@pytest.mark.parametrize(("code", "vignette"), CASES)
def test_mrcds_vignette_classes_and_levels_are_the_guidelines_own(code, vignette):
    result = evaluate(input_parse(vignette["input"]), RULE_SETS[code])
    assert vocabulary_problems(result, code) == []


@pytest.mark.parametrize(
    "vignette",
    [pytest.param(v, id=v["id"]) for v in VIGNETTES if v["expected"].get("derived")],
)
def test_mrcds_vignette_derived_values(vignette):
    result = evaluate(input_parse(vignette["input"]), RULE_SETS["acc_aha_2020"])
    for name, value in vignette["expected"]["derived"].items():
        assert result["derived"][name] == pytest.approx(value, abs=0.051), name


def test_there_are_at_least_45_each_in_both_profiles_with_unique_ids():
    ids = [v["id"] for v in VIGNETTES]
    assert len(VIGNETTES) >= 45
    assert len(set(ids)) == len(ids)
    assert ids == [f"MRCDS-{i:03d}" for i in range(1, len(ids) + 1)]
    assert len(CASES) == 2 * len(VIGNETTES)


def test_every_spec_0_14_item_a_to_o_is_exercised():
    cited = {item for v in VIGNETTES for item in v["spec_items"]}
    assert {f"0.14 {letter}" for letter in "abcdefghijklmno"} <= cited


@pytest.mark.parametrize("vignette", [pytest.param(v, id=v["id"]) for v in VIGNETTES])
def test_mrcds_vignette_has_the_shared_format_and_a_cited_why(vignette):
    assert set(vignette) == FORMAT_KEYS
    expected = vignette["expected"]
    for key in (
        "severity",
        "severity_subgrade",
        "mr_type",
        "stage",
        "acceptable_stages",
    ):
        assert key in expected, key
    for profile, block in expected["profiles"].items():
        assert profile in SHIPPED_RULE_SETS
        assert set(block) <= PROFILE_KEYS, set(block) - PROFILE_KEYS
        assert {"required", "acceptable", "must_not", "notes"} <= set(block)
        assert not set(block["required"]) & set(block["must_not"])
    assert re.search(r"ESC|ACC/AHA|ASE|SPEC", vignette["rationale"])
    input_parse(vignette["input"])  # every input is valid under CONTRACT 1 and 6


def test_the_extra_checks_catch_a_wrong_result():
    expected = {
        "severity": "moderate",
        "severity_subgrade": "moderate_to_severe",
        "stage": "B",
        "mr_type": "secondary_ventricular",
        "acceptable_stages": [],
        "profiles": {
            "esc_eacts_2025": {
                "required": ["teer"],
                "must_not": [],
                "acceptable": [],
                "notes": "",
                "severity": "severe",
                "severity_subgrade": None,
                "stage": "D",
                "conditional_required": ["crt"],
                "classes": {"teer": "I"},
            }
        },
    }
    result = {
        "severity": "moderate",
        "severity_subgrade": "moderate_to_severe",
        "stage": "B",
        "mr_type": "secondary_ventricular",
        "conditional": [],
        "recommendations": [{"code": "teer", "class": "2a", "level": "B-R"}],
    }
    problems = mrcds_problems(result, expected, "esc_eacts_2025")
    assert len(problems) == 4, problems
    assert len(vocabulary_problems(result, "esc_eacts_2025")) == 2
