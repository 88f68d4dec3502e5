"""Replay of a rule-set version over every stored assessment of its rule set, as chunked
Celery jobs (models in ``assessments.models.replay_run``).

``replay_run_start`` fixes the scope (ids up to the highest one now) and creates one
chunk per ``chunk_size`` ids, then enqueues a task per chunk. ``replay_chunk_process``
replays one chunk and records its counts once: a chunk already done, or of a cancelled
run, is skipped, so a task delivered twice (its worker died before acknowledging) or
re-enqueued by ``replay_run_resume`` never counts twice. ``replay_run_summary`` adds up
the done chunks: progress while running, the result when done.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from guidelines.services import recommendation_titles, version_compiled
from mr_cds.celery import task

from .models import ReplayChunk, ReplayRun, ReplayRunStatus
from .replay import (
    ReplaySummary,
    assessments_for_rule_set,
    replay_into,
    stored_records,
)

DEFAULT_CHUNK_SIZE = 2000
CHUNK_TASK = "assessments.tasks.replay_chunk_task"  # tasks imports this module


def replay_run_start(*, version, user=None, chunk_size: int = DEFAULT_CHUNK_SIZE):
    """Create the run and its chunks, enqueue them; raises ``RuleSetError``
    when the version is invalid (before anything is stored)."""
    version_compiled(version)
    scope = assessments_for_rule_set(version).order_by()
    bounds = scope.aggregate(first=Min("id"), last=Max("id"))
    with transaction.atomic():
        run = ReplayRun.objects.create(
            version=version,
            created_by=user,
            last_id=bounds["last"] or 0,
            total=scope.count(),
            chunk_size=chunk_size,
        )
        if bounds["first"] is not None:
            ReplayChunk.objects.bulk_create(
                ReplayChunk(
                    run=run,
                    first_id=start,
                    last_id=min(start + chunk_size - 1, bounds["last"]),
                )
                for start in range(bounds["first"], bounds["last"] + 1, chunk_size)
            )
        else:
            run.status, run.finished_at = ReplayRunStatus.DONE, timezone.now()
            run.save(update_fields=["status", "finished_at"])
        transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: ReplayRun) -> int:
    pending = list(run.chunks.filter(done_at__isnull=True).values_list("id", flat=True))
    for chunk_id in pending:
        task(CHUNK_TASK).delay(chunk_id)
    return len(pending)


def replay_run_resume(*, run: ReplayRun) -> int:
    """Re-enqueue the chunks not done (after workers died or the broker lost them);
    a chunk already queued is then processed once and skipped the second time."""
    if run.status != ReplayRunStatus.RUNNING:
        return 0
    return _enqueue(run)


def replay_run_cancel(*, run: ReplayRun) -> None:
    """Stop the run: its remaining chunks are skipped when their task comes."""
    ReplayRun.objects.filter(pk=run.pk, status=ReplayRunStatus.RUNNING).update(
        status=ReplayRunStatus.CANCELLED, finished_at=timezone.now()
    )


_compiled_cache: dict[tuple[int, str], object] = {}


def _compiled(version):
    key = (version.pk, version.content_hash)
    if key not in _compiled_cache:
        _compiled_cache.clear()
        _compiled_cache[key] = version_compiled(version)
    return _compiled_cache[key]


def replay_chunk_process(*, chunk_id: int) -> bool:
    """Replay one chunk and record its counts; False when skipped (done, cancelled,
    deleted)."""
    chunk = (
        ReplayChunk.objects.select_related("run__version__rule_set")
        .filter(pk=chunk_id)
        .first()
    )
    if chunk is None:
        return False  # its run was deleted
    run = chunk.run
    if chunk.done_at is not None or run.status != ReplayRunStatus.RUNNING:
        return False
    version = run.version
    summary = ReplaySummary(version=str(version), limit=0)
    records = stored_records(
        assessments_for_rule_set(version)
        .filter(id__gte=chunk.first_id, id__lte=chunk.last_id)
        .order_by("id")
    )
    replay_into(summary, records, version=version, compiled=_compiled(version))
    with transaction.atomic():
        # The run's row first: chunks finishing at once then see each other's commit,
        # and exactly one of them marks the run done.
        ReplayRun.objects.select_for_update().filter(pk=run.pk).first()
        locked = ReplayChunk.objects.select_for_update().get(pk=chunk_id)
        if locked.done_at is not None:
            return False  # another delivery of the same chunk got there first
        locked.counts, locked.done_at = summary.as_counts(), timezone.now()
        locked.save(update_fields=["counts", "done_at"])
        if not run.chunks.filter(done_at__isnull=True).exists():
            ReplayRun.objects.filter(pk=run.pk, status=ReplayRunStatus.RUNNING).update(
                status=ReplayRunStatus.DONE, finished_at=timezone.now()
            )
    return True


def replay_run_summary(run: ReplayRun) -> tuple[ReplaySummary, int, int]:
    """(counts of the done chunks, chunks done, chunks in all)."""
    summary = ReplaySummary(
        version=str(run.version),
        limit=run.total,
        titles=recommendation_titles(run.version),
    )
    done = 0
    for counts in run.chunks.filter(done_at__isnull=False).values_list(
        "counts", flat=True
    ):
        summary.add_counts(counts)
        done += 1
    return summary, done, run.chunks.count()
