"""The publication gate (SPEC 0.14 p) and four eyes, at the service level: a moved
threshold is caught by the boundary cases of the published version and of the shipped
data file, each changed outcome needs a reason, and a second editor publishes."""

import json

import pytest
from django.contrib.auth.models import Group

from guidelines import authoring, services
from guidelines.loaders import document_read
from guidelines.models import RuleSetVersion, VersionStatus
from tests.factories import UserFactory

CODE = "acc_aha_2020"
# ACC/AHA 2020 Table 17: stage C2 (asymptomatic severe primary MR) is LVEF ≤ 60 % or
# LVESD ≥ 40 mm; mitral surgery is class 1 in C2 (§7.3.3). The shipped threshold is 40.
LVESD_40_CHANGE = "LVESD 40 mm, asymptomatic severe primary MR: stage C2 → C1"
# Moving C2 up to 45 mm is refused at publication by the safety proof (docs/guideline.md
# §6b invariant 4: LVESD ≥ 40 mm at low or intermediate risk always gets surgery), so
# the drafts these tests publish lower the severe RVol cut-off to 59 mL instead.
RVOL_59 = "regurgitant volume 59 mL"
SHIPPED_LABEL = document_read(CODE)["ruleset"]["version"]


def active():
    return RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )


@pytest.fixture
def draft(editor, rule_sets):
    return authoring.version_copy_to_draft(
        version=active(), user=editor, label="gate-1"
    )


def move_c2_lvesd(version, user, mm):
    row = version.stagecriterionrow_set.get(key="c2_lvesd")
    row.condition = ["echo.lvesd_mm", ">=", mm]
    authoring.rule_row_save(row=row, user=user)


def lower_severe_rvol(version, user):
    row = version.severitycriterionrow_set.get(key="rvol_severe")
    row.condition = ["echo.regurgitant_volume_ml", ">=", 59]
    authoring.rule_row_save(row=row, user=user)


def acknowledge_all(version, reason="Intended: reviewed."):
    return {c.id: reason for c in authoring.version_outcome_changes(version)}


def publish(version, user, **kwargs):
    kwargs.setdefault("acknowledgements", acknowledge_all(version))
    return authoring.version_publish(
        version=version,
        user=user,
        reason="Reviewed.",
        acknowledge_pending=True,
        **kwargs,
    )


def test_an_unchanged_draft_changes_no_outcome(draft):
    assert authoring.version_outcome_changes(draft) == []


def test_a_moved_c2_threshold_is_listed_in_clinical_words(draft, editor):
    move_c2_lvesd(draft, editor, 45)
    assert authoring.version_check(draft) == []  # the draft's own cases move with it
    changes = authoring.version_outcome_changes(draft)
    texts = [c.text for c in changes]
    # the published version's boundary case at its own cut-off, 40 mm
    [boundary] = [c for c in changes if c.case.startswith("LVESD 40 mm,")]
    assert boundary.text.startswith(LVESD_40_CHANGE)
    assert boundary.reference == (
        f"published version {SHIPPED_LABEL} (same as the shipped data file)"
    )
    assert any(
        c.startswith("Mitral valve surgery")
        and "(Class 1" in c
        and c.endswith("no longer recommended")
        for c in boundary.changes
    ), boundary.changes
    # the same cut-off placed on vignettes, listed once per distinct change
    assert all(t.startswith("LVESD 40 mm") for t in texts), texts
    assert any(t.startswith("LVESD 40 mm (on MR-") for t in texts), texts
    # one step below the published cut-off nothing changes (C1 either way)
    assert not any("LVESD 39 mm" in t for t in texts)


def test_a_moved_rule_threshold_is_caught_on_the_vignettes(editor, rule_sets):
    """ESC 2025 Rec. Table 6: surgery IIa B for asymptomatic severe primary MR with
    SPAP > 50 mmHg. Moved to > 60 mmHg, no band or stage boundary case sees it; the
    rule's cut-off placed on the vignettes does."""
    esc = RuleSetVersion.objects.get(
        rule_set__code="esc_eacts_2025", status=VersionStatus.PUBLISHED
    )
    draft = authoring.version_copy_to_draft(version=esc, user=editor, label="esc-gate")
    row = draft.recommendationrulerow_set.get(key="esc_af_or_ph")
    text = json.dumps(row.condition).replace(
        '["echo.pasp_mmhg", ">", "50"]', '["echo.pasp_mmhg", ">", "60"]'
    )
    assert text != json.dumps(row.condition)
    row.condition = json.loads(text)
    authoring.rule_row_save(row=row, user=editor)
    changes = authoring.version_outcome_changes(draft)
    assert changes
    assert all(
        c.case.startswith("Pulmonary artery systolic pressure 51 mmHg (on MR-")
        for c in changes
    ), [c.text for c in changes]
    assert any(
        "should be considered: AF secondary to MR or SPAP > 50 mmHg (Class IIa, "
        "Level B) no longer recommended" in c.text
        for c in changes
    ), [c.text for c in changes]


