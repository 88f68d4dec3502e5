"""Rule-set validation problems are data (table, row key, field, message), and the
editors' forms put each at the field it names; a rule row's condition has one editor."""

import copy
import json

import pytest
from django.urls import reverse

from guidelines import authoring
from guidelines.loaders import RuleSetError, document_read, ruleset_from_document
from guidelines.models import RuleSetVersion, VersionStatus

CODE = "acc_aha_2020"


def rows(doc, table):
    return {r["key"]: r for r in doc[table]}


def problems_of(doc):
    with pytest.raises(RuleSetError) as refused:
        ruleset_from_document(doc)
    return {(p.table, p.key, p.field) for p in refused.value.errors}


@pytest.mark.parametrize(
    ("table", "key", "change", "where"),
    [
        pytest.param("rule", None, {"evidence": "X"}, "evidence", id="evidence tag"),
        pytest.param("rule", None, {"section": " "}, "section", id="no section"),
        pytest.param("rule", None, {"code": "nope"}, "code", id="unknown code"),
        pytest.param("rule", None, {"kind": "maybe"}, "kind", id="unknown kind"),
        pytest.param(
            "stage",
            "c2_lvesd",
            {"when": ["echo.lvesd_mm", ">=", 900]},
            "when",
            id="threshold outside the plausible range",
        ),
        pytest.param("severity", "eroa_severe", {"role": "loud"}, "role", id="role"),
        pytest.param("severity", "eroa_severe", {"band": "huge"}, "band", id="band"),
    ],
)
def test_each_row_problem_names_its_table_row_and_field(table, key, change, where):
    doc = copy.deepcopy(document_read(CODE))
    row = rows(doc, table)[key] if key else doc[table][0]
    row.update(change)
    assert (table, row["key"], where) in problems_of(doc)


def test_band_cut_offs_out_of_order_name_both_rows():
    """ASE 2017: EROA ≥ 0.30 cm² moderate-to-severe, ≥ 0.40 cm² severe. A severe
    cut-off below the moderate-to-severe one names the two rows out of order."""
    doc = copy.deepcopy(document_read(CODE))
    rows(doc, "severity")["eroa_severe"]["when"] = ["echo.eroa_cm2", ">=", 0.25]
    found = problems_of(doc)
    assert ("severity", "eroa_severe", "when") in found
    assert ("severity", "eroa_moderate_to_severe", "when") in found
    assert ("severity", "eroa_mild_to_moderate", "when") not in found


@pytest.fixture
def draft(editor, rule_sets):
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    return authoring.version_copy_to_draft(version=active, user=editor, label="p-1")


def change_form(client, row, query=""):
    model = row._meta.model_name
    page = client.get(
        reverse(f"admin:guidelines_{model}_change", args=[row.pk]) + query
    )
    return page.context_data["adminform"].form


def post(client, row, data, query=""):
    model = row._meta.model_name
    url = reverse(f"admin:guidelines_{model}_change", args=[row.pk]) + query
    return client.post(url, data)


def shown(form) -> dict:
    return {
        name: form[name].value()
        for name in form.fields
        if form[name].value() not in (None, "")
    }


def test_the_row_form_puts_each_problem_at_its_field(client, editor, draft):
    client.force_login(editor)
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    form = change_form(client, row)
    response = post(client, row, {**shown(form), "condition_value": "0.25"})
    errors = response.context_data["adminform"].form.errors
    assert "cut-offs must rise" in errors["condition_value"][0]
    assert errors["condition_value"][0].startswith("Rule row eroa_severe, field ")
    # eroa_moderate_to_severe's share of the problem is not this form's field
    assert any("cut-offs must rise" in e for e in errors["__all__"])

    rule = draft.recommendationrulerow_set.order_by("position").first()
    response = post(client, rule, {**shown(change_form(client, rule)), "code": "nope"})
    errors = response.context_data["adminform"].form.errors
    assert "is not a known recommendation code" in errors["code"][0]


def test_a_simple_condition_has_one_editor_and_a_stale_json_is_ignored(
    client, editor, draft
):
    client.force_login(editor)
    row = draft.stagecriterionrow_set.get(key="c2_lvesd")
    form = change_form(client, row)
    assert {"condition_parameter", "condition_value"} <= set(form.fields)
    assert "condition" not in form.fields  # no second editor to disagree
    stale = json.dumps(["echo.lvesd_mm", ">=", 40])
    data = {**shown(form), "condition_value": "41", "condition": stale}
    assert post(client, row, data).status_code == 302
    row.refresh_from_db()
    assert row.condition == ["echo.lvesd_mm", ">=", "41"]

    json_form = change_form(client, row, "?condition=json")
    assert "condition" in json_form.fields
    assert "condition_value" not in json_form.fields
    assert json.loads(json_form["condition"].value()) == row.condition
