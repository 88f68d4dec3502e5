"""The rule-by-rule comparison of two rule-set documents (pure, table-driven)."""

import copy

import pytest

from guidelines.compare import documents_compare
from guidelines.loaders import document_canonical, document_read


@pytest.fixture(scope="module")
def shipped():
    return document_canonical(document_read("acc_aha_2020"))


def rows(doc, table):
    return {r["key"]: r for r in doc[table]}


def test_identical_documents_have_no_differences(shipped):
    comparison = documents_compare(shipped, copy.deepcopy(shipped))
    assert comparison.is_empty
    assert comparison.counts == {"added": 0, "removed": 0, "changed": 0}


def test_equal_numbers_written_differently_are_not_a_change(shipped):
    new = copy.deepcopy(shipped)
    rows(new, "severity")["eroa_severe"]["when"] = ["echo.eroa_cm2", ">=", "0.40"]
    assert documents_compare(shipped, new).is_empty


def test_a_moved_threshold_is_shown_old_and_new_as_text(shipped):
    new = copy.deepcopy(shipped)
    rows(new, "severity")["eroa_severe"]["when"] = ["echo.eroa_cm2", ">=", "0.50"]
    (difference,) = documents_compare(shipped, new).rows
    assert (difference.table, difference.key, difference.status) == (
        "severity",
        "eroa_severe",
        "changed",
    )
    (change,) = difference.changes
    assert change.field == "condition"
    assert change.old.endswith("≥ 0.4")
    assert "EROA" in change.old
    assert change.new.endswith("≥ 0.50")
    assert difference.summary.startswith("if ")
    assert "then severe" in difference.summary


@pytest.mark.parametrize(
    ("field", "value", "shown_as"),
    [
        ("class", "2a", "class"),
        ("level", "C-EO", "level"),
        ("title", "New title", "title"),
        ("detail", "New detail", "detail"),
        ("evidence", "V", "evidence"),
        ("section", "Table 99", "section"),
    ],
)
def test_every_rule_field_is_compared(shipped, field, value, shown_as):
    new = copy.deepcopy(shipped)
    rule = new["rule"][0]
    old_value = rule[field]
    rule[field] = value
    (difference,) = documents_compare(shipped, new).rows
    assert difference.key == rule["key"]
    assert [(c.field, c.old, c.new) for c in difference.changes] == [
        (shown_as, str(old_value), value)
    ]


def test_added_and_removed_rules(shipped):
    new = copy.deepcopy(shipped)
    removed = new["rule"].pop(0)
    added = dict(
        new["rule"][0],
        key="new_rule",
        code="heart_team_review",
        **{"class": "1", "level": "C"},
    )
    new["rule"].append(added)
    comparison = documents_compare(shipped, new)
    assert comparison.counts == {"added": 1, "removed": 1, "changed": 0}
    by_status = {d.status: d for d in comparison.rows}
    assert by_status["removed"].key == removed["key"]
    assert by_status["added"].key == "new_rule"
    assert by_status["added"].summary.endswith(
        f"then {added['title']} (Class 1, Level C)"
    )
    assert [label for label, _ in comparison.by_table()] == ["Recommendation rules"]


def test_header_and_code_changes(shipped):
    new = copy.deepcopy(shipped)
    new["ruleset"]["citation"] = "New citation"
    new["codes"] = [*new["codes"], {"code": "extra_code", "title": "Extra"}]
    comparison = documents_compare(shipped, new)
    assert [(c.field, c.new) for c in comparison.header] == [
        ("citation", "New citation")
    ]
    assert [(d.table, d.key, d.status) for d in comparison.rows] == [
        ("codes", "extra_code", "added")
    ]
