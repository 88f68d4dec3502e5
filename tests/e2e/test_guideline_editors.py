"""The guideline editors' pages in a real browser (issue 15 item 9, issue 13 item 5):

- a rule row's condition is edited in one place (a line, or the JSON for a group), and
  what the page shows after a save is what was saved;
- a refused edit is shown at the field the problem names;
- test cases are forms, and a typed value that does not parse is refused at its field;
- no action or button is offered that is always refused;
- the publish page shows the diff, the replay impact and the gate's changed outcomes.

Every page is audited by axe-core (WCAG 2.1 A/AA) and saved as a full-page screenshot
under ``artifacts/editors/``.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Page, expect

from assessments.services import assessment_create
from guidelines import authoring, services
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus

from .test_accessibility import violations
from .test_guideline_authoring import sign_in

pytestmark = pytest.mark.e2e
CODE = "acc_aha_2020"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "editors"


def audit(page: Page, name: str, found: dict[str, list[str]]) -> None:
    """Screenshot the whole page and record its accessibility violations."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    found[name] = violations(page)


@pytest.fixture
def editors(editor, second_editor):
    """Both editors with the group's permissions (a transactional flush drops the
    group the data migration made)."""
    group = Group.objects.get(name="guideline editors")
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="guidelines")
    )
    return editor, second_editor


@pytest.fixture
def draft(editors):
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    return authoring.version_copy_to_draft(
        version=active, user=editors[0], label="edit-1"
    )


def save(page: Page) -> None:
    page.get_by_role("button", name="Save and continue editing").click()


def test_a_rule_row_condition_is_edited_in_one_place(
    page: Page, live_server, editors, draft
):
    base = live_server.url
    found: dict[str, list[str]] = {}
    sign_in(page, base, editors[0])
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row_url = f"{base}/admin/guidelines/severitycriterionrow/{row.pk}/change/"

    # One condition: a line, and no JSON box to disagree with it.
    page.goto(row_url)
    expect(page.locator("#id_condition_value")).to_have_value("0.4")
    expect(page.locator("#id_condition")).to_have_count(0)
    audit(page, "row-line", found)

    # A value the whole draft refuses is shown at the value, naming row and field.
    page.locator("#id_condition_value").fill("0.25")
    save(page)
    error = page.locator(".field-condition_value .errorlist, .errornote")
    expect(page.locator(".errorlist").first).to_contain_text("cut-offs must rise")
    expect(error.first).to_be_visible()
    audit(page, "row-refused", found)
    assert services.compiled_version(draft.pk)  # the draft is unchanged and valid
    row.refresh_from_db()
    assert row.condition == ["echo.eroa_cm2", ">=", "0.4"]

    # A valid edit: what the page shows after the save is what was saved.
    page.goto(row_url)
    page.locator("#id_condition_value").fill("0.45")
    save(page)
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#id_condition_value")).to_have_value("0.45")
    expect(page.locator(".field-reads_as_condition")).to_contain_text("≥ 0.45")
    row.refresh_from_db()
    assert row.condition == ["echo.eroa_cm2", ">=", "0.45"]

    # Written as a group: the JSON box replaces the line, starting from the condition.
    page.get_by_role("link", name=re.compile("Write a group instead")).click()
    expect(page.locator("#id_condition_value")).to_have_count(0)
    box = page.locator("#id_condition")
    expect(box).to_have_value(re.compile(r'\["echo.eroa_cm2", ">=", "0.45"\]'))
    audit(page, "row-json", found)
    # A band is one cut-off: a group is refused, at the JSON box.
    box.fill('{"all": [["echo.eroa_cm2", ">=", 0.45], ["echo.lvef_pct", ">", 30]]}')
    save(page)
    expect(page.locator(".field-condition .errorlist")).to_contain_text(
        "Rule row eroa_severe, field condition: a band is one"
    )
    audit(page, "row-json-refused", found)

    # ACC/AHA 2020 Table 17: C2 is LVEF ≤ 60 % or LVESD ≥ 40 mm; one row as a group.
    stage = draft.stagecriterionrow_set.get(key="c2_lvesd")
    page.goto(f"{base}/admin/guidelines/stagecriterionrow/{stage.pk}/change/")
    page.get_by_role("link", name=re.compile("Write a group instead")).click()
    page.locator("#id_condition").fill(
        '{"any": [["echo.lvesd_mm", ">=", 40], ["echo.lvef_pct", "<=", 60]]}'
    )
    save(page)
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    # Back on the row's own page: a group, so the JSON box alone, holding what was saved.
    expect(page.locator("#id_condition_value")).to_have_count(0)
    expect(page.locator("#id_condition")).to_have_value(re.compile("lvef_pct"))
    expect(page.locator(".field-reads_as_condition")).to_contain_text("LVEF")
    stage.refresh_from_db()
    assert stage.condition == {
        "any": [["echo.lvesd_mm", ">=", "40"], ["echo.lvef_pct", "<=", "60"]]
    }
    assert found == {name: [] for name in found}


