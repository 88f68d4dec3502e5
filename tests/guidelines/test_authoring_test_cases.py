"""Rule-set test cases are edited as forms, not JSON: one field per input field of the
vocabulary, prior studies as rows, the expectation as choices. What is typed is parsed
by the one input gate, so a value is stored as typed or refused at its field."""

import pytest
from django.urls import reverse

from guidelines.models import RuleSetTestCase

CODE = "acc_aha_2020"


def url(name, *args):
    return reverse(f"admin:guidelines_{name}", args=args)


@pytest.fixture
def editor_client(client, editor, rule_sets):
    client.force_login(editor)
    return client


def posted(form) -> dict:
    """What the browser posts for an untouched form: every field's shown value."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, "", [], False):
            data[name] = value
    return data


@pytest.mark.parametrize("name", ["MR-005", "MR-023"])
def test_a_vignette_saved_unchanged_through_its_form_keeps_its_input_and_expectation(
    editor_client, name
):
    case = RuleSetTestCase.objects.get(rule_set__code=CODE, name=name)
    before = (case.input, case.expected)
    page = editor_client.get(url("rulesettestcase_change", case.pk))
    form = page.context_data["adminform"].form
    assert "input" not in form.fields  # no raw JSON box
    assert "expected" not in form.fields
    response = editor_client.post(url("rulesettestcase_change", case.pk), posted(form))
    assert response.status_code == 302
    case.refresh_from_db()
    stored_input, stored_expected = before
    assert case.input == stored_input
    # empty entries (no subgrade, no required code) meant "not checked" and are left out
    assert case.expected == {
        k: v for k, v in stored_expected.items() if v not in (None, "", [])
    }


def test_a_prior_study_is_a_row_of_fields(editor_client, rule_sets):
    case = RuleSetTestCase.objects.filter(
        rule_set__code=CODE, input__has_key="prior_echos"
    ).first()
    form = (
        editor_client.get(url("rulesettestcase_change", case.pk))
        .context_data["adminform"]
        .form
    )
    studies = case.input["prior_echos"]
    for row, study in enumerate(studies):
        assert form[f"prior_{row}_months_ago"].value() == str(study["months_ago"])
    data = posted(form)
    data[f"prior_{len(studies)}_months_ago"] = "3"  # one of the empty rows
    data[f"prior_{len(studies)}_lvesd_mm"] = "39"
    response = editor_client.post(url("rulesettestcase_change", case.pk), data)
    assert response.status_code == 302
    case.refresh_from_db()
    assert {"months_ago": 3, "lvesd_mm": 39} in case.input["prior_echos"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("42e", "no exponent"),
        ("0,8", "must be a number"),
        ("420", "must be between 15 and 100 mm, got 420"),
    ],
)
def test_a_value_that_does_not_parse_is_refused_at_its_field(
    editor_client, typed, message
):
    case = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-023")
    before = case.input
    form = (
        editor_client.get(url("rulesettestcase_change", case.pk))
        .context_data["adminform"]
        .form
    )
    data = {**posted(form), "in_echo_lvesd_mm": typed}
    response = editor_client.post(url("rulesettestcase_change", case.pk), data)
    assert response.status_code == 200
    errors = response.context_data["adminform"].form.errors
    assert message in errors["in_echo_lvesd_mm"][0]
    assert response.context_data["adminform"].form["in_echo_lvesd_mm"].value() == typed
    case.refresh_from_db()
    assert case.input == before


def test_the_expectation_is_chosen_from_the_result_vocabulary(editor_client, rule_sets):
    response = editor_client.post(
        url("rulesettestcase_add"),
        {
            "rule_set": RuleSetTestCase.objects.first().rule_set_id,
            "name": "ED-002",
            "active": "on",
            "in_etiology": "degenerative_prolapse",
            "in_patient_age_years": "70",
            "in_patient_sex": "female",
            "in_echo_eroa_cm2": "0.45",
            "exp_severity": "severe",
            "exp_acceptable_stages": ["C1", "C2"],
            "exp_required": ["surgery_mv"],
            "exp_required_any_of_1": ["repair_preferred"],
            "exp_must_not": ["teer"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = RuleSetTestCase.objects.get(name="ED-002")
    assert case.expected == {
        "severity": "severe",
        "acceptable_stages": ["C1", "C2"],
        "required": ["surgery_mv"],
        "must_not": ["teer"],
        "required_any_of": [["repair_preferred"]],
    }
