"""Editors change the guideline in the admin, in a real browser: a breaking change is
refused at publication with the failing test case named; a moved threshold (C2 LVESD
40 → 45 mm) is refused until each changed outcome is acknowledged with a reason, and then
by the safety proof with the counterexample patient; the editor alone cannot publish, a
second editor can; a rollback goes through the same gate; the changelog shows it. New evaluations use the published version,
and an assessment stored before keeps the version that produced it."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Page, expect

from assessments.services import assessment_create
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus
from guidelines.services import guideline_evaluate

pytestmark = pytest.mark.e2e
CODE = "acc_aha_2020"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def browser_editor(editor):
    """The editor with the group's permissions (a transactional flush drops the
    group the data migration made)."""
    group = Group.objects.get(name="guideline editors")
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="guidelines")
    )
    return editor


@pytest.fixture
def browser_second_editor(browser_editor, second_editor):
    return second_editor


def sign_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/admin/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(user.username)


def set_row_value(page: Page, draft_url: str, key: str, value: str) -> None:
    page.goto(draft_url)
    page.locator("td.field-row_link").get_by_role("link", name=key, exact=True).click()
    expect(page.locator("h1")).to_contain_text("criterion row")
    page.locator("#id_condition_value").fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")


def set_eroa_severe(page: Page, draft_url: str, value: str) -> None:
    set_row_value(page, draft_url, "eroa_severe", value)


def publish(page: Page, draft_url: str, *, reasons: bool = True) -> None:
    """Open the publish page, give a reason for every changed outcome (unless
    ``reasons`` is False) and for the publication, and press Publish."""
    page.goto(draft_url)
    page.get_by_role("link", name="Publish…").click()
    if reasons:
        for field in page.locator("#changed-outcomes input[type=text]").all():
            field.fill("Reviewed: intended.")
    page.locator("#id_reason").fill("Reviewed by a second editor.")
    page.locator("#id_acknowledge_pending").check()
    page.get_by_role("button", name=re.compile("^Publish ")).click()


def expect_no_publish_button(page: Page, draft_url: str) -> None:
    """The draft's own editor sees the review and why they cannot publish it, and no
    button the gate would always refuse."""
    page.goto(draft_url)
    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#four-eyes")).to_contain_text("a second guideline editor")
    expect(page.get_by_role("button", name=re.compile("^Publish "))).to_have_count(0)


def create_draft(page: Page, base: str, version, label: str) -> str:
    page.goto(f"{base}/admin/guidelines/rulesetversion/{version.pk}/change/")
    page.get_by_role("link", name="Create a draft from this version").click()
    page.locator("#id_label").fill(label)
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Draft {label} created")
    draft = RuleSetVersion.objects.get(rule_set__code=CODE, version=label)
    return f"{base}/admin/guidelines/rulesetversion/{draft.pk}/change/"


def test_editor_breaks_fixes_and_publishes_a_guideline_change(
    page: Page,
    browser,
    live_server,
    browser_editor,
    browser_second_editor,
    encounter,
    clinician,
):
    original = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    vignette = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-023").input
    data = {k: v for k, v in vignette.items() if k != "patient"}
    old = assessment_create(encounter=encounter, data=data, author=clinician)
    assert old.rule_set_version == original

    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, browser_editor)

    page.goto(
        f"{live_server.url}/admin/guidelines/rulesetversion/{original.pk}/change/"
    )
    page.get_by_role("link", name="Create a draft from this version").click()
    page.locator("#id_label").fill("2020.2")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator(".messagelist")).to_contain_text("Draft 2020.2 created")
    draft = RuleSetVersion.objects.get(rule_set__code=CODE, version="2020.2")
    draft_url = f"{live_server.url}/admin/guidelines/rulesetversion/{draft.pk}/change/"
    page.locator("#id_title").fill("ACC/AHA 2020, editor's draft")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # A breaking change: severe EROA from 0.40 to 0.50 cm² (valid as a row, wrong for MR-023).
    set_eroa_severe(page, draft_url, "0.50")
    page.goto(draft_url)
    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#failures")).to_contain_text("MR-023")
    expect(page.get_by_role("button", name=re.compile("^Publish "))).to_have_count(0)
    page.screenshot(
        path=str(ARTIFACTS / "guideline-publish-refused.png"), full_page=True
    )
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT

    # The compare page shows the threshold old and new.
    page.goto(draft_url)
    page.get_by_role("link", name="Compare with the active version").click()
    expect(page.locator("#compare-summary")).to_contain_text("1 changed")
    expect(page.locator("table.comparison")).to_contain_text("0.50")

    # Fixed; the editor cannot publish alone (no button, and why), a second editor does.
    set_eroa_severe(page, draft_url, "0.40")
    expect_no_publish_button(page, draft_url)
    reviewer = browser.new_context().new_page()
    sign_in(reviewer, live_server.url, browser_second_editor)
    publish(reviewer, draft_url)
    expect(reviewer.locator(".messagelist")).to_contain_text("Published 2020.2")
    reviewer.screenshot(path=str(ARTIFACTS / "guideline-published.png"), full_page=True)
    reviewer.context.close()

    draft.refresh_from_db()
    original.refresh_from_db()
    assert (draft.status, original.status) == ("published", "retired")
    assert draft.published_by == browser_second_editor
    assert list(draft.edited_by.all()) == [browser_editor]
    assert draft.pending_rules_acknowledged_by == browser_second_editor

    # A new evaluation uses the new version; the old assessment keeps the old one.
    assert guideline_evaluate(data=vignette, guideline=CODE).version_id == draft.pk
    new = assessment_create(encounter=encounter, data=data, author=clinician)
    assert new.rule_set_version == draft
    old.refresh_from_db()
    assert old.rule_set_version == original
    assert old.result["severity"] == "severe"


def test_a_moved_threshold_needs_a_reason_per_changed_outcome_and_a_second_editor(
    page: Page, browser, live_server, browser_editor, browser_second_editor
):
    """ACC/AHA 2020 Table 17: LVESD ≥ 40 mm makes asymptomatic severe primary MR
    stage C2 (surgery class 1). An editor moves it to 45 mm: the draft's own checks
    pass, but the gate shows LVESD 40 mm going from C2 to C1."""
    base = live_server.url
    original = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, base, browser_editor)
    draft_url = create_draft(page, base, original, "gate-lvesd")
    set_row_value(page, draft_url, "c2_lvesd", "45")
    page.goto(draft_url)
    page.get_by_role("link", name="Run checks").click()
    expect(page.locator("#checks-passed")).to_be_visible()  # own cases move with it

    # the editor alone: the page says who edited it, and offers no Publish button
    expect_no_publish_button(page, draft_url)

    reviewer = browser.new_context().new_page()
    sign_in(reviewer, base, browser_second_editor)
    reviewer.goto(draft_url)
    reviewer.get_by_role("link", name="Publish…").click()
    outcome = reviewer.locator(
        "#changed-outcomes tr.changed-outcome", has_text="LVESD 40 mm, asymptomatic"
    )
    expect(outcome).to_have_count(1)  # the published version's boundary case
    expect(outcome).to_contain_text(
        "LVESD 40 mm, asymptomatic severe primary MR: stage C2 → C1"
    )
    expect(outcome).to_contain_text("no longer recommended")
    expect(outcome).to_contain_text(f"published version {original.version}")
    reviewer.screenshot(
        path=str(ARTIFACTS / "guideline-gate-changed-outcomes.png"), full_page=True
    )

    # without a reason for the changed outcome: refused, nothing published
    publish(reviewer, draft_url, reasons=False)
    expect(reviewer.locator("#refusal")).to_contain_text(
        "must each be acknowledged with a reason"
    )
    expect(reviewer.locator("#problems")).to_contain_text("LVESD 40 mm")
    draft = RuleSetVersion.objects.get(rule_set__code=CODE, version="gate-lvesd")
    assert draft.status == VersionStatus.DRAFT

    # with every reason given, the safety proof still refuses it (docs/guideline.md
    # §6b invariant 4): a patient with LVESD 40-44 mm would lose class 1 surgery
    reviewer.goto(draft_url)
    reviewer.get_by_role("link", name="Publish…").click()
    for field in reviewer.locator("#changed-outcomes input[type=text]").all():
        field.fill("Accepted: LVESD 45 mm under local protocol review.")
    reviewer.locator("#id_reason").fill("C2 LVESD threshold moved to 45 mm.")
    reviewer.locator("#id_acknowledge_pending").check()
    reviewer.get_by_role("button", name=re.compile("^Publish ")).click()
    expect(reviewer.locator("#refusal")).to_contain_text("safety invariant")
    expect(reviewer.locator("#problems")).to_contain_text("LVESD ≥ 40 mm")
    expect(reviewer.locator("#problems")).to_contain_text(
        "Patient: Presentation: Chronic"
    )
    reviewer.screenshot(
        path=str(ARTIFACTS / "guideline-gate-safety-proof.png"), full_page=True
    )
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    reviewer.context.close()


def test_a_rollback_goes_through_the_same_gate(
    page: Page, browser, live_server, browser_editor, browser_second_editor
):
    base = live_server.url
    original = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    from guidelines import authoring

    moved = authoring.version_copy_to_draft(
        version=original, user=browser_editor, label="gate-moved"
    )
    # a severe RVol from 59 mL (moving C2 up is refused by the safety proof)
    row = moved.severitycriterionrow_set.get(key="rvol_severe")
    row.condition = ["echo.regurgitant_volume_ml", ">=", 59]
    authoring.rule_row_save(row=row, user=browser_editor)
    authoring.version_publish(
        version=moved,
        user=browser_second_editor,
        reason="moved",
        acknowledgements={c.id: "r" for c in authoring.version_outcome_changes(moved)},
        acknowledge_pending=True,
    )

    # the editor asks for the rollback: a draft, shown with its changed outcomes
    sign_in(page, base, browser_editor)
    page.goto(f"{base}/admin/guidelines/rulesetversion/{original.pk}/change/")
    page.get_by_role("link", name="Roll back to this version…").click()
    page.locator("#id_label").fill("gate-rollback")
    page.get_by_role("button", name="Roll back").click()
    expect(page.locator(".messagelist")).to_contain_text("Rollback draft gate-rollback")
    expect(page.locator("#changed-outcomes")).to_contain_text(
        "EROA 0.4 cm², regurgitant volume 59 mL, asymptomatic severe primary MR: "
        "severity severe → indeterminate"
    )
    rollback = RuleSetVersion.objects.get(rule_set__code=CODE, version="gate-rollback")
    assert rollback.status == VersionStatus.DRAFT
    rollback_url = f"{base}/admin/guidelines/rulesetversion/{rollback.pk}/change/"
    expect_no_publish_button(page, rollback_url)
    moved.refresh_from_db()
    assert moved.status == VersionStatus.PUBLISHED

    reviewer = browser.new_context().new_page()
    sign_in(reviewer, base, browser_second_editor)
    publish(reviewer, rollback_url, reasons=False)
    expect(reviewer.locator("#refusal")).to_contain_text("acknowledged with a reason")
    publish(reviewer, rollback_url)
    expect(reviewer.locator(".messagelist")).to_contain_text("Published gate-rollback")
    rollback.refresh_from_db()
    assert rollback.status == VersionStatus.PUBLISHED
    assert rollback.content_hash == original.content_hash
    reviewer.goto(f"{base}/guidelines/changelog/")
    expect(reviewer.locator(f"#changelog-{rollback.pk} h2")).to_contain_text(
        f"rollback to {original.version}"
    )
    reviewer.context.close()
