"""Cost of the audit trail: appends per second and latency under concurrent writers (an
append is a plain INSERT; a sealer thread chains the unsealed events every
``--seal-every`` seconds meanwhile, as the beat task does), the sealer's rate, and the
time ``audit_verify`` takes per event. On its own throwaway database.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/audit.py [--threads 16] [--appends 200] [--seal-every 5]
(without DATABASE_URL: a SQLite file, where writers are serialized by SQLite itself)
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.api import throwaway_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--appends", type=int, default=200, help="per thread")
    parser.add_argument("--seal-every", type=float, default=5.0, help="seconds")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-bench-audit-"))
    database_url, drop = throwaway_database(tmp)
    os.environ.update(
        DEBUG="true",
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="mr_cds.settings",
    )
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            check=True,
            env=os.environ,
        )
        run(args, database_url)
    finally:
        from django.db import connections

        connections.close_all()
        drop()


def run(args, database_url):
    import django

    django.setup()
    from django.db import connection

    from assessments.audit import audit_chain_verify, audit_record, audit_seal
    from tests.factories import PatientFactory, UserFactory

    user = UserFactory(username="bench")
    patient = PatientFactory()
    latencies: list[float] = []
    lock = threading.Lock()
    writing_done = threading.Event()
    sealing = {"runs": 0, "events": 0, "seconds": 0.0}

    def writer():
        mine = []
        for _ in range(args.appends):
            start = time.perf_counter()
            audit_record(user=user, action="read", channel="api", obj=patient)
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    def sealer():
        while not writing_done.wait(args.seal_every):
            start = time.perf_counter()
            sealing["events"] += audit_seal()
            sealing["seconds"] += time.perf_counter() - start
            sealing["runs"] += 1
        connection.close()

    threads = [threading.Thread(target=writer) for _ in range(args.threads)]
    sealer_thread = threading.Thread(target=sealer)
    start = time.perf_counter()
    sealer_thread.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    writing_done.set()
    sealer_thread.join()
    start = time.perf_counter()
    rest = audit_seal()
    rest_seconds = time.perf_counter() - start
    start = time.perf_counter()
    check = audit_chain_verify(seal=False)
    verify = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"database: {connection.vendor} ({database_url.split('@')[-1]})")
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"appends: {len(latencies)} by {args.threads} threads in {elapsed:.2f} s "
        f"= {len(latencies) / elapsed:.0f}/s"
    )
    print(
        f"latency: p50 {statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
    )
    total = sealing["events"] + rest
    seconds = sealing["seconds"] + rest_seconds
    print(
        f"sealing: {sealing['events']} events in {sealing['runs']} runs during the "
        f"appends, {rest} after them in {rest_seconds:.2f} s; "
        f"{total / seconds if seconds else 0:.0f} events/s sealed"
    )
    print(
        f"audit_verify: {check.sealed} events in {verify:.2f} s "
        f"({verify / max(check.sealed, 1) * 1e6:.0f} µs/event), {check.unsealed} unsealed, "
        f"chain {'broken' if check.broken else 'intact'}"
    )
    if (
        check.broken
        or check.unsealed
        or len({check.sealed, len(latencies), total}) != 1
    ):
        sys.exit("FAILED: the chain does not hold every append exactly once")


if __name__ == "__main__":
    main()
