"""Fixtures of the PDF report tests: a stored severe primary MR assessment, a private
MEDIA_ROOT, in-process Celery, and real worker processes for the ``worker`` tests."""

import os

import pytest

from assessments.services import assessment_create

SEVERE_PRIMARY = {
    "etiology": "flail_leaflet",
    "symptoms": {"nyha_class": 2, "dyspnea": True, "fatigue": True},
    "ecg": {"rhythm": "sinus"},
    "echo": {
        "modality": "tte",
        "eroa_cm2": 0.52,
        "regurgitant_volume_ml": 75,
        "regurgitant_fraction_pct": 58,
        "vena_contracta_cm": 0.8,
        "flail_leaflet": True,
        "leaflet_lesion": "severe",
        "lvef_pct": 57,
        "lvesd_mm": 42,
        "lvedd_mm": 63,
        "la_volume_index_ml_m2": 61,
        "pasp_mmhg": 52,
    },
    "management": {
        "surgical_risk": "intermediate",
        "sts_prom_pct": 3.2,
        "repair_likelihood": "high",
    },
    "prior_echos": [{"months_ago": 18, "lvef_pct": 63, "lvesd_mm": 37}],
}


def pytest_collection_modifyitems(config, items):
    """Worker tests need Redis and a database another process can open: skipped (and
    reported as skipped) on the embedded default."""
    reason = None
    if not os.environ.get("REDIS_URL"):
        reason = "worker tests need REDIS_URL (a real Redis broker)"
    elif not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        reason = (
            "worker tests need DATABASE_URL=postgres://... (shared with the worker)"
        )
    if reason:
        for item in items:
            if "worker" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def assessment(encounter, clinician):
    return assessment_create(encounter=encounter, data=SEVERE_PRIMARY, author=clinician)


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, as on the embedded default (no REDIS_URL)."""
    from mr_cds.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
