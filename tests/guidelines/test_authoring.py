"""Guideline authoring in the admin, read as a spec: an editor drafts, edits, checks,
compares and rolls back rule-set versions through the real admin URLs, and a second
editor publishes them; a clinician cannot; a published version never changes."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from guidelines import authoring, services
from guidelines.models import (
    RecommendationRuleRow,
    RuleSetTestCase,
    RuleSetVersion,
    SeverityCriterionRow,
    VersionStatus,
)
from tests.factories import UserFactory

CODE = "acc_aha_2020"
SOURCE = ("key", "position", "guideline", "section", "citation", "url", "evidence")


def active():
    return RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )


def url(name, *args):
    return reverse(f"admin:guidelines_{name}", args=args)


def row_post_data(row, **changes):
    """What the row's change form posts when only ``changes`` are edited."""
    data = {f: getattr(row, f) for f in SOURCE}
    data["condition"] = json.dumps(row.condition)
    if isinstance(row.condition, list):
        parameter, operator, value = row.condition
        data.update(
            condition_parameter=parameter,
            condition_operator=operator,
            condition_value=value if isinstance(value, str) else json.dumps(value),
        )
    if isinstance(row, SeverityCriterionRow):
        data.update(role=row.role, band=row.band, scope=row.scope)
    if isinstance(row, RecommendationRuleRow):
        data.update(
            code=row.code,
            title=row.title,
            detail=row.detail,
            cor=row.cor,
            loe=row.loe,
            group=row.group,
            kind=row.kind,
        )
    data.update(changes)
    return data


@pytest.fixture
def editor_client(client, editor, rule_sets):
    client.force_login(editor)
    return client


@pytest.fixture
def approver_client(second_editor, rule_sets):
    client = Client()
    client.force_login(second_editor)
    return client


def publish_data(version, **extra):
    """The publish form with a reason for the publication and for every changed
    outcome (what a careful second editor posts)."""
    data = {"reason": "Reviewed against the guideline text.", **extra}
    for change in authoring.version_outcome_changes(version):
        data[f"ack_{change.id}"] = "Intended: reviewed."
    return data


@pytest.fixture
def staff_clinician(organization):
    return UserFactory(username="dana", is_staff=True)


@pytest.fixture
def draft(editor, rule_sets):
    return authoring.version_copy_to_draft(
        version=active(), user=editor, label="2020.2"
    )


def edit_row(client, row, *, as_json=False, **changes):
    """Post the row's change form; ``as_json``: the form switched to the JSON editor."""
    model = row._meta.model_name
    query = "?condition=json" if as_json else ""
    return client.post(
        url(f"{model}_change", row.pk) + query, row_post_data(row, **changes)
    )


