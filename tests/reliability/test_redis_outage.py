"""Decision support survives Redis: a real redis-server of this test (port 6314, never
the shared one), stopped mid-test, is the cache of the test process and the broker of
real Celery workers.

- evaluation and assessment creation answer normally with Redis down (the active
  rule-set version comes from the database);
- a report request answers 202 at once with the broker down, and the PDF arrives after
  the broker returns with nobody acting (beat in the worker sends the sweep);
- a killed worker's report is done within 2 minutes of a new worker starting, with the
  production broker settings (no test override of the visibility timeout).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

from assessments.choices import ReportStatus
from assessments.models import Assessment, Report
from assessments.reports import RENDER_DELAY_ENV
from guidelines import services as guideline_services
from tests.reports.conftest import SEVERE_PRIMARY
from tests.reports.test_worker import Worker, _env, _wait

PORT = 6314
URL = f"redis://127.0.0.1:{PORT}/0"

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server binary"
)


class RedisServer:
    """A private redis-server; ``stop()`` kills it (an outage), ``start()`` again."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.process = None

    def start(self):
        assert not self.up(), f"port {PORT} is taken"
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp_path),
            ],
            stdout=(self.tmp_path / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        _wait(self.up, 20, "redis-server on 6314")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        _wait(lambda: not self.up(), 10, "redis-server stopped")

    @staticmethod
    def up() -> bool:
        import redis

        try:
            return redis.Redis(port=PORT, socket_connect_timeout=0.3).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings, redis_server):
    """Django's cache of this process on the private Redis (as in production)."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "mr_cds.cache.RedisCache",
            "LOCATION": URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
    guideline_services._cache_down_until = 0.0
    yield redis_server
    guideline_services._cache_down_until = 0.0


@pytest.fixture
def redis_broker(redis_server):
    """The Celery app of this process sends to the private Redis (not eager)."""
    from mr_cds.celery import app

    before = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = URL, False
    app._pool = None
    app.amqp._producer_pool = None
    yield redis_server
    app.conf.broker_url, app.conf.task_always_eager = before
    app._pool = None
    app.amqp._producer_pool = None


def _timed(call):
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def test_healthz_reports_a_broker_outage_and_its_end(
    client, db, settings, redis_server
):
    """The broker's connection is kept between checks: after an outage the dropped
    connection fails the check (503), and the first check after the broker returns
    connects again (200), with nobody acting."""
    settings.REDIS_URL = URL
    assert client.get("/healthz").json()["broker"] == "ok"

    redis_server.stop()
    down = client.get("/healthz")
    redis_server.start()
    back = client.get("/healthz")

    assert (down.status_code, down.json()["broker"]) == (503, "error")
    assert (back.status_code, back.json()["broker"]) == (200, "ok")


@pytest.mark.django_db(transaction=True)
def test_evaluation_and_creation_answer_normally_with_redis_down(
    redis_cache, ehr, encounter, evaluate_input, assessment_input
):
    from django.core.cache import cache

    response = ehr.post("/api/v1/evaluate", evaluate_input, format="json")
    assert response.status_code == 200
    assert cache.get("guidelines:active:acc_aha_2020") is not None  # cached in Redis

    redis_cache.stop()
    guideline_services._compiled.clear()  # a fresh process: nothing in memory either
    for _ in range(3):
        response, seconds = _timed(
            lambda: ehr.post("/api/v1/evaluate", evaluate_input, format="json")
        )
        assert response.status_code == 200, response.content[:500]
        assert response.json()["severity"] == "severe"
        assert seconds < 3
        response, seconds = _timed(
            lambda: ehr.post(
                f"/api/v1/encounters/{encounter.pk}/assessments/",
                assessment_input,
                format="json",
            )
        )
        assert response.status_code == 201, response.content[:500]
        assert seconds < 3
    assert Assessment.objects.count() == 3

    redis_cache.start()  # back: used again once the retry pause is over
    guideline_services._cache_down_until = 0.0
    assert (
        ehr.post("/api/v1/evaluate", evaluate_input, format="json").status_code == 200
    )
    assert cache.get("guidelines:active:acc_aha_2020") is not None


@pytest.fixture
def evaluate_input():
    from tests.api.conftest import EVALUATE_INPUT

    return dict(EVALUATE_INPUT)


@pytest.fixture
def assessment_input():
    from tests.api.conftest import EVALUATE_INPUT

    return {k: v for k, v in EVALUATE_INPUT.items() if k != "patient"}


# --- reports and real workers (PostgreSQL shared with the workers) -----------------

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="worker tests need DATABASE_URL=postgres://... (shared with the worker)",
)


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(name, env, *extra):
        worker = Worker(tmp_path, name, env, extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stored_assessment(encounter, clinician):
    from assessments.services import assessment_create

    return assessment_create(encounter=encounter, data=SEVERE_PRIMARY, author=clinician)


def _status(report):
    report.refresh_from_db()
    return report.status


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_report_asked_for_with_the_broker_down_answers_202_at_once_and_arrives_later(
    redis_broker, workers, worker_media, stored_assessment, ehr, tmp_path
):
    redis_broker.stop()
    url = f"/api/v1/assessments/{stored_assessment.pk}/report"
    response, seconds = _timed(lambda: ehr.post(url, {}, format="json"))
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert seconds < 3, f"the request waited {seconds:.1f} s for the broker"
    report = Report.objects.get(assessment=stored_assessment)
    assert report.enqueued_at is None  # not sent: left for the sweep

    # Asked again while the broker is still down: still 202 at once.
    response, seconds = _timed(lambda: ehr.post(url, {}, format="json"))
    assert (response.status_code, seconds < 3) == (202, True)

    redis_broker.start()
    # Nobody acts: a worker with its embedded beat (as docker-compose runs it) sends
    # the sweep, which enqueues the report.
    env = _env(worker_media, REDIS_URL=URL, MR_CDS_REPORT_SWEEP_SECONDS="2")
    worker = workers("beat-worker", env, "-B", "-s", str(tmp_path / "beat-schedule"))
    _wait(lambda: _status(report) == ReportStatus.READY, 90, "ready", worker)
    assert report.file.name.endswith(".pdf")
    assert ehr.get(f"{url}.pdf").status_code == 200


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_asking_again_re_enqueues_a_report_whose_job_was_never_sent(
    redis_broker, workers, worker_media, stored_assessment, ehr
):
    redis_broker.stop()
    url = f"/api/v1/assessments/{stored_assessment.pk}/report"
    assert ehr.post(url, {}, format="json").status_code == 202
    redis_broker.start()
    worker = workers("plain-worker", _env(worker_media, REDIS_URL=URL))  # no beat
    assert ehr.post(url, {}, format="json").status_code == 202  # the person asks again
    report = Report.objects.get(assessment=stored_assessment)
    _wait(lambda: _status(report) == ReportStatus.READY, 60, "ready", worker)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_report_is_done_within_2_minutes_of_a_new_worker(
    redis_broker, workers, worker_media, stored_assessment, ehr
):
    slow_env = _env(worker_media, REDIS_URL=URL, **{RENDER_DELAY_ENV: "600"})
    slow = workers("slow", slow_env)
    url = f"/api/v1/assessments/{stored_assessment.pk}/report"
    assert ehr.post(url, {}, format="json").status_code == 202
    report = Report.objects.get(assessment=stored_assessment)
    _wait(lambda: (report.refresh_from_db(), report.started_at)[1], 60, "start", slow)
    slow.kill(signal.SIGKILL)
    assert _status(report) == ReportStatus.PENDING

    fresh = workers("fresh", _env(worker_media, REDIS_URL=URL))  # production settings
    started = time.monotonic()
    _wait(lambda: _status(report) == ReportStatus.READY, 120, "ready in 2 min", fresh)
    took = time.monotonic() - started
    assert report.attempts == 2
    print(f"killed worker's report ready {took:.0f} s after the new worker started")


def test_compose_runs_celery_beat_with_the_report_sweep():
    import yaml

    compose = yaml.safe_load(
        (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()
    )
    commands = [
        " ".join(s["command"])
        if isinstance(s.get("command"), list)
        else s.get("command", "")
        for s in compose["services"].values()
    ]
    assert any(
        "celery" in c and (" beat" in c or " -B" in c or "--beat" in c)
        for c in commands
    ), commands
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "assessments.tasks.report_sweep_stale_task" in tasks
