"""The publish page shows a second editor what publishing would do: the draft's rows
against the active version, how many stored assessments would come out differently,
and the outcomes the publication gate finds changed at the moved thresholds. Nobody is
offered a button the gate always refuses."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from assessments.choices import AuditAction
from assessments.models import AuditEvent
from assessments.services import assessment_create
from guidelines import authoring
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus

CODE = "acc_aha_2020"


def url(name, *args):
    return reverse(f"admin:guidelines_{name}", args=args)


@pytest.fixture
def draft(editor, rule_sets):
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    return authoring.version_copy_to_draft(version=active, user=editor, label="2020.9")


@pytest.fixture
def stored(encounter, clinician, rule_sets):
    """MR-023: severe primary MR by EROA alone (0.45 cm², ASE 2017 EROA ≥ 0.40)."""
    data = dict(RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-023").input)
    data.pop("patient")
    return assessment_create(encounter=encounter, data=data, author=clinician)


def raise_eroa_severe(draft, editor):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.50"]
    authoring.rule_row_save(row=row, user=editor)


def test_the_publish_page_shows_the_diff_the_replay_impact_and_the_gate(
    client, second_editor, editor, draft, encounter, clinician
):
    """ACC/AHA 2020 Table 17: LVESD ≥ 40 mm makes asymptomatic severe primary MR stage
    C2. A draft moving it to 45 mm passes its own cases; a stored MR-005 (flail,
    asymptomatic) with LVESD 42 mm would go from C2 to C1."""
    data = dict(RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-005").input)
    data.pop("patient")
    data["echo"] = {**data["echo"], "lvesd_mm": 42}
    assert (
        assessment_create(encounter=encounter, data=data, author=clinician).result[
            "stage"
        ]
        == "C2"
    )
    row = draft.stagecriterionrow_set.get(key="c2_lvesd")
    row.condition = ["echo.lvesd_mm", ">=", 45]
    authoring.rule_row_save(row=row, user=editor)
    client.force_login(second_editor)
    response = client.get(url("rulesetversion_publish", draft.pk))
    assert response.status_code == 200
    page = response.content.decode()
    diff = page[page.index('id="diff"') : page.index("</section>")]
    assert "c2_lvesd" in diff
    assert "1 changed, 0 added, 0 removed" in diff
    assert "LV end-systolic diameter (mm) ≥ 40" in diff
    assert "LV end-systolic diameter (mm) ≥ 45" in diff
    assert "then stage C2" in diff  # the row, in words
    impact = page[page.index('id="impact-replay"') :]
    assert "<strong>1 of 1</strong>" in impact
    assert "Stage C1 (asymptomatic severe MR, LV function preserved)" in impact
    assert 'id="failures"' not in page
    assert AuditEvent.objects.filter(
        action=AuditAction.READ, detail__contains="replay of"
    ).exists()
    assert 'id="changed-outcomes"' in page
    assert 'value="Publish 2020.9"' in page
    changes = response.context_data["changes"]
    assert changes
    assert all(escape(c.text) in page for c in changes)


def test_an_unchanged_draft_shows_no_difference_and_no_impact(
    client, second_editor, draft, stored
):
    client.force_login(second_editor)
    page = client.get(url("rulesetversion_publish", draft.pk)).content.decode()
    assert 'id="no-differences"' in page
    assert "<strong>0 of 1</strong>" in page


def test_the_drafts_editor_is_not_offered_the_publish_button(client, editor, draft):
    client.force_login(editor)
    page = client.get(url("rulesetversion_publish", draft.pk)).content.decode()
    assert 'id="four-eyes"' in page
    assert "charlie edited this draft" in page
    assert 'id="no-publish"' in page
    assert 'name="_publish"' not in page
    assert 'id="diff"' in page  # still shown, to prepare the review
    response = client.post(
        url("rulesetversion_publish", draft.pk), {"reason": "mine", "ack": "on"}
    )
    assert response.status_code == 409  # and refused if posted anyway
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_an_invalid_draft_is_not_offered_the_publish_button(
    client, second_editor, draft
):
    # Invalid as a whole (stored around the validating services): no vc_mild row.
    draft.severitycriterionrow_set.filter(key="vc_mild").delete()
    client.force_login(second_editor)
    page = client.get(url("rulesetversion_publish", draft.pk)).content.decode()
    assert "a criterion with key &#x27;vc_mild&#x27; is required" in page
    assert 'name="_publish"' not in page


def test_the_version_list_offers_no_delete_that_is_refused(client, editor, draft):
    client.force_login(editor)
    response = client.get(url("rulesetversion_changelist"))
    actions = dict(response.context_data["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert "draft_from_selected" in actions
    # A draft is still deleted from its own page; a published version has no delete.
    assert client.get(url("rulesetversion_delete", draft.pk)).status_code == 200
    published = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    assert client.get(url("rulesetversion_delete", published.pk)).status_code == 403


def test_a_failing_case_is_shown_before_publishing_and_no_button_offered(
    client, second_editor, editor, draft
):
    """MR-023 (EROA 0.45 cm²) is severe MR by ASE 2017's EROA ≥ 0.40 cm²; a draft that
    moves the cut-off to 0.50 fails it, and the gate would refuse the publication."""
    raise_eroa_severe(draft, editor)
    client.force_login(second_editor)
    page = client.get(url("rulesetversion_publish", draft.pk)).content.decode()
    failures = page[page.index('id="failures"') :]
    assert "MR-023: severity" in failures
    assert 'name="_publish"' not in page


def test_the_check_page_links_each_problem_to_the_row_it_names(client, editor, draft):
    # Stored around the validating services, as a broken import would leave it.
    rule = draft.recommendationrulerow_set.order_by("position").first()
    type(rule).objects.filter(pk=rule.pk).update(evidence="X")
    draft.severitycriterionrow_set.filter(key="vc_mild").delete()
    client.force_login(editor)
    response = client.get(url("rulesetversion_check", draft.pk))
    problems = dict(response.context_data["invalid"])
    by_place = {(p.table, p.key, p.field): link for p, link in problems.items()}
    row_url = url("recommendationrulerow_change", rule.pk)
    assert by_place[("rule", rule.key, "evidence")] == row_url
    assert by_place[("severity", "", "")] == ""  # the table as a whole: no row
    assert f'href="{row_url}"' in response.content.decode()
