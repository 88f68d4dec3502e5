"""An editor changes the guideline in the admin, in a real browser: a breaking change is
refused at publication with the failing test case named; fixed, it is published, new
evaluations use it, and an assessment stored before keeps the version that produced it."""

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


def set_eroa_severe(page: Page, draft_url: str, value: str) -> None:
    page.goto(draft_url)
    key_cell = page.locator("td.field-key", has_text=re.compile(r"^\s*eroa_severe\s*$"))
    page.locator("tr", has=key_cell).get_by_role(
        "link", name=re.compile("^(View|Change)$")
    ).click()
    expect(page.locator("h1")).to_contain_text("Change severity criterion row")
    page.locator("#id_condition_value").fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")


def publish(page: Page, draft_url: str) -> None:
    page.goto(draft_url)
    page.get_by_role("link", name="Publish…").click()
    page.locator("#id_acknowledge_pending").check()
    page.get_by_role("button", name=re.compile("^Publish ")).click()


def test_editor_breaks_fixes_and_publishes_a_guideline_change(
    page: Page, live_server, browser_editor, encounter, clinician
):
    original = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    vignette = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-023").input
    data = {k: v for k, v in vignette.items() if k != "patient"}
    old = assessment_create(encounter=encounter, data=data, author=clinician)
    assert old.rule_set_version == original

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill(browser_editor.username)
    page.locator("#id_password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(browser_editor.username)

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
    publish(page, draft_url)
    expect(page.locator("#refusal")).to_contain_text("publication refused")
    expect(page.locator("#problems")).to_contain_text("MR-023")
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

    # Fixed, then published.
    set_eroa_severe(page, draft_url, "0.40")
    publish(page, draft_url)
    expect(page.locator(".messagelist")).to_contain_text("Published 2020.2")
    page.screenshot(path=str(ARTIFACTS / "guideline-published.png"), full_page=True)

    draft.refresh_from_db()
    original.refresh_from_db()
    assert (draft.status, original.status) == ("published", "retired")
    assert draft.published_by == browser_editor
    assert draft.pending_rules_acknowledged_by == browser_editor

    # A new evaluation uses the new version; the old assessment keeps the old one.
    assert guideline_evaluate(data=vignette, guideline=CODE).version_id == draft.pk
    new = assessment_create(encounter=encounter, data=data, author=clinician)
    assert new.rule_set_version == draft
    old.refresh_from_db()
    assert old.rule_set_version == original
    assert old.result["severity"] == "severe"
