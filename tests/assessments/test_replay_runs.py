"""Replay over every stored assessment as chunked jobs: the same counts as the one-shot
replay, each chunk counted once however often it is delivered, cancel and resume, and
the progress page in the admin."""

import pytest
from django.urls import reverse

from assessments.models import ReplayChunk, ReplayRunStatus
from assessments.replay import assessment_replay
from assessments.replay_runs import (
    replay_chunk_process,
    replay_run_cancel,
    replay_run_resume,
    replay_run_start,
    replay_run_summary,
)
from assessments.services import assessment_create
from guidelines import authoring
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus

CODE = "acc_aha_2020"
VIGNETTES = ("MR-023", "MR-011", "MR-001", "MR-005", "MR-003")


def vignette_input(name):
    data = dict(RuleSetTestCase.objects.get(rule_set__code=CODE, name=name).input)
    data.pop("patient")
    return data


@pytest.fixture
def stored(encounter, clinician, rule_sets):
    return [
        assessment_create(encounter=encounter, data=vignette_input(n), author=clinician)
        for n in VIGNETTES
    ]


@pytest.fixture
def draft(editor, rule_sets):
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    draft = authoring.version_copy_to_draft(version=active, user=editor, label="2020.2")
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.50"]  # raised: some severe become less
    authoring.rule_row_save(row=row, user=editor)
    return draft


def comparable(summary):
    counts = summary.as_counts()
    for name in ("severity", "stage"):
        counts[name] = sorted(map(tuple, counts[name]))
    return counts


def test_a_chunked_run_counts_what_the_one_shot_replay_counts(stored, draft):
    run = replay_run_start(version=draft, chunk_size=2)
    chunks = list(run.chunks.values_list("id", flat=True))
    assert len(chunks) == 3  # 5 ids in ranges of 2
    for chunk_id in chunks:
        assert replay_chunk_process(chunk_id=chunk_id) is True
    run.refresh_from_db()
    assert run.status == ReplayRunStatus.DONE
    assert run.finished_at is not None
    summary, done, total = replay_run_summary(run)
    assert (done, total) == (3, 3)
    expected = assessment_replay(version=draft, limit=100)
    assert summary.replayed == 5
    assert summary.changed == expected.changed > 0
    assert comparable(summary) == comparable(expected)


def test_a_chunk_delivered_twice_is_counted_once(stored, draft):
    run = replay_run_start(version=draft, chunk_size=2)
    first = run.chunks.first()
    assert replay_chunk_process(chunk_id=first.pk) is True
    counts = ReplayChunk.objects.get(pk=first.pk).counts
    assert replay_chunk_process(chunk_id=first.pk) is False
    assert ReplayChunk.objects.get(pk=first.pk).counts == counts
    summary, done, _ = replay_run_summary(run)
    assert done == 1
    assert summary.replayed == counts["replayed"] == 2


def test_a_cancelled_run_skips_its_remaining_chunks(stored, draft):
    run = replay_run_start(version=draft, chunk_size=2)
    first, *rest = run.chunks.all()
    replay_chunk_process(chunk_id=first.pk)
    replay_run_cancel(run=run)
    assert [replay_chunk_process(chunk_id=c.pk) for c in rest] == [False, False]
    run.refresh_from_db()
    assert run.status == ReplayRunStatus.CANCELLED
    assert replay_run_summary(run)[0].replayed == 2
    assert replay_run_resume(run=run) == 0  # a cancelled run is not resumed


def test_resume_requeues_only_the_chunks_not_done(stored, draft, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the re-queued tasks run here
    run = replay_run_start(version=draft, chunk_size=2)
    replay_chunk_process(chunk_id=run.chunks.first().pk)  # then the workers died
    assert replay_run_resume(run=run) == 2
    run.refresh_from_db()
    assert run.status == ReplayRunStatus.DONE
    summary, done, total = replay_run_summary(run)
    assert (done, total, summary.replayed) == (3, 3, 5)


def test_the_admin_page_starts_a_run_and_shows_its_progress(
    client, editor, stored, draft, patient, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the chunk tasks run here
    client.force_login(editor)
    url = reverse("admin:guidelines_rulesetversion_replay_all", args=[draft.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "start"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Done" in page
    assert "of 1 chunks" in page
    assert "5 replayed" in page
    assert patient.family_name not in page
    assert patient.mrn not in page


def test_the_admin_page_cancels_a_running_run(client, editor, stored, draft):
    client.force_login(editor)
    run = replay_run_start(version=draft, chunk_size=2)  # not enqueued: no commit here
    url = reverse("admin:guidelines_rulesetversion_replay_all", args=[draft.pk])
    page = client.get(url, {"run": run.pk}).content.decode()
    assert "0 of 3 chunks" in page
    assert "Cancel" in page
    client.post(url, {"action": "cancel", "run": run.pk})
    run.refresh_from_db()
    assert run.status == ReplayRunStatus.CANCELLED
