"""Reads at scale: server time (in-process, through the URL conf and middleware, no
network) of the patient page, the patient API lists and the assessment read over the
assessments seeded by bench/replay.py (default 1,000,000 across 100,000 patients), as
p50/p95 over random patients, with the process CPU time per request, mean and p95
(this process only: PostgreSQL's time is in the wall time). The search (``?q=``) is
for one seeded patient's family name. The indexes these reads use are
proved by EXPLAIN in tests/api/test_read_plans.py.

    DATABASE_URL=postgres://... .venv/bin/python bench/replay.py --seed-only
    DATABASE_URL=postgres://... .venv/bin/python bench/reads.py [--requests 200]

A clinician and an API client of the seeded organization are created (and reused); the
queries per request are printed too (constant whatever the patient), counted over 20 more
requests apart from the timed ones (capturing them costs time the server does not spend).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from machine import machine, machine_line  # bench/machine.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-reads-only-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # plain in-process requests


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit(
            "bench/reads.py needs DATABASE_URL=postgres://... seeded by bench/replay.py"
        )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from assessments.api.services import api_token_issue
    from assessments.choices import Role
    from assessments.models import Assessment, Membership, Patient
    from assessments.selectors import integrations_group

    sys.path.insert(0, str(ROOT / "bench"))
    from replay import seeded_organization  # noqa: PLC0415

    org = seeded_organization()
    if org is None:
        sys.exit("no seeded data: run bench/replay.py --seed-only first")
    users = get_user_model().objects
    clinician, _ = users.get_or_create(username="bench-scale-clinician")
    ehr_user, _ = users.get_or_create(username="bench-scale-ehr")
    Membership.objects.get_or_create(
        user=clinician, organization=org, defaults={"role": Role.CLINICIAN}
    )
    Membership.objects.get_or_create(
        user=ehr_user, organization=org, defaults={"role": Role.API_CLIENT}
    )
    ehr_user.groups.add(integrations_group())  # tokens go to integrations only
    page = Client()
    page.force_login(clinician)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=ehr_user)}")

    patients = Patient.objects.filter(organization=org)
    n_patients = patients.count()
    n_assessments = Assessment.objects.filter(
        encounter__patient__organization=org
    ).count()
    bounds = list(
        patients.order_by("id").values_list("id", flat=True)[
            :: max(1, n_patients // 1000)
        ]
    )
    a_ids = list(
        Assessment.objects.filter(encounter__patient__organization=org)
        .order_by("id")
        .values_list("id", flat=True)[:: max(1, n_assessments // 1000)]
    )
    rng = random.Random(18)
    reads = {
        "GET /patients/<id>/ (page)": (
            page,
            lambda: f"/patients/{rng.choice(bounds)}/",
        ),
        "GET /api/v1/patients/": (api, lambda: "/api/v1/patients/"),
        "GET /api/v1/patients/?page=N": (
            api,
            lambda: f"/api/v1/patients/?page={rng.randint(1, n_patients // 25)}",
        ),
        "GET /api/v1/patients/?q=<name>": (
            api,
            lambda: f"/api/v1/patients/?q=Patient+{rng.randint(1, n_patients):07d}",
        ),
        "GET /api/v1/patients/<id>/encounters/": (
            api,
            lambda: f"/api/v1/patients/{rng.choice(bounds)}/encounters/",
        ),
        "GET /api/v1/assessments/<id>/": (
            api,
            lambda: f"/api/v1/assessments/{rng.choice(a_ids)}/",
        ),
    }
    rows = {}
    print(f"{n_assessments} assessments across {n_patients} patients")
    print(
        f"{'read':<40}{'p50 ms':>8}{'p95 ms':>8}{'CPU ms':>8}{'CPU p95':>8}"
        f"{'queries':>9}"
    )
    for label, (client, url) in reads.items():
        for _ in range(5):
            assert client.get(url()).status_code == 200
        times, cpu, queries = [], [], set()
        for _ in range(args.requests):
            target = url()
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(target)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200, (target, response.status_code)
        # Queries are counted apart: capturing them (each statement's text kept, with
        # its parameters) costs time the server does not spend.
        for _ in range(20):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url()).status_code == 200
            queries.add(len(captured))
        times.sort()
        rows[label] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
            "cpu_ms": round(statistics.mean(cpu), 2),
            "cpu_p95_ms": round(sorted(cpu)[int(len(cpu) * 0.95) - 1], 2),
            "queries": sorted(queries),
        }
        r = rows[label]
        print(
            f"{label:<40}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['cpu_ms']:>8.1f}"
            f"{r['cpu_p95_ms']:>8.1f}{str(r['queries']):>9}"
        )
    print(
        f"load average (1 min): {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs shared"
    )
    info = machine()
    print(machine_line(info))
    print("command: .venv/bin/python bench/reads.py " + " ".join(sys.argv[1:]))
    print(
        json.dumps(
            {
                "assessments": n_assessments,
                "patients": n_patients,
                "rows": rows,
                "machine": info,
            }
        )
    )


if __name__ == "__main__":
    main()