def test_test_cases_are_forms_and_refuse_a_value_at_its_field(
    page: Page, live_server, editors
):
    base = live_server.url
    found: dict[str, list[str]] = {}
    sign_in(page, base, editors[0])
    # MR-005: asymptomatic severe primary MR (flail), LVEF 66 %, LVESD 36 mm: stage C1.
    case = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-005")
    case_url = f"{base}/admin/guidelines/rulesettestcase/{case.pk}/change/"
    page.goto(case_url)
    expect(page.locator("textarea#id_input")).to_have_count(0)
    expect(page.locator("#id_in_echo_eroa_cm2")).to_have_value(
        str(case.input["echo"]["eroa_cm2"])
    )
    expect(page.locator("#id_exp_severity")).to_have_value("severe")
    audit(page, "test-case", found)

    lvesd = page.locator("#id_in_echo_lvesd_mm")
    for typed, message in (("42e", "no exponent"), ("0,8", "must be a number")):
        lvesd.fill(typed)
        save(page)
        expect(page.locator(".field-in_echo_lvesd_mm .errorlist")).to_contain_text(
            message
        )
        expect(lvesd).to_have_value(typed)  # kept as typed, never dropped
    audit(page, "test-case-refused", found)
    case.refresh_from_db()
    assert case.input["echo"]["lvesd_mm"] == 36  # nothing stored while refused

    # ACC/AHA 2020 Table 17: LVESD ≥ 40 mm makes it stage C2.
    lvesd.fill("41")
    page.locator("#id_exp_stage").select_option("C2")
    save(page)
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator(".field-against_active_version")).to_contain_text("passes")
    case.refresh_from_db()
    assert (case.input["echo"]["lvesd_mm"], case.expected["stage"]) == (41, "C2")
    audit(page, "test-case-saved", found)
    assert found == {name: [] for name in found}


def test_the_publish_page_shows_the_diff_the_replay_impact_and_the_gate(
    page: Page, browser, live_server, editors, draft, encounter, clinician
):
    """ACC/AHA 2020 Table 17 (SPEC): LVESD ≥ 40 mm makes asymptomatic severe primary MR
    stage C2. Moved to 45 mm, a stored assessment with LVESD 42 mm (MR-005, flail,
    asymptomatic) leaves C2."""
    base = live_server.url
    found: dict[str, list[str]] = {}
    editor, reviewer_user = editors
    vignette = RuleSetTestCase.objects.get(rule_set__code=CODE, name="MR-005")
    data = {k: v for k, v in vignette.input.items() if k != "patient"}
    data["echo"] = {**data["echo"], "lvesd_mm": 42}
    stored = assessment_create(encounter=encounter, data=data, author=clinician)
    assert stored.result["stage"] == "C2"
    row = draft.stagecriterionrow_set.get(key="c2_lvesd")
    row.condition = ["echo.lvesd_mm", ">=", 45]
    authoring.rule_row_save(row=row, user=editor)
    draft_url = f"{base}/admin/guidelines/rulesetversion/{draft.pk}/change/"

    # The versions list offers no "Delete selected" (refused for every published one).
    sign_in(page, base, editor)
    page.goto(f"{base}/admin/guidelines/rulesetversion/")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert not any("Delete" in o for o in options), options
    audit(page, "versions", found)

    # The draft's own editor sees the review, but no Publish button.
    page.goto(draft_url)
    audit(page, "draft", found)
    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#four-eyes")).to_contain_text("charlie edited this draft")
    expect(page.locator("#no-publish")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Publish "))).to_have_count(0)
    audit(page, "publish-own-draft", found)

    reviewer = browser.new_context().new_page()
    sign_in(reviewer, base, reviewer_user)
    reviewer.goto(draft_url)
    reviewer.get_by_role("link", name="Publish…").click()
    diff = reviewer.locator("#diff")
    expect(diff).to_contain_text("c2_lvesd")
    expect(diff).to_contain_text("1 changed, 0 added, 0 removed")
    expect(diff.locator("tr.changed")).to_contain_text("≥ 45")
    expect(diff).to_contain_text("then stage C2")
    impact = reviewer.locator("#impact-replay")
    expect(impact).to_contain_text("1 of 1")
    expect(impact).to_contain_text("C2")
    outcome = reviewer.locator(
        "#changed-outcomes tr.changed-outcome", has_text="LVESD 40 mm, asymptomatic"
    )
    expect(outcome).to_contain_text("stage C2 → C1")
    audit(reviewer, "publish", found)
    reviewer.goto(f"{base}/admin/guidelines/rulesetversion/{draft.pk}/compare/")
    audit(reviewer, "compare", found)
    reviewer.context.close()
    assert found == {name: [] for name in found}
