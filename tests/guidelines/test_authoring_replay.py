"""Replaying a draft over stored assessments: counts of what would change, no identity."""

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from assessments.models import Assessment
from assessments.replay import assessment_replay
from assessments.services import assessment_create
from guidelines import authoring, services
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus

CODE = "acc_aha_2020"


def active():
    return RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )


def vignette_input(name):
    data = dict(RuleSetTestCase.objects.get(rule_set__code=CODE, name=name).input)
    data.pop("patient")  # age, sex, height and weight come from the patient record
    return data


@pytest.fixture
def stored(encounter, clinician, rule_sets):
    """Three stored assessments: two severe by EROA alone or with RVol, one mild."""
    return [
        assessment_create(
            encounter=encounter, data=vignette_input(name), author=clinician
        )
        for name in ("MR-023", "MR-011", "MR-001")
    ]


@pytest.fixture
def draft(editor, rule_sets):
    return authoring.version_copy_to_draft(
        version=active(), user=editor, label="2020.2"
    )


def raise_eroa_severe(draft, editor, value="0.50"):
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", value]
    authoring.rule_row_save(row=row, user=editor)


def test_an_unchanged_draft_changes_nothing(stored, draft):
    summary = assessment_replay(version=draft, limit=100)
    assert (summary.replayed, summary.changed, summary.skipped) == (3, 0, 0)
    assert summary.stored_baseline == 3


def test_a_raised_threshold_shows_how_results_change(stored, draft, editor):
    raise_eroa_severe(draft, editor)
    summary = assessment_replay(version=draft, limit=100)
    assert summary.replayed == 3
    assert summary.changed == 1
    assert summary.severity_changes == [("severe", "indeterminate", 1)]
    assert summary.codes_lost["surgery_mv"] == 1


def test_the_limit_takes_the_most_recent(stored, draft, editor):
    raise_eroa_severe(draft, editor)
    summary = assessment_replay(version=draft, limit=2)  # MR-001 and MR-011
    assert (summary.replayed, summary.changed) == (2, 0)


def test_an_assessment_without_a_stored_result_is_compared_with_the_active_version(
    stored, draft, editor
):
    Assessment.objects.filter(pk=stored[0].pk).update(
        result=None, rule_set_version=None
    )
    raise_eroa_severe(draft, editor)
    summary = assessment_replay(version=draft, limit=100)
    assert (summary.stored_baseline, summary.fresh_baseline) == (2, 1)
    assert summary.changed == 1


def test_the_replay_page_shows_counts_and_no_patient(
    client, editor, stored, draft, patient
):
    raise_eroa_severe(draft, editor)
    client.force_login(editor)
    url = reverse("admin:guidelines_rulesetversion_replay", args=[draft.pk])
    page = client.get(url, {"limit": 50}).content.decode()
    assert "1 of 3" in page
    # In clinical words: the version's title of the code, never the code itself.
    assert "<td>Mitral valve surgery</td><td></td><td>1</td>" in page
    assert "surgery_mv" not in page
    assert "<td>Severe MR</td><td>Severity indeterminate</td><td>1</td>" in page
    for identity in (patient.mrn, patient.family_name, patient.given_name):
        assert identity not in page
    draft_page = client.get(
        reverse("admin:guidelines_rulesetversion_change", args=[draft.pk])
    )
    assert url in draft_page.content.decode()


def test_the_replay_page_is_for_editors_only(client, stored, draft, rule_sets):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="erin", is_staff=True))
    url = reverse("admin:guidelines_rulesetversion_replay", args=[draft.pk])
    assert client.get(url).status_code == 403


def test_a_version_an_assessment_used_is_never_deleted(stored):
    version = stored[0].rule_set_version
    assert version == active()
    with pytest.raises(services.GuidelineError):
        authoring.version_delete(version=version)
    with pytest.raises(ProtectedError):
        version.delete()  # the database protects it too


def test_an_old_assessment_keeps_its_version_after_publication(
    stored, draft, editor, second_editor
):
    old_version = stored[0].rule_set_version
    raise_eroa_severe(draft, editor, "0.41")
    authoring.version_publish(
        version=draft,
        user=second_editor,
        reason="r",
        acknowledgements={
            c.id: "intended" for c in authoring.version_outcome_changes(draft)
        },
        acknowledge_pending=True,
    )
    stored[0].refresh_from_db()
    assert stored[0].rule_set_version == old_version
    assert stored[0].rule_set_version.status == "retired"
