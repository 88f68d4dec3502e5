"""Rule rows are validated when loaded: errors name the row and the field."""

import copy

import pytest

from guidelines.conditions import ConditionError, condition_parse
from guidelines.loaders import RuleSetError, document_read, ruleset_from_document


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            ["echo.eroa", ">=", 0.4], "unknown parameter", id="unknown parameter"
        ),
        pytest.param(
            ["echo.eroa_cm2", "=>", 0.4], "unknown operator", id="unknown operator"
        ),
        pytest.param(
            ["echo.eroa_cm2", ">=", 3],
            "outside its plausible range 0..2",
            id="out of range",
        ),
        pytest.param(
            ["echo.cw_jet", ">=", "x"],
            "needs a numeric parameter",
            id="ordering on choice",
        ),
        pytest.param(
            ["echo.cw_jet", "==", "dense"],
            "not a value of echo.cw_jet",
            id="bad choice",
        ),
        pytest.param(
            ["echo.flail_leaflet", "==", "yes"], "use true or false", id="bad boolean"
        ),
        pytest.param(
            ["recommendations", "includes", "surgery"],
            "unknown recommendation code",
            id="bad code",
        ),
        pytest.param(
            {"at_least": 3, "of": [["echo.pasp_mmhg", ">", 50]]},
            "at_least 3 of only 1",
            id="at_least",
        ),
        pytest.param({"some": []}, "a group is", id="bad group"),
        pytest.param(
            "echo.eroa_cm2 >= 0.4",
            "[parameter, operator, value]",
            id="free text refused",
        ),
    ],
)
def test_malformed_conditions_are_refused_with_a_reason(data, message):
    with pytest.raises(
        ConditionError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        condition_parse(data)


def test_condition_prints_as_its_definition():
    condition = condition_parse(
        {"any": [["echo.lvef_pct", "<=", 60], ["echo.lvesd_mm", ">=", 40]]}
    )
    assert str(condition) == "LVEF (%) ≤ 60 or LV end-systolic diameter (mm) ≥ 40"


def test_bands_must_rise_with_the_grade():
    doc = document_read("acc_aha_2020")
    broken = copy.deepcopy(doc)
    for row in broken["severity"]:
        if row["key"] == "eroa_severe":
            row["when"] = ["echo.eroa_cm2", ">=", 0.25]
    with pytest.raises(RuleSetError, match="cut-offs must rise with the band"):
        ruleset_from_document(broken)


def test_every_row_problem_is_reported_with_its_key():
    doc = document_read("esc_eacts_2025")
    broken = copy.deepcopy(doc)
    broken["rule"][0]["evidence"] = "X"
    broken["rule"][1]["code"] = "no_such_code"
    with pytest.raises(RuleSetError) as excinfo:
        ruleset_from_document(broken)
    where = {(e.table, e.key, e.field): e.message for e in excinfo.value.errors}
    assert where[("rule", "imaging_indeterminate", "evidence")].startswith("evidence")
    assert where[("rule", "imaging_mechanism", "code")].startswith(
        "code 'no_such_code'"
    )


def test_shipped_rule_sets_are_valid_and_cite_every_row():
    for code in ("acc_aha_2020", "esc_eacts_2025"):
        rule_set = ruleset_from_document(document_read(code))
        for rule in rule_set.rules:
            assert rule.source.section
            assert rule.source.citation
            assert rule.source.evidence
