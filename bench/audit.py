"""Cost of the audit trail's hash chain: appends per second and latency under concurrent
writers (each append takes the chain's lock, reads the previous hash and inserts), and
the time ``audit_verify`` takes per event. On its own throwaway database.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/audit.py [--threads 16] [--appends 200]
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
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-bench-audit-"))
    database_url, drop = throwaway_database(tmp)
    os.environ.update(
        DEBUG="true",
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="mr_cds.settings",
    )
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                       check=True, env=os.environ)  # fmt: skip
        run(args, database_url)
    finally:
        from django.db import connections

        connections.close_all()
        drop()


def run(args, database_url):
    import django

    django.setup()
    from django.db import connection

    from assessments.audit import audit_chain_verify, audit_record
    from tests.factories import PatientFactory, UserFactory

    user = UserFactory(username="bench")
    patient = PatientFactory()
    latencies: list[float] = []
    lock = threading.Lock()

    def writer():
        mine = []
        for _ in range(args.appends):
            start = time.perf_counter()
            audit_record(user=user, action="read", channel="api", obj=patient)
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=writer) for _ in range(args.threads)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    count, broken = audit_chain_verify()
    verify = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"database: {connection.vendor} ({database_url.split('@')[-1]})")
    print(f"command: {' '.join(sys.argv)}")
    print(f"appends: {len(latencies)} by {args.threads} threads in {elapsed:.2f} s "
          f"= {len(latencies) / elapsed:.0f}/s")  # fmt: skip
    print(
        f"latency: p50 {statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
    )
    print(f"audit_verify: {count} events in {verify:.2f} s "
          f"({verify / count * 1e6:.0f} µs/event), chain {'broken' if broken else 'intact'}")  # fmt: skip
    if broken or count != len(latencies):
        sys.exit("FAILED: the chain does not hold every append")


if __name__ == "__main__":
    main()