def test_a_changed_outcome_blocks_publication_until_acknowledged_with_a_reason(
    draft, editor, second_editor
):
    lower_severe_rvol(draft, editor)
    changes = authoring.version_outcome_changes(draft)
    all_but_one = {c.id: "Intended." for c in changes[1:]}
    for acknowledgements in ({}, {**all_but_one, changes[0].id: "   "}, all_but_one):
        with pytest.raises(services.GuidelineError) as refused:
            publish(draft, second_editor, acknowledgements=acknowledgements)
        assert "must each be acknowledged with a reason" in str(refused.value)
        expected = [c.text for c in (changes if not acknowledgements else changes[:1])]
        assert refused.value.problems == expected
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT

    reasons = {c.id: f"Trial data {i}." for i, c in enumerate(changes)}
    publish(draft, second_editor, acknowledgements=reasons)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    assert draft.outcome_changes == [c.as_record(reasons[c.id]) for c in changes]
    assert draft.published_by == second_editor
    assert list(draft.edited_by.all()) == [editor]


def test_the_shipped_data_file_is_a_reference_of_its_own(draft, editor, second_editor):
    """Once an editor's version with a severe RVol from 59 mL is active, a later draft still shows
    the change against the shipped data file (60 mL), not only against the active."""
    lower_severe_rvol(draft, editor)
    publish(draft, second_editor)
    later = authoring.version_copy_to_draft(version=draft, user=editor, label="gate-2")
    changes = authoring.version_outcome_changes(later)
    assert {c.reference for c in changes} == {
        f"shipped data file acc_aha_2020.toml ({SHIPPED_LABEL})"
    }
    assert any(RVOL_59 in c.text for c in changes)


def test_vignettes_are_run_through_the_draft(draft, editor):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.50"]
    authoring.rule_row_save(row=row, user=editor)
    cases = [c.case for c in authoring.version_outcome_changes(draft)]
    # MR-023: EROA 0.45 cm², severe under 0.40, no longer under 0.50
    assert any(case.startswith("vignette MR-023") for case in cases), cases
    assert any(case.startswith("EROA 0.4 cm²") for case in cases), cases


def test_the_editor_of_a_draft_cannot_publish_it(draft, editor, second_editor):
    with pytest.raises(services.GuidelineError, match="charlie edited this draft"):
        publish(draft, editor)
    # whoever changed a row is an editor too, by the row history
    lower_severe_rvol(draft, second_editor)
    with pytest.raises(services.GuidelineError, match="erin edited this draft"):
        publish(draft, second_editor)
    third = UserFactory(username="frank", is_staff=True)
    third.groups.add(Group.objects.get(name="guideline editors"))
    publish(draft, third)
    draft.refresh_from_db()
    assert draft.published_by == third
    assert {u.username for u in draft.edited_by.all()} == {"charlie", "erin"}


def test_a_header_edit_makes_an_editor(draft, second_editor):
    draft.title = "Edited title"
    authoring.version_header_save(version=draft, user=second_editor)
    with pytest.raises(services.GuidelineError, match="erin edited this draft"):
        publish(draft, second_editor)


def test_only_a_guideline_editor_publishes(draft, organization):
    staff = UserFactory(username="dana", is_staff=True)
    with pytest.raises(services.GuidelineError, match="only a guideline editor"):
        publish(draft, staff)


def test_a_reason_for_publication_is_required(draft, second_editor):
    with pytest.raises(services.GuidelineError, match="reason"):
        authoring.version_publish(
            version=draft, user=second_editor, reason=" ", acknowledge_pending=True
        )


def test_a_rollback_goes_through_the_same_gate(draft, editor, second_editor):
    original = active()
    lower_severe_rvol(draft, editor)
    publish(draft, second_editor)
    rollback = authoring.version_rollback(to=original, user=editor, label="gate-2")
    assert (rollback.status, rollback.is_rollback) == (VersionStatus.DRAFT, True)
    assert active() == draft
    changes = authoring.version_outcome_changes(rollback)
    assert {c.reference for c in changes} == {"published version gate-1"}
    assert any(
        c.text.startswith(
            "EROA 0.4 cm², regurgitant volume 59 mL, asymptomatic severe primary MR: "
            "severity severe → indeterminate"
        )
        for c in changes
    )
    with pytest.raises(services.GuidelineError, match="charlie edited this draft"):
        publish(rollback, editor)
    with pytest.raises(services.GuidelineError, match="acknowledged with a reason"):
        publish(rollback, second_editor, acknowledgements={})
    publish(rollback, second_editor)
    assert active() == rollback
    assert rollback.content_hash == original.content_hash


def test_a_draft_cannot_be_rolled_back_to(draft, editor):
    with pytest.raises(services.GuidelineError, match="is a draft"):
        authoring.version_rollback(to=draft, user=editor, label="x")


def test_the_check_page_lists_the_changed_outcomes_before_publication(
    client, draft, editor
):
    from django.urls import reverse

    move_c2_lvesd(draft, editor, 45)
    client.force_login(editor)
    page = client.get(
        reverse("admin:guidelines_rulesetversion_check", args=[draft.pk])
    ).content.decode()
    assert 'id="checks-passed"' in page  # its own cases pass ...
    assert LVESD_40_CHANGE in page  # ... and the moved threshold is still shown
