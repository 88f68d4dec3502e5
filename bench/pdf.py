"""PDF benchmark: median render time and peak memory of a typical report (the seeded
demo assessment of RHC-1002, severe primary MR, 3 pages), then the wall time for 20
reports rendered by real Celery workers on Redis, with 1 and with 2 workers.

Run: DEBUG=true REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/pdf.py
Uses DATABASE_URL when set, otherwise a throwaway SQLite file (shared with the workers).
Without REDIS_URL only the in-process render is measured.
"""

import argparse
import io
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "true")
WORK = Path(tempfile.mkdtemp(prefix="mr-cds-bench-pdf-"))
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"
os.environ["MEDIA_ROOT"] = str(WORK / "media")
TYPICAL_MRN = "RHC-1002"
TIMEOUT_SECONDS = 300


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--reports", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from assessments.models import Assessment
    from assessments.reports import report_render

    call_command("migrate", verbosity=0, skip_checks=True)
    quiet = io.StringIO()
    call_command("load_guidelines", verbosity=0, stdout=quiet)
    os.environ.setdefault("MR_CDS_DEMO_PASSWORD", "mr-cds-demo")
    call_command("seed_demo", verbosity=0, stdout=quiet)
    typical = Assessment.objects.get(encounter__patient__mrn=TYPICAL_MRN)

    first = _timed(lambda: report_render(assessment=typical))
    times = [
        _timed(lambda: report_render(assessment=typical)) for _ in range(args.renders)
    ]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"typical report ({TYPICAL_MRN}, {len(report_render(assessment=typical)) // 1024} KB"
        f"): first render {first * 1000:.0f} ms, "
        f"median of {args.renders} {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    print(f"peak memory (ru_maxrss, whole process): {peak_mib:.1f} MiB")
    target = "met" if statistics.median(times) < 1 else "MISSED"
    print(f"target < 1 s per typical report: {target}")

    if not os.environ.get("REDIS_URL"):
        print("REDIS_URL not set: worker timings skipped")
        return
    assessments = _assessments(typical, args.reports)
    for count in (1, 2):
        seconds = _with_workers(count, assessments)
        print(
            f"{args.reports} reports with {count} worker(s): {seconds:.2f} s wall "
            f"({seconds / args.reports * 1000:.0f} ms per report)"
        )


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _assessments(typical, count):
    """``count`` stored assessments like the typical one (one report each)."""
    from assessments.inputs import assessment_to_input
    from assessments.models import Assessment
    from assessments.services import assessment_create

    data = assessment_to_input(typical)
    data.pop("patient", None)
    encounter = typical.encounter
    existing = list(
        Assessment.objects.filter(encounter=encounter).exclude(pk=typical.pk)
    )
    while len(existing) < count:
        existing.append(
            assessment_create(
                encounter=encounter, data=data, author=encounter.clinician
            )
        )
    return existing[:count]


def _with_workers(count, assessments) -> float:
    from assessments.choices import ReportStatus
    from assessments.models import Report
    from assessments.reports import report_request

    Report.objects.filter(assessment__in=assessments).delete()
    workers = [_start_worker(f"bench{count}-{i}") for i in range(count)]
    try:
        start = time.perf_counter()
        for assessment in assessments:
            report_request(assessment=assessment, user=None)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while Report.objects.filter(
            assessment__in=assessments, status=ReportStatus.READY
        ).count() < len(assessments):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out after {TIMEOUT_SECONDS} s")
            time.sleep(0.05)
        return time.perf_counter() - start
    finally:
        for process in workers:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _start_worker(name):
    log = WORK / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mr_cds",
            "worker",
            "-c",
            "1",
            "-n",
            f"{name}@%h",
            "--pidfile",
            str(WORK / f"{name}.pid"),
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"worker {name} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process


if __name__ == "__main__":
    main()
