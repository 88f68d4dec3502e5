"""In-process CPU per assessment creation and per stateless evaluation, through the URL
conf (the API views, serializers, services, engine and audit trail; no HTTP server).

    .venv/bin/python bench/assessment_cpu.py [--n 200]

A throwaway in-memory SQLite database (migrated, the shipped rule sets loaded), one
clinician, one encounter; then ``--n`` times ``POST /api/v1/encounters/{id}/assessments/``
and ``--n`` times ``POST /api/v1/evaluate``, after a warm-up. The figure is process CPU
time (``time.process_time``) per request, which other work on a shared machine disturbs
far less than wall time; the median of five batches is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings_test")
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.pop("REDIS_URL", None)

CREATE_BODY = {
    "etiology": "flail_leaflet",
    "symptoms": {"nyha_class": 2, "dyspnea": True},
    "ecg": {"rhythm": "sinus"},
    "echo": {
        "modality": "tte",
        "eroa_cm2": 0.52,
        "regurgitant_volume_ml": 75,
        "regurgitant_fraction_pct": 58,
        "vena_contracta_cm": 0.8,
        "flail_leaflet": True,
        "lvef_pct": 57,
        "lvesd_mm": 42,
        "lvedd_mm": 63,
        "la_volume_index_ml_m2": 61,
        "pasp_mmhg": 52,
    },
    "management": {"surgical_risk": "intermediate"},
    "prior_echos": [{"months_ago": 18, "lvef_pct": 63, "lvesd_mm": 37}],
}
PATIENT = {"age_years": 67, "sex": "female", "height_cm": 165, "weight_kg": 68.5}


def per_request(call, n: int, batches: int = 5) -> float:
    """Median over ``batches`` of the CPU milliseconds per call."""
    figures = []
    for _ in range(batches):
        start = time.process_time()
        for _ in range(n):
            call()
        figures.append((time.process_time() - start) * 1000 / n)
    return statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests per batch")
    args = parser.parse_args()

    import datetime as dt

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment
    from rest_framework.test import APIClient

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    from django.contrib.auth import get_user_model

    from assessments.choices import Role
    from assessments.models import Encounter, Membership, Organization, Patient
    from guidelines.authoring import guidelines_load

    guidelines_load()
    site = Organization.objects.create(name="Bench clinic")
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(user=user, organization=site, role=Role.CLINICIAN)
    patient = Patient.objects.create(
        organization=site,
        mrn="B-1",
        given_name="B",
        family_name="Bench",
        birth_date=dt.date(1958, 6, 15),
        sex="female",
        height_cm=165,
        weight_kg=68.5,
    )
    encounter = Encounter.objects.create(
        patient=patient, occurred_at=dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
    )
    client = APIClient()
    client.force_login(user)
    create_url = f"/api/v1/encounters/{encounter.pk}/assessments/"
    evaluate_body = {**CREATE_BODY, "patient": PATIENT}

    def create():
        response = client.post(create_url, CREATE_BODY, format="json")
        assert response.status_code == 201, response.content

    def evaluate():
        response = client.post("/api/v1/evaluate", evaluate_body, format="json")
        assert response.status_code == 200, response.content

    for _ in range(20):  # warm-up: compiled rule sets, templates, caches
        create()
        evaluate()
    print(f"CPU per API creation:  {per_request(create, args.n):.2f} ms")
    print(f"CPU per API evaluate:  {per_request(evaluate, args.n):.2f} ms")


if __name__ == "__main__":
    main()
