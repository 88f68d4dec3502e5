"""Where a replay chunk's time goes, in-process: the stages of ``replay_chunk_process``
timed apart over the first --rows seeded assessments (bench/replay.py --seed-only), CPU
time (process_time) and wall time per assessment.

    DATABASE_URL=postgres://... .venv/bin/python bench/replay_breakdown.py [--rows 5000]

Stages: ``query`` (the database reads and the rows' decoding into Python: the columns,
the prior echos, the stored outcomes), ``input`` (``stored_records`` less ``query``:
each row as the engine's canonical input), ``evaluate`` (the draft's engine run),
``compare`` (the outcome against the stored one, counted), and ``chunk``
(``replay_chunk_process`` end to end, its counts written: the sum's check); then
PostgreSQL's own time for the rows query (EXPLAIN ANALYZE), which the worker's CPU
time leaves out: mostly reading severity, stage and codes out of the compressed result.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "true")


class Clock:
    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def __call__(self, stage: str):
        clock = self

        class Span:
            def __enter__(self):
                self.c0, self.w0 = time.process_time(), time.perf_counter()

            def __exit__(self, *exc):
                clock.cpu[stage] = (
                    clock.cpu.get(stage, 0) + time.process_time() - self.c0
                )
                clock.wall[stage] = (
                    clock.wall.get(stage, 0) + time.perf_counter() - self.w0
                )

        return Span()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from django.contrib.postgres.fields import ArrayField
    from django.db import connection
    from django.db.models import Min, TextField
    from django.db.models.expressions import RawSQL

    from assessments import replay, replay_runs
    from assessments.inputs import PRIOR_ECHO_NAMES, stored_canonical_input
    from assessments.models import Assessment, PriorEcho, ReplayChunk, ReplayRun
    from bench.replay import ORGANIZATION, draft_with_a_moved_threshold

    draft = draft_with_a_moved_threshold(f"breakdown-{int(time.time())}")
    first = Assessment.objects.filter(
        encounter__patient__organization__name=ORGANIZATION
    ).aggregate(first=Min("id"))["first"]
    last = first + args.rows - 1
    compiled = replay_runs._compiled(draft)
    stored_outcome = RawSQL(  # noqa: S611 (constant SQL)
        replay.STORED_OUTCOME_SQL, [], output_field=ArrayField(TextField())
    )
    best: dict[str, tuple[float, float]] = {}
    database: list[float] = []

    def server_ms(queryset) -> float:
        """PostgreSQL's own execution time of the rows query (EXPLAIN ANALYZE)."""
        sql, params = queryset.values_list(
            "id", "stored", *replay.INPUT_COLUMNS
        ).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF) {sql}", params)
            return float(cursor.fetchall()[-1][0].split()[2])

    try:
        for _ in range(args.repeat):
            clock = Clock()
            summary = replay.ReplaySummary(version=str(draft), limit=0)
            scope = (
                replay.assessments_for_rule_set(draft)
                .filter(id__gte=first, id__lte=last)
                .order_by("id")
            )
            database.append(server_ms(scope.annotate(stored=stored_outcome)))
            with clock("query"):  # the two queries of stored_records
                rows = list(
                    scope.annotate(stored=stored_outcome).values_list(
                        "id", "stored", *replay.INPUT_COLUMNS
                    )
                )
                studies: dict[int, list] = {}
                for assessment_id, *study in (
                    PriorEcho.objects.filter(
                        assessment_id__gte=rows[0][0], assessment_id__lte=rows[-1][0]
                    )
                    .order_by("assessment_id", "-months_ago", "id")
                    .values_list("assessment_id", *PRIOR_ECHO_NAMES)
                ):
                    studies.setdefault(assessment_id, []).append(study)
            with clock("input"):
                records = [
                    (
                        stored_canonical_input(row[2:], studies.get(row[0], ())),
                        (row[1][0], row[1][1], set(row[1][2:])),
                    )
                    for row in rows
                ]
            with clock("evaluate"):  # each result dropped once read, as in a chunk
                outcomes = [
                    replay._outcome(replay.compiled_evaluate(clean, compiled))
                    for clean, _ in records
                ]
            with clock("compare"):
                for (_, stored), after in zip(records, outcomes, strict=True):
                    replay.outcome_count(summary, stored, after)
            # A run of one chunk, made here: replay_run_start would enqueue them all.
            run = ReplayRun.objects.create(
                version=draft, last_id=last, total=args.rows, chunk_size=args.rows
            )
            chunk = ReplayChunk.objects.create(run=run, first_id=first, last_id=last)
            with clock("chunk"):
                replay_runs.replay_chunk_process(chunk_id=chunk.pk)
            run.delete()
            n = len(records)
            for stage in clock.cpu:
                cpu, wall = 1e6 * clock.cpu[stage] / n, 1e6 * clock.wall[stage] / n
                if stage not in best or cpu < best[stage][0]:
                    best[stage] = (cpu, wall)
    finally:
        draft.delete()
    parts = ("query", "input", "evaluate", "compare")
    print(f"{args.rows} stored assessments, best of {args.repeat}; µs per assessment")
    for stage in (*parts, "chunk"):
        cpu, wall = best[stage]
        print(f"  {stage:9s} CPU {cpu:7.1f}   wall {wall:7.1f}")
    print(f"  {'sum':9s} CPU {sum(best[s][0] for s in parts):7.1f}")
    print(
        f"  PostgreSQL executing the rows query (its CPU, not the worker's): "
        f"{1e3 * min(database) / args.rows:.1f} µs per assessment"
    )
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}")
    print(
        "command: .venv/bin/python bench/replay_breakdown.py " + " ".join(sys.argv[1:])
    )


if __name__ == "__main__":
    main()
