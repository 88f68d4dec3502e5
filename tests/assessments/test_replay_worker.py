"""A replay run on real Celery workers (Redis broker, PostgreSQL shared with them): a
worker killed in the middle of a run, a second one and ``replay_run_resume`` finish it,
and every assessment is counted exactly once."""

import os
import signal
import time

import pytest

from assessments.models import ReplayChunk, ReplayRunStatus
from assessments.replay_runs import (
    replay_run_resume,
    replay_run_start,
    replay_run_summary,
)
from assessments.services import assessment_create
from guidelines import authoring
from guidelines.models import RuleSetTestCase, RuleSetVersion, VersionStatus
from tests.reports.test_worker import Worker, _env, _wait

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL")
        or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs REDIS_URL and DATABASE_URL=postgres://... (shared with the worker)",
    ),
]
CODE = "acc_aha_2020"
COUNT = 40


def test_a_killed_worker_run_is_resumed_and_counted_once(
    tmp_path, encounter, clinician, editor, rule_sets
):
    names = ["MR-023", "MR-011", "MR-001", "MR-005"]
    for i in range(COUNT):
        data = dict(
            RuleSetTestCase.objects.get(rule_set__code=CODE, name=names[i % 4]).input
        )
        data.pop("patient")
        assessment_create(encounter=encounter, data=data, author=clinician)
    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    draft = authoring.version_copy_to_draft(version=active, user=editor, label="2020.9")
    env = _env(tmp_path / "media", MR_CDS_TEST_VISIBILITY_TIMEOUT="2")
    first = Worker(tmp_path, "replay-w1", env)
    run = replay_run_start(version=draft, chunk_size=1)
    done = ReplayChunk.objects.filter(run=run, done_at__isnull=False)
    _wait(lambda: done.exists(), 60, "a first chunk", first)
    first.kill(signal.SIGKILL)
    second = Worker(tmp_path, "replay-w2", env)
    try:
        replay_run_resume(run=run)  # chunks lost with the first worker are queued again
        _wait(lambda: done.count() == COUNT, 120, "every chunk", second)
        time.sleep(2)  # any duplicate delivery gets its chance to (wrongly) count again
        run.refresh_from_db()
        assert run.status == ReplayRunStatus.DONE
        summary, chunks_done, chunks = replay_run_summary(run)
        assert (chunks_done, chunks) == (COUNT, COUNT)
        assert summary.replayed + summary.skipped == COUNT
        assert all(c["replayed"] == 1 for c in done.values_list("counts", flat=True))
    finally:
        second.stop()
