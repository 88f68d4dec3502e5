"""Real Celery worker processes on the real Redis and the test database (PostgreSQL).

Skipped, and reported as skipped, without REDIS_URL and a PostgreSQL DATABASE_URL
(see conftest). Each worker is started with a pidfile in its own session and stopped
by that process group id.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from assessments.choices import ReportStatus
from assessments.models import AuditEvent, Report
from assessments.reports import RENDER_DELAY_ENV, report_request

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
SPARE_REDIS_PORT = 6390  # a private redis-server for the broker-down test, never 6379


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(media_root: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.reports.worker_settings",
        "DATABASE_URL": _database_url(),
        "MR_CDS_TEST_MEDIA_ROOT": str(media_root),
    }
    env.pop(RENDER_DELAY_ENV, None)
    env.update(extra)
    return env


class Worker:
    """``celery -A mr_cds worker -c 1`` in its own process group."""

    def __init__(
        self, tmp_path: Path, name: str, env: dict[str, str], extra: tuple = ()
    ):
        self.log = tmp_path / f"{name}.log"
        self.pidfile = tmp_path / f"{name}.pid"
        self.process = subprocess.Popen(
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
                str(self.pidfile),
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *extra,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(lambda: " ready." in self.log.read_text(), 60, f"{name} ready", self)

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self):
        try:
            self.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


def _wait(condition, timeout, what, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = worker.log.read_text()[-3000:] if worker else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{log}")


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(name, **env):
        worker = Worker(tmp_path, name, env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _status(report):
    report.refresh_from_db()
    return report.status


def _pdfs(media_root: Path) -> list[Path]:
    folder = media_root / "reports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_worker_renders_the_requested_report(
    workers, worker_media, assessment, clinician
):
    worker = workers("w1", **_env(worker_media))
    report = report_request(assessment=assessment, user=clinician)
    _wait(lambda: _status(report) == ReportStatus.READY, 60, "ready", worker)
    assert report.attempts == 1
    assert report.enqueued_at is not None
    (pdf,) = _pdfs(worker_media)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert report.file.name == f"reports/{pdf.name}"


def test_a_worker_killed_mid_render_loses_no_report_and_leaves_one_pdf(
    workers, worker_media, assessment, clinician
):
    slow = workers("slow", **_env(worker_media, **{RENDER_DELAY_ENV: "60"}))
    report = report_request(assessment=assessment, user=clinician)
    _wait(lambda: (report.refresh_from_db(), report.started_at)[1], 60, "start", slow)
    slow.kill(signal.SIGKILL)  # the whole worker, pool child included
    assert _status(report) == ReportStatus.PENDING
    assert _pdfs(worker_media) == []

    # The unacknowledged message comes back to the next worker (acks_late); a short
    # visibility timeout makes that seconds rather than minutes.
    time.sleep(2)
    fresh = workers("fresh", **_env(worker_media, MR_CDS_TEST_VISIBILITY_TIMEOUT="2"))
    _wait(lambda: _status(report) == ReportStatus.READY, 60, "ready", fresh)
    assert report.attempts == 2
    assert [p.name for p in _pdfs(worker_media)] == [report.file.name.split("/")[-1]]


@pytest.fixture
def spare_redis(tmp_path):
    """A private redis-server on SPARE_REDIS_PORT, stopped until ``start()``."""
    processes = []

    def start():
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(SPARE_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=(tmp_path / "redis.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        _wait(lambda: _redis_up(), 20, "spare redis-server")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _redis_up() -> bool:
    import redis

    try:
        return redis.Redis(port=SPARE_REDIS_PORT, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        return False


def _manage_shell(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_request_made_while_redis_is_down_gets_its_pdf_after_the_sweep(
    workers, worker_media, spare_redis, assessment, clinician
):
    assert not _redis_up(), f"port {SPARE_REDIS_PORT} is taken"
    broker = f"redis://127.0.0.1:{SPARE_REDIS_PORT}/0"
    env = _env(worker_media, REDIS_URL=broker)
    # A web process whose broker is down: the request succeeds and is recorded.
    status = _manage_shell(
        "from django.contrib.auth import get_user_model\n"
        "from assessments.models import Assessment\n"
        "from assessments.audit import audit_record\n"
        "from assessments.reports import report_request\n"
        f"user = get_user_model().objects.get(pk={clinician.pk})\n"
        f"assessment = Assessment.objects.get(pk={assessment.pk})\n"
        "report = report_request(assessment=assessment, user=user)\n"
        "audit_record(user=user, action='export', channel='api', obj=assessment,"
        " detail='PDF requested')\n"
        "print(report.status)",
        env,
    )
    assert status == ReportStatus.PENDING
    report = Report.objects.get(assessment=assessment)
    assert (report.status, report.enqueued_at) == (ReportStatus.PENDING, None)
    assert AuditEvent.objects.filter(
        action="export", object_id=str(assessment.pk)
    ).exists()

    spare_redis()
    worker = workers("after-outage", **env)
    # What Celery beat sends every minute:
    _manage_shell(
        "from assessments.tasks import report_sweep_stale_task\n"
        "print(report_sweep_stale_task.delay().id)",
        env,
    )
    _wait(lambda: _status(report) == ReportStatus.READY, 60, "ready", worker)
    assert len(_pdfs(worker_media)) == 1
