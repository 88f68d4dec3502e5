"""Sustained load: 16 clients creating assessments for 60 s on PostgreSQL through
gunicorn; errors, rows stored = 201s answered, p50/p99 latency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/load.py [--clients 16] [--duration 60] [--workers 2]

A throwaway database on the server of DATABASE_URL (created, migrated, seeded, dropped
afterwards; PostgreSQL only: the point is concurrent writers). REDIS_URL, when set, is
passed to the server (cache and broker). Each client sends POST
/api/v1/encounters/{id}/assessments/ in a loop with a Bearer token, one new connection
per request. Afterwards the database is counted: every 201 must be one stored
assessment with its audit entry, and nothing else may have been stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import ASSESSMENT_BODY, drive  # noqa: E402
from server import (  # noqa: E402  (bench/server.py: the setup the HTTP benchmarks share)
    free_port,
    manage,
    new_encounter,
    prepare,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    throwaway_database,
)

COUNT_ROWS = (
    "from assessments.models import Assessment, AuditEvent\n"
    "import json\n"
    "print(json.dumps({'assessments': Assessment.objects.count(),"
    " 'audit_creates': AuditEvent.objects.filter(action='create',"
    " object_type__icontains='assessment').count()}))"
)


def count_rows(env: dict) -> dict:
    return json.loads(manage(env, "shell", "-c", COUNT_ROWS).strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        sys.exit(
            "bench/load.py needs DATABASE_URL=postgres://... (a server to create "
            "its throwaway database on)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-load-"))
    database_url, drop_database = throwaway_database(tmp)
    env = server_env(database_url, tmp)
    port = free_port()
    server = pidfile = None
    try:
        token = prepare(env)
        server, pidfile = start_gunicorn(
            env, port, args.workers, tmp, "--backlog", "256", "--timeout", "60"
        )
        encounter = new_encounter(port, token, "LOAD-1")
        before = count_rows(env)
        path = f"/api/v1/encounters/{encounter}/assessments/"
        figures = drive(
            port,
            "POST",
            path,
            ASSESSMENT_BODY,
            token,
            clients=args.clients,
            duration=args.duration,
            warmup=0,
        )
        after = count_rows(env)
        created = figures["requests"] - figures["errors"]
        rows = after["assessments"] - before["assessments"]
        audits = after["audit_creates"] - before["audit_creates"]
        print(
            f"command: DATABASE_URL=postgres://... .venv/bin/python bench/load.py "
            f"--clients {args.clients} --duration {args.duration:g} "
            f"--workers {args.workers}"
        )
        print(
            f"database: PostgreSQL (throwaway {urlsplit(database_url).path[1:]}); "
            f"redis: {'yes' if os.environ.get('REDIS_URL') else 'no'}; gunicorn -w "
            f"{args.workers} (sync), DEBUG off; {os.cpu_count()} CPUs"
        )
        print(
            f"requests {figures['requests']}  201s {created}  errors "
            f"{figures['errors']}  rows stored {rows}  audit entries {audits}"
        )
        print(
            f"throughput {figures['rps']:.1f}/s  p50 {figures['p50_ms']:.1f} ms  "
            f"p99 {figures['p99_ms']:.1f} ms"
        )
        verdict = (
            "OK" if rows == created == audits and not figures["errors"] else "LOST"
        )
        print(f"rows = 201s = audit entries, no errors: {verdict}")
        print(
            json.dumps(
                {
                    "load": {
                        **figures,
                        "created": created,
                        "rows": rows,
                        "audit_entries": audits,
                    }
                }
            )
        )
    finally:
        if pidfile is not None:
            stop_gunicorn(server, pidfile)
        drop_database()


if __name__ == "__main__":
    main()