def test_editor_drafts_edits_and_publishes_through_the_admin(
    editor_client, editor, approver_client, second_editor
):
    original = active()
    assert editor_client.get(url("rulesetversion_changelist")).status_code == 200
    page = editor_client.get(url("rulesetversion_change", original.pk))
    assert b"Create a draft from this version" in page.content
    assert b"pending clinical verification" in page.content

    response = editor_client.post(
        url("rulesetversion_draft", original.pk), {"label": "2020.2"}
    )
    draft = RuleSetVersion.objects.get(rule_set__code=CODE, version="2020.2")
    assert response.status_code == 302
    assert response.url == url("rulesetversion_change", draft.pk)
    assert (draft.status, draft.based_on, draft.created_by) == (
        "draft",
        original,
        editor,
    )
    assert b"if " in editor_client.get(response.url).content

    rule = draft.recommendationrulerow_set.order_by("position").first()
    response = edit_row(editor_client, rule, detail="Reworded by the editor.")
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.detail == "Reworded by the editor."

    response = approver_client.post(
        url("rulesetversion_publish", draft.pk),
        publish_data(draft, acknowledge_pending="on"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    original.refresh_from_db()
    assert (draft.status, original.status) == ("published", "retired")
    assert draft.published_by == second_editor
    assert list(draft.edited_by.all()) == [editor]
    assert draft.publication_reason == "Reviewed against the guideline text."
    assert original.retired_at is not None


def test_clinician_cannot_author(client, clinician, staff_clinician, rule_sets):
    version = active()
    client.force_login(staff_clinician)
    for name in ("rulesetversion_changelist",):
        assert client.get(url(name)).status_code == 403
    for name in (
        "rulesetversion_draft",
        "rulesetversion_publish",
        "rulesetversion_rollback",
        "rulesetversion_compare",
    ):
        assert client.get(url(name, version.pk)).status_code == 403
        assert client.post(url(name, version.pk), {"label": "x"}).status_code == 403
    row = version.severitycriterionrow_set.first()
    assert client.get(url("severitycriterionrow_change", row.pk)).status_code == 403
    assert RuleSetVersion.objects.count() == 2

    client.force_login(clinician)  # not staff: sent to the admin login
    response = client.get(url("rulesetversion_draft", version.pk))
    assert response.status_code == 302
    assert "login" in response.url


def test_published_version_is_immutable_in_the_services(editor, rule_sets):
    version = active()
    row = version.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.45"]
    with pytest.raises(services.GuidelineError, match="immutable"):
        authoring.rule_row_save(row=row, user=editor)
    with pytest.raises(services.GuidelineError, match="immutable"):
        authoring.rule_row_delete(row=row, user=editor)
    with pytest.raises(services.GuidelineError, match="immutable"):
        authoring.version_delete(version=version)
    row.refresh_from_db()
    assert row.condition == ["echo.eroa_cm2", ">=", "0.4"]


def test_a_row_cannot_be_moved_out_of_a_published_version(editor, draft):
    published_row = active().severitycriterionrow_set.get(key="eroa_severe")
    published_row.version = draft
    with pytest.raises(services.GuidelineError, match="does not belong"):
        authoring.rule_row_save(row=published_row, user=editor)


def test_published_version_is_immutable_in_the_admin(editor_client, rule_sets):
    version = active()
    row = version.severitycriterionrow_set.get(key="eroa_severe")
    page = editor_client.get(url("severitycriterionrow_change", row.pk))
    assert page.status_code == 200
    assert b'name="condition_value"' not in page.content  # read-only view
    response = edit_row(editor_client, row, condition_value="0.45")
    assert response.status_code == 403
    assert (
        editor_client.post(
            url("severitycriterionrow_delete", row.pk), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        editor_client.post(
            url("rulesetversion_delete", version.pk), {"post": "yes"}
        ).status_code
        == 403
    )
    version_page = editor_client.get(url("rulesetversion_change", version.pk))
    assert b'name="title"' not in version_page.content
    row.refresh_from_db()
    assert row.condition[2] == "0.4"


def test_an_invalid_row_is_refused_naming_the_row_and_the_field(editor_client, draft):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    response = edit_row(editor_client, row, condition_value="9")
    assert response.status_code == 200
    assert "Rule row eroa_severe, field condition" in response.content.decode()
    assert "plausible range" in response.content.decode()

    row = draft.severitycriterionrow_set.get(key="eroa_moderate_to_severe")
    response = edit_row(editor_client, row, condition_value="0.45")
    assert response.status_code == 200
    assert "cut-offs must rise" in response.content.decode()

    rule = draft.recommendationrulerow_set.first()
    response = edit_row(editor_client, rule, code="no_such_code")
    assert f"Rule row {rule.key}, field code" in response.content.decode()

    response = edit_row(
        editor_client,
        rule,
        as_json=True,
        condition=json.dumps(["echo.lvef_pct", "includes", 3]),
    )
    assert f"Rule row {rule.key}, field condition" in response.content.decode()
    assert "condition" in response.context_data["adminform"].form.errors
    assert SeverityCriterionRow.objects.get(pk=row.pk).condition[2] == "0.3"


def test_the_service_validates_the_whole_draft(editor, draft):
    row = draft.severitycriterionrow_set.get(key="eroa_moderate_to_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.45"]
    with pytest.raises(services.GuidelineError) as refused:
        authoring.rule_row_save(row=row, user=editor)
    assert any(
        (p.table, p.field) == ("severity", "when") and "cut-offs must rise" in p.message
        for p in refused.value.problems
    )


def test_a_group_condition_is_edited_as_json(editor_client, draft):
    rule = draft.recommendationrulerow_set.filter(condition__has_key="all").first()
    new = {"all": [*rule.condition["all"], ["echo.lvef_pct", ">", 30]]}
    response = edit_row(editor_client, rule, condition=json.dumps(new))
    assert response.status_code == 302, response.content.decode()[:3000]
    rule.refresh_from_db()
    assert rule.condition["all"][-1] == ["echo.lvef_pct", ">", "30"]


def test_a_breaking_change_is_refused_at_publication_naming_the_case(
    editor_client, draft
):
    before = active()
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    assert edit_row(editor_client, row, condition_value="0.50").status_code == 302

    checks = editor_client.get(url("rulesetversion_check", draft.pk)).content.decode()
    assert "MR-023" in checks

    response = editor_client.post(
        url("rulesetversion_publish", draft.pk), {"acknowledge_pending": "on"}
    )
    assert response.status_code == 409
    assert "publication refused" in response.content.decode()
    assert "MR-023: severity indeterminate" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert active() == before


def test_acknowledgement_is_required_and_recorded(
    approver_client, second_editor, draft
):
    response = approver_client.post(
        url("rulesetversion_publish", draft.pk), publish_data(draft)
    )
    assert response.status_code == 409
    assert "acknowledgement" in response.content.decode()
    assert "jet_small_central [M]" in response.content.decode()  # the pending rules
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert draft.pending_rules_acknowledged_by is None

    approver_client.post(
        url("rulesetversion_publish", draft.pk),
        publish_data(draft, acknowledge_pending="on"),
    )
    draft.refresh_from_db()
    assert draft.status == "published"
    assert draft.pending_rules_acknowledged_by == second_editor
    assert draft.pending_rules_acknowledged_at is not None


def test_publication_switches_evaluation_to_the_new_version(
    second_editor, draft, django_capture_on_commit_callbacks
):
    vignette = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-011")
    before = services.guideline_evaluate(data=vignette.input, guideline=CODE)
    with django_capture_on_commit_callbacks(execute=True):  # the cache moves on commit
        authoring.version_publish(
            version=draft, user=second_editor, reason="r", acknowledge_pending=True
        )
    after = services.guideline_evaluate(data=vignette.input, guideline=CODE)
    assert before.version_id != after.version_id == draft.pk
    assert (
        RuleSetVersion.objects.filter(rule_set__code=CODE, status="published").count()
        == 1
    )


def test_rollback_is_a_draft_published_through_the_same_gate(
    editor_client, editor, approver_client, second_editor, draft
):
    original = active()
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    assert edit_row(editor_client, row, condition_value="0.41").status_code == 302
    approver_client.post(
        url("rulesetversion_publish", draft.pk),
        publish_data(draft, acknowledge_pending="on"),
    )
    assert active() == draft

    page = editor_client.get(url("rulesetversion_change", original.pk)).content.decode()
    assert "Roll back to this version" in page
    response = editor_client.post(
        url("rulesetversion_rollback", original.pk), {"label": "2020.3"}
    )
    rollback = RuleSetVersion.objects.get(rule_set__code=CODE, version="2020.3")
    assert response.status_code == 302
    assert response.url == url("rulesetversion_publish", rollback.pk)
    assert (rollback.status, rollback.is_rollback, rollback.based_on) == (
        "draft",
        True,
        original,
    )
    assert active() == draft  # nothing is published yet

    # the editor who asked for the rollback cannot publish it alone
    response = editor_client.post(
        url("rulesetversion_publish", rollback.pk),
        publish_data(rollback, acknowledge_pending="on"),
    )
    assert response.status_code == 409
    assert "a second guideline editor" in response.content.decode()
    # the second editor sees what changes back (EROA 0.40 cm² is severe again)
    page = approver_client.get(url("rulesetversion_publish", rollback.pk))
    assert "EROA 0.4 cm²" in page.content.decode()
    response = approver_client.post(
        url("rulesetversion_publish", rollback.pk),
        publish_data(rollback, acknowledge_pending="on"),
    )
    assert response.status_code == 302
    restored = active()
    assert restored == rollback
    assert restored.content_hash == original.content_hash
    assert restored.published_by == second_editor
    assert restored.outcome_changes
    draft.refresh_from_db()
    assert draft.status == "retired"
    assert (
        services.guideline_evaluate(
            data={"patient": {"age_years": 60, "sex": "male"}}, guideline=CODE
        ).version_id
        == restored.pk
    )


def test_compare_shows_changed_rules_side_by_side(editor_client, draft):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    edit_row(editor_client, row, condition_value="0.50", section="Edited section")
    page = editor_client.get(url("rulesetversion_compare", draft.pk)).content.decode()
    assert "1 changed, 0 added, 0 removed" in page
    assert "eroa_severe" in page
    assert "EROA" in page
    assert "0.4</td>" in page
    assert "0.50</td>" in page
    assert "Edited section" in page


def test_every_row_edit_is_in_the_history(editor_client, editor, draft):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    edit_row(editor_client, row, condition_value="0.45")
    records = SeverityCriterionRow.history.filter(id=row.pk).order_by("history_date")
    assert records.count() == 2
    assert records.last().history_user == editor
    assert records.last().condition == ["echo.eroa_cm2", ">=", "0.45"]
    page = editor_client.get(
        url("severitycriterionrow_history", row.pk)
    ).content.decode()
    assert editor.username in page
    assert "0.45" in page
    assert "0.4" in page


def test_editor_adds_a_test_case_that_gates_publication(editor_client, draft):
    rule_set = draft.rule_set
    response = editor_client.post(
        url("rulesettestcase_add"),
        {
            "rule_set": rule_set.pk,
            "name": "ED-001 large EROA",
            "description": "added by an editor",
            "active": "on",
            "in_etiology": "degenerative_prolapse",
            "in_patient_age_years": "60",
            "in_patient_sex": "male",
            "in_echo_eroa_cm2": "0.45",
            "in_echo_regurgitant_volume_ml": "70",
            "exp_severity": "mild",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = RuleSetTestCase.objects.get(name="ED-001 large EROA")
    assert case.origin == "editor"
    assert case.input == {
        "etiology": "degenerative_prolapse",
        "patient": {"age_years": 60, "sex": "male"},
        "echo": {"eroa_cm2": 0.45, "regurgitant_volume_ml": 70},
    }
    assert case.expected == {"severity": "mild"}
    response = editor_client.post(
        url("rulesetversion_publish", draft.pk), {"acknowledge_pending": "on"}
    )
    assert response.status_code == 409
    assert "ED-001 large EROA: severity severe" in response.content.decode()


def test_a_bad_test_case_is_refused(editor_client, rule_sets):
    rule_set = active().rule_set
    response = editor_client.post(
        url("rulesettestcase_add"),
        {
            "rule_set": rule_set.pk,
            "name": "bad",
            "active": "on",
            "in_echo_eroa_cm2": "9",
            "exp_severity": "huge",
            "exp_must_not": ["nope"],
        },
    )
    assert response.status_code == 200
    errors = response.context_data["adminform"].form.errors
    assert "must be between" in errors["in_echo_eroa_cm2"][0]
    assert errors["in_patient_age_years"] == ["is required"]
    assert "exp_severity" in errors
    assert "exp_must_not" in errors
    assert not RuleSetTestCase.objects.filter(name="bad").exists()


def test_a_draft_can_be_deleted_a_published_version_cannot(editor_client, draft):
    response = editor_client.post(
        url("rulesetversion_delete", draft.pk), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RuleSetVersion.objects.filter(pk=draft.pk).exists()


def test_editors_group_has_the_guideline_permissions(db):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="guideline editors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {
        "change_rulesetversion",
        "change_severitycriterionrow",
        "add_rulesettestcase",
        "view_historicalseveritycriterionrow",
        "add_recommendationcode",
        "view_historicalrecommendationcode",
    } <= codenames


def test_a_drafts_notes_are_edited_as_lines_not_json(editor_client, editor, draft):
    page = editor_client.get(url("rulesetversion_change", draft.pk))
    form = page.context_data["adminform"].form
    assert form["notes"].value() == "\n".join(draft.notes)
    data = {name: form[name].value() for name in form.fields}
    data["notes"] = "First note.\n\n  Second note, reviewed.  \n"
    inlines = ("severitycriterionrow_set", "stagecriterionrow_set", "codes")
    for prefix in (*inlines, "recommendationrulerow_set"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = editor_client.post(url("rulesetversion_change", draft.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.notes == ["First note.", "Second note, reviewed."]
    assert draft.last_edited_by == editor
