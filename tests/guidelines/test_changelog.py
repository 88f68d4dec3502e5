"""The guideline changelog: each published version with its editors, approver, reasons
and acknowledged changed outcomes, for clinicians (signed in); the same record on the
version's admin page."""

import pytest
from django.urls import reverse

from guidelines import authoring
from guidelines.models import RuleSetVersion, VersionStatus

CODE = "acc_aha_2020"


@pytest.fixture
def published(editor, second_editor, rule_sets):
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    draft = authoring.version_copy_to_draft(version=active, user=editor, label="gate-1")
    # A severe RVol from 59 mL (moving C2 up instead is refused by the safety proof).
    row = draft.severitycriterionrow_set.get(key="rvol_severe")
    row.condition = ["echo.regurgitant_volume_ml", ">=", 59]
    authoring.rule_row_save(row=row, user=editor)
    changes = authoring.version_outcome_changes(draft)
    return authoring.version_publish(
        version=draft,
        user=second_editor,
        reason="Threshold under review (test).",
        acknowledgements={c.id: "Accepted for the LVESD study." for c in changes},
        acknowledge_pending=True,
    )


def test_the_changelog_is_for_signed_in_users(client, rule_sets):
    response = client.get(reverse("guideline_changelog"))
    assert response.status_code == 302
    assert "login" in response.url


def test_the_changelog_shows_the_recorded_approval(client, clinician, published):
    client.force_login(clinician)
    body = client.get(reverse("guideline_changelog")).content.decode()
    entry = body[body.index(f'id="changelog-{published.pk}"') :]
    entry = entry[: entry.index("</section>")]
    assert "version gate-1" in entry
    assert '<dd class="editors">charlie</dd>' in entry
    assert '<dd class="approver">erin</dd>' in entry
    assert "Threshold under review (test)." in entry
    assert "regurgitant volume 59 mL" in entry
    assert "Accepted for the LVESD study." in entry
    # the version loaded from the data file says so
    assert "the repository review (data file)" in body


def test_the_version_admin_page_shows_the_publication_record(
    client, second_editor, published
):
    client.force_login(second_editor)
    page = client.get(
        reverse("admin:guidelines_rulesetversion_change", args=[published.pk])
    ).content.decode()
    assert "Publication record" in page
    assert "charlie" in page
    assert "Threshold under review (test)." in page
    assert "Accepted for the LVESD study." in page
