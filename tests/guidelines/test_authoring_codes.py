"""Recommendation codes a rule-set version adds to the contract's, authored in the admin:
an editor adds one to a draft and a rule recommends it; a code still recommended cannot
be renamed or deleted away; a contract code cannot be redeclared; a published version's
codes never change."""

import pytest

from guidelines import authoring, services
from guidelines.loaders import RuleSetError, document_read, ruleset_from_document
from guidelines.models import RecommendationCode, RecommendationRuleRow
from tests.guidelines.test_authoring import active, edit_row, url


@pytest.fixture
def editor_client(client, editor, rule_sets):
    client.force_login(editor)
    return client


@pytest.fixture
def draft(editor, rule_sets):
    return authoring.version_copy_to_draft(
        version=active(), user=editor, label="2020.2"
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"code": "surgery_mv", "title": "MV surgery"},
            "codes[surgery_mv]: 'surgery_mv' is already a contract recommendation code",
        ),
        (
            {"code": "Redo-Surgery", "title": "Redo"},
            "codes[Redo-Surgery]: code must be 1 to 60 lowercase letters",
        ),
        ({"code": "", "title": "No code"}, "codes[3]: code must be"),
        (
            {"code": "mitral_redo", "title": " "},
            "codes[mitral_redo]: title is required",
        ),
        (
            {"code": "coronary_assessment", "title": "Twice"},
            "codes[coronary_assessment]: duplicate code 'coronary_assessment'",
        ),
    ],
)
def test_a_rule_set_document_refuses_a_bad_code(entry, problem):
    doc = document_read("acc_aha_2020")
    doc["codes"] = [*doc["codes"], entry]
    with pytest.raises(RuleSetError) as refused:
        ruleset_from_document(doc)
    assert any(str(p).startswith(problem) for p in refused.value.errors), refused.value
    assert {(p.table, p.field) for p in refused.value.errors} <= {
        ("codes", "code"),
        ("codes", "title"),
    }


def test_an_editor_adds_a_code_and_a_rule_recommends_it(editor_client, editor, draft):
    page = editor_client.get(url("rulesetversion_change", draft.pk)).content.decode()
    add = url("recommendationcode_add") + f"?version={draft.pk}"
    assert add in page  # the version page links to the add form
    response = editor_client.post(
        url("recommendationcode_add"),
        {"version": draft.pk, "code": "mitral_redo", "title": "Redo mitral surgery"},
    )
    assert response.status_code == 302
    code = RecommendationCode.objects.get(version=draft, code="mitral_redo")
    assert code.history.first().history_user == editor

    rule = draft.recommendationrulerow_set.filter(code="surgery_mv").first()
    response = edit_row(editor_client, rule, code="mitral_redo")
    assert response.status_code == 302
    compiled = services.compiled_version(draft.pk)
    assert "mitral_redo" in {r.code for r in compiled.rules}
    assert active().codes.filter(code="mitral_redo").count() == 0  # only the draft


def test_a_code_still_recommended_cannot_be_renamed_or_deleted(
    editor_client, editor, draft
):
    code = RecommendationCode.objects.create(
        version=draft, code="mitral_redo", title="Redo mitral surgery"
    )
    rule = draft.recommendationrulerow_set.filter(code="surgery_mv").first()
    rule.code = "mitral_redo"
    authoring.rule_row_save(row=rule, user=editor)

    response = editor_client.post(
        url("recommendationcode_change", code.pk),
        {"code": "mitral_redo_surgery", "title": "Redo mitral surgery"},
    )
    assert response.status_code == 200
    assert (
        f"rule[{rule.key}]: code &#x27;mitral_redo&#x27;" in response.content.decode()
    )

    response = editor_client.post(
        url("recommendationcode_delete", code.pk), {"post": "yes"}, follow=True
    )
    assert "would not be valid" in response.content.decode()
    assert f"rule[{rule.key}]" in response.content.decode()
    code.refresh_from_db()
    assert code.code == "mitral_redo"
    assert RecommendationRuleRow.objects.get(pk=rule.pk).code == "mitral_redo"


def test_an_unused_code_can_be_deleted_from_a_draft(editor_client, draft):
    code = RecommendationCode.objects.create(
        version=draft, code="mitral_redo", title="Redo mitral surgery"
    )
    response = editor_client.post(
        url("recommendationcode_delete", code.pk), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RecommendationCode.objects.filter(pk=code.pk).exists()


def test_a_contract_code_cannot_be_redeclared(editor_client, draft):
    response = editor_client.post(
        url("recommendationcode_add"),
        {"version": draft.pk, "code": "teer", "title": "TEER again"},
    )
    assert response.status_code == 200
    assert "already a contract recommendation code" in response.content.decode()
    assert not draft.codes.filter(code="teer").exists()


def test_a_published_versions_codes_never_change(editor_client, editor, rule_sets):
    code = active().codes.get(code="coronary_assessment")
    response = editor_client.post(
        url("recommendationcode_change", code.pk),
        {"code": "coronary_assessment", "title": "Renamed"},
    )
    assert response.status_code == 403
    response = editor_client.post(
        url("recommendationcode_delete", code.pk), {"post": "yes"}
    )
    assert response.status_code == 403
    response = editor_client.post(
        url("recommendationcode_add"),
        {"version": active().pk, "code": "mitral_redo", "title": "Redo"},
    )
    assert response.status_code == 200  # the form refuses a published version
    assert not active().codes.filter(code="mitral_redo").exists()
    code.title = "Renamed"
    with pytest.raises(services.GuidelineError, match="immutable"):
        authoring.version_codes_save(version=active(), codes=[code], user=editor)
