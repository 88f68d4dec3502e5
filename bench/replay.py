# ruff: noqa: S608  (SQL built from constant table and column names; values are parameters)
"""Replay at scale: seed N stored assessments (default 1,000,000 across 100,000 patients)
on PostgreSQL, then measure the chunked replay of a draft (assessments.replay_runs) with
1 and 2 Celery workers: assessments replayed per second, from the chunks done.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N .venv/bin/python bench/replay.py \
        [--assessments 1000000] [--patients 100000] [--seconds 60] [--workers 1,2]
    ... bench/replay.py --remove        # deletes every seeded row, then exits
    ... bench/replay.py --seed-only     # seeds (if not yet) and exits

Seeding is server-side (INSERT ... SELECT over generate_series): one template assessment
per vignette is stored through the service (``assessment_create``, with its full stored
result), then copied into the seeded encounters, one assessment per encounter. Every
seeded row belongs to the organization "Bench scale (bench/replay.py)", which --remove
deletes with all its patients, encounters and assessments. Seeding is skipped when that
organization already holds the requested count.

Each measurement starts a replay run of a draft copy of the active acc_aha_2020 version
(it changes one threshold) over all the seeded assessments, lets W workers (``celery
worker --concurrency 1`` each) process chunks for --seconds, counts the assessments of
the chunks done in that window, then cancels the run. The run is not finished: a full
pass is this rate times the number of assessments. The workers' CPU time per assessment
(/proc, the pool processes included) is printed too: on a shared machine the wall-time
rate depends on the load, the CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from machine import machine, machine_line  # bench/machine.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "true")
ORGANIZATION = "Bench scale (bench/replay.py)"
CODE = "acc_aha_2020"


def decimal_or_none(value):
    """A record's measurement as the database returns it (a Decimal): the vignettes'
    JSON floats would reach the parse as floats through the unsaved instance."""
    return None if value is None else Decimal(str(value))


def seeded_organization():
    from assessments.models import Organization

    return Organization.objects.filter(name=ORGANIZATION).first()


def remove() -> None:
    from django.db import connection

    org = seeded_organization()
    if org is None:
        print("nothing to remove")
        return
    start = time.perf_counter()
    with connection.cursor() as cursor:
        patients = "SELECT id FROM assessments_patient WHERE organization_id = %s"
        encounters = (
            f"SELECT id FROM assessments_encounter WHERE patient_id IN ({patients})"
        )
        assessments = f"SELECT id FROM assessments_assessment WHERE encounter_id IN ({encounters})"
        for table, column, subquery in (
            ("assessments_priorecho", "assessment_id", assessments),
            ("assessments_report", "assessment_id", assessments),
            ("assessments_assessment", "encounter_id", encounters),
            ("assessments_encounter", "patient_id", patients),
        ):
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} IN ({subquery})",
                [org.pk],
            )
        # The audit trail is append-only: a patient whose record was read (by
        # bench/reads.py) stays, as the trail refers to it.
        cursor.execute(
            """DELETE FROM assessments_patient p WHERE organization_id = %s
               AND NOT EXISTS (SELECT 1 FROM assessments_auditevent a
                               WHERE a.patient_id = p.id)""",
            [org.pk],
        )
        cursor.execute(
            "SELECT count(*) FROM assessments_patient WHERE organization_id = %s",
            [org.pk],
        )
        kept = cursor.fetchone()[0]
    org.memberships.all().delete()
    if kept:
        org.name = f"{ORGANIZATION}: removed, {kept} audited patients kept"
        org.save(update_fields=["name"])
    else:
        org.delete()
    print(
        f"removed the seeded rows in {time.perf_counter() - start:.1f} s"
        + (f" ({kept} patients kept: the audit trail refers to them)" if kept else "")
    )


def seed(n_assessments: int, n_patients: int) -> None:
    import datetime as dt

    from django.db import connection, transaction

    from assessments.models import Assessment, Encounter, Organization, Patient
    from assessments.services import assessment_create
    from guidelines.loaders import DATA_DIR

    org = seeded_organization()
    if org is not None:
        have = Assessment.objects.filter(encounter__patient__organization=org).count()
        if have >= n_assessments:
            print(f"already seeded: {have} assessments")
            return
        remove()
    start = time.perf_counter()
    vignettes = [
        v["input"] for v in json.loads((DATA_DIR / "vignettes.json").read_text())
    ]
    with transaction.atomic():
        org = Organization.objects.create(name=ORGANIZATION)
        templates = []
        for i, data in enumerate(vignettes):
            person = data["patient"]
            patient = Patient.objects.create(
                organization=org,
                mrn=f"TEMPLATE-{i}",
                given_name="Template",
                family_name=f"Vignette {i}",
                sex=person["sex"],
                birth_date=dt.date(2025 - int(person["age_years"]), 1, 1),
                # As the database gives them back (Decimal): the template's own
                # evaluation reads the patient object as created.
                height_cm=decimal_or_none(person.get("height_cm")),
                weight_kg=decimal_or_none(person.get("weight_kg")),
            )
            encounter = Encounter.objects.create(
                patient=patient,
                occurred_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
            )
            body = {k: v for k, v in data.items() if k != "patient"}
            templates.append(
                assessment_create(
                    encounter=encounter, data={**body, "guideline": CODE}, author=None
                ).pk
            )
    per_patient = max(1, n_assessments // n_patients)
    columns = [
        f.column
        for f in Assessment._meta.concrete_fields
        if f.column not in ("id", "encounter_id", "created_at")
    ]
    cols = ", ".join(columns)
    t_cols = ", ".join(f"t.{c}" for c in columns)
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            "CREATE TEMP TABLE bench_templates (k int, assessment_id bigint)"
        )
        cursor.executemany(
            "INSERT INTO bench_templates VALUES (%s, %s)", list(enumerate(templates))
        )
        cursor.execute(
            """INSERT INTO assessments_patient (organization_id, mrn, given_name,
                 family_name, birth_date, sex, height_cm, weight_kg, created_at)
               SELECT %s, 'BENCH-' || g, 'Bench', 'Patient ' || lpad(g::text, 7, '0'),
                 date '1940-01-01' + (g %% 15000), CASE g %% 2 WHEN 0 THEN 'female'
                 ELSE 'male' END, 150 + g %% 40, 50 + g %% 50, now()
               FROM generate_series(1, %s) g""",
            [org.pk, n_patients],
        )
        print(
            f"  {n_patients} patients: {time.perf_counter() - start:.0f} s", flush=True
        )
        cursor.execute(
            """INSERT INTO assessments_encounter (patient_id, occurred_at, setting,
                 presentation, created_at)
               SELECT p.id, timestamptz '2024-01-01' + (s * interval '30 days')
                 + (p.id %% 1000) * interval '1 minute', 'outpatient', 'chronic', now()
               FROM assessments_patient p CROSS JOIN generate_series(1, %s) s
               WHERE p.organization_id = %s AND p.mrn LIKE 'BENCH-%%'""",
            [per_patient, org.pk],
        )
        print(f"  encounters: {time.perf_counter() - start:.0f} s", flush=True)
        cursor.execute(
            f"""INSERT INTO assessments_assessment (encounter_id, created_at, {cols})
                SELECT e.id, e.occurred_at, {t_cols}
                FROM assessments_encounter e
                JOIN assessments_patient p ON p.id = e.patient_id
                JOIN bench_templates b ON b.k = e.id %% %s
                JOIN assessments_assessment t ON t.id = b.assessment_id
                WHERE p.organization_id = %s AND p.mrn LIKE 'BENCH-%%'""",
            [len(templates), org.pk],
        )
        print(f"  assessments: {time.perf_counter() - start:.0f} s", flush=True)
        cursor.execute(
            """INSERT INTO assessments_priorecho (assessment_id, months_ago, lvef_pct,
                 lvesd_mm)
               SELECT a.id, pe.months_ago, pe.lvef_pct, pe.lvesd_mm
               FROM assessments_assessment a
               JOIN assessments_encounter e ON e.id = a.encounter_id
               JOIN assessments_patient p ON p.id = e.patient_id
               JOIN bench_templates b ON b.k = e.id %% %s
               JOIN assessments_priorecho pe ON pe.assessment_id = b.assessment_id
               WHERE p.organization_id = %s AND p.mrn LIKE 'BENCH-%%'""",
            [len(templates), org.pk],
        )
    with connection.cursor() as cursor:
        # The visibility map set, as autovacuum would in time: the patient list's
        # count and page ids are then index-only scans.
        cursor.execute("VACUUM (ANALYZE) assessments_patient, assessments_encounter")
        cursor.execute("ANALYZE")
    total = Assessment.objects.filter(encounter__patient__organization=org).count()
    print(
        f"seeded {total} assessments across {n_patients} patients in "
        f"{time.perf_counter() - start:.0f} s"
    )


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU seconds of the processes ``roots`` and their descendants (the
    workers' pool processes), from Linux /proc. PostgreSQL's own time is not in it."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = int(fields[11]) + int(fields[12])

    def in_tree(pid: int) -> bool:
        while pid > 1:
            if pid in roots:
                return True
            pid = parents.get(pid, 0)
        return False

    ticks = sum(t for pid, t in cpu.items() if in_tree(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def draft_with_a_moved_threshold(label: str):
    """A draft copy of the active version with one threshold moved (severe EROA
    0.40 -> 0.50 cm²), the draft every replay measurement replays."""
    from guidelines import authoring
    from guidelines.models import RuleSetVersion, VersionStatus

    active = RuleSetVersion.objects.get(
        rule_set__code=CODE, status=VersionStatus.PUBLISHED
    )
    draft = authoring.version_copy_to_draft(version=active, user=None, label=label)
    row = draft.severitycriterionrow_set.get(key="eroa_severe")
    row.condition = ["echo.eroa_cm2", ">=", "0.50"]
    authoring.rule_row_save(row=row, user=None)
    return draft


def measure(workers: int, seconds: float, chunk_size: int) -> dict:
    from assessments.models import ReplayChunk
    from assessments.replay_runs import replay_run_cancel, replay_run_start

    draft = draft_with_a_moved_threshold(f"bench-{int(time.time())}")
    from mr_cds.celery import app

    app.control.purge()  # tasks left by an earlier (cancelled) measurement
    env = {**os.environ}
    logs = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mr_cds",
                "worker",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-n",
                f"bench-replay-{i}@%h",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=(logs / f"w{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i in range(workers)
    ]
    try:
        time.sleep(8)  # workers up
        run = replay_run_start(version=draft, chunk_size=chunk_size)
        done = ReplayChunk.objects.filter(run=run, done_at__isnull=False)
        while not done.exists():
            time.sleep(0.5)
        cpu0 = cpu_seconds([p.pid for p in procs])
        first = done.order_by("done_at").first()
        t0, n0 = first.done_at, first.counts["replayed"] + first.counts["skipped"]
        time.sleep(seconds)
        cpu1 = cpu_seconds([p.pid for p in procs])
        chunks = list(done.order_by("done_at").values_list("done_at", "counts"))
        replay_run_cancel(run=run)
        app.control.purge()
        last_at = chunks[-1][0]
        n = sum(c["replayed"] + c["skipped"] for _, c in chunks) - n0
        elapsed = (last_at - t0).total_seconds()
        rate = n / elapsed if elapsed > 0 else 0.0
        return {
            "workers": workers,
            "assessments_per_s": round(rate, 1),
            "per_worker": round(rate / workers, 1),
            "chunks_done": len(chunks),
            "window_s": round(elapsed, 1),
            "in_scope": run.total,
            "worker_cpu_us_per_assessment": round(1e6 * (cpu1 - cpu0) / n)
            if n
            else None,
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        from assessments.models import ReplayRun

        ReplayRun.objects.filter(version=draft).delete()
        draft.delete()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--remove", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/replay.py needs DATABASE_URL=postgres://... (and REDIS_URL)")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_guidelines", stdout=open(os.devnull, "w"))  # noqa: SIM115
    if args.remove:
        return remove()
    seed(args.assessments, args.patients)
    if args.seed_only:
        return None
    if not os.environ.get("REDIS_URL"):
        sys.exit("the measurement needs REDIS_URL (a broker for the workers)")
    load_before = os.getloadavg()[0]
    rows = [
        measure(int(w), args.seconds, args.chunk_size) for w in args.workers.split(",")
    ]
    for r in rows:
        print(
            f"{r['workers']} worker(s): {r['assessments_per_s']:8.1f} assessments/s "
            f"({r['per_worker']:.1f} per worker; {r['chunks_done']} chunks of "
            f"{args.chunk_size} in {r['window_s']} s; {r['in_scope']} in scope; "
            f"worker CPU {r['worker_cpu_us_per_assessment']} µs per assessment)"
        )
    print(
        f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}; "
        f"{os.cpu_count()} CPUs shared with other work"
    )
    info = machine()
    print(machine_line(info))
    print("command: .venv/bin/python bench/replay.py " + " ".join(sys.argv[1:]))
    print(json.dumps({"rows": rows, "chunk_size": args.chunk_size, "machine": info}))
    return None


if __name__ == "__main__":
    main()
