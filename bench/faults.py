"""Faults under load, on services of its own: what failed, what was lost, time to
recover.

    .venv/bin/python bench/faults.py [--clients 8] [--duration 30]

Starts a private PostgreSQL (initdb in a temporary directory, port 5514) and a private
redis-server (port 6314) — never the shared ones —, a throwaway database on it,
gunicorn (2 workers, DEBUG off) and Celery workers, then:

1. PostgreSQL restarted (``pg_ctl restart -m fast``) a third into ``--duration`` s of
   assessment creations by ``--clients`` clients: the answers during the outage, rows
   stored against 201s answered (and their audit entries), time from PostgreSQL back
   to the next 201.
2. A Celery worker SIGKILLed while rendering a PDF report: a new worker is started at
   once; time from its start to the report being ready; attempts; PDFs on disk.
3. The broker (Redis) down when a report is asked for: how the request, an evaluation
   and a creation answer and how long they take; then Redis is started again with a
   worker running beat (as docker-compose does); time until the PDF is ready with
   nobody acting.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import ASSESSMENT_BODY, EVALUATE_BODY  # noqa: E402
from server import (  # noqa: E402
    ROOT,
    free_port,
    manage,
    new_encounter,
    prepare,
    request,
    server_env,
    start_gunicorn,
    stop_gunicorn,
)

PYTHON = sys.executable
PG_PORT = 5514
REDIS_PORT = 6314
PG_BIN = Path(shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl").parent
RENDER_DELAY_ENV = "MR_CDS_TEST_REPORT_RENDER_DELAY"  # fault injection hook


def run(*args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode:
        raise subprocess.CalledProcessError(
            done.returncode, args, done.stdout, f"{done.stderr}\n{args}"
        )
    return done


def as_postgres(*args):
    """PostgreSQL refuses to run as root: its binaries run as the postgres user."""
    if os.geteuid() == 0:
        return run("runuser", "-u", "postgres", "--", *args)
    return run(*args)


class Postgres:
    def __init__(self, tmp: Path):
        self.data = tmp / "pgdata"
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
        )
        self.options = (
            f"-p {PG_PORT} -c listen_addresses=127.0.0.1 "
            f"-k {self.data} -c max_connections=100"
        )

    def ctl(self, *args):
        return as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            self.options,
            *args,
        )

    def start(self):
        self.ctl("start")

    def restart(self):
        self.ctl("restart", "-m", "fast")

    def stop(self):
        self.ctl("stop", "-m", "fast")


class Redis:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=(self.tmp / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        wait(lambda: run_ok("redis-cli", "-p", str(REDIS_PORT), "ping"), 20, "redis")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def run_ok(*args) -> bool:
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.2)
    raise SystemExit(f"timed out after {timeout}s waiting for {what}")


WORKERS: list[Worker] = []  # stopped at the end whatever happens


class Worker:
    def __init__(self, env, tmp, name, *extra, **more_env):
        self.log = tmp / f"{name}.log"
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "mr_cds",
                "worker",
                "-c",
                "1",
                "-n",
                f"{name}@%h",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *extra,
            ],
            cwd=ROOT,
            env={**env, **more_env},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        WORKERS.append(self)
        self.started = wait(lambda: " ready." in self.log.read_text(), 90, name)

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)


def load_with_samples(port, path, body, token, clients, duration, during=None):
    """``clients`` threads POSTing for ``duration`` s; ``during()`` runs meanwhile in
    this thread. Returns [(started, status, seconds)]."""
    samples, lock = [], threading.Lock()
    stop_at = time.monotonic() + duration

    def loop():
        mine = []
        while (started := time.monotonic()) < stop_at:
            try:
                status, _ = request(port, "POST", path, body, token, timeout=30)
            except OSError:
                status = 0
            mine.append((started, status, time.monotonic() - started))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    extra = during() if during else None
    for t in threads:
        t.join()
    return samples, extra


def count_rows(env) -> dict:
    code = (
        "import json\nfrom assessments.models import Assessment, AuditEvent\n"
        "print(json.dumps({'assessments': Assessment.objects.count(), 'audit_creates':"
        " AuditEvent.objects.filter(action='create', object_type__icontains="
        "'assessment').count()}))"
    )
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def report_status(port, token, assessment_id) -> str:
    status, body = request(
        port, "GET", f"/api/v1/assessments/{assessment_id}/report", None, token
    )
    return json.loads(body)["status"] if status == 200 else f"http {status}"


def report_started(env, assessment_id) -> bool:
    code = (
        "from assessments.models import Report\n"
        f"r = Report.objects.filter(assessment_id={assessment_id}).first()\n"
        "print(bool(r and r.started_at))"
    )
    return manage(env, "shell", "-c", code).strip().splitlines()[-1] == "True"


def report_attempts(env, assessment_id) -> int:
    code = (
        "from assessments.models import Report\n"
        f"print(Report.objects.get(assessment_id={assessment_id}).attempts)"
    )
    return int(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def new_assessment(port, token, encounter) -> int:
    status, body = request(
        port,
        "POST",
        f"/api/v1/encounters/{encounter}/assessments/",
        ASSESSMENT_BODY,
        token,
    )
    assert status == 201, body
    return json.loads(body)["id"]


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


# --- the three faults ----------------------------------------------------------------


def fault_postgres_restart(env, port, token, encounter, postgres, clients, duration):
    before = count_rows(env)
    path = f"/api/v1/encounters/{encounter}/assessments/"

    def restart():
        time.sleep(duration / 3)
        down_at = time.monotonic()
        postgres.restart()
        return down_at, time.monotonic()

    samples, (down_at, up_at) = load_with_samples(
        port, path, ASSESSMENT_BODY, token, clients, duration, restart
    )
    after = count_rows(env)
    statuses = Counter(status for _, status, _ in samples)
    created = statuses[201]
    failed = [(at, st) for at, st, _ in samples if st != 201]
    next_201 = min(
        (at + s for at, st, s in samples if st == 201 and at >= up_at), default=None
    )
    return {
        "requests": len(samples),
        "answers": dict(sorted(statuses.items())),
        "created_201": created,
        "rows_stored": after["assessments"] - before["assessments"],
        "audit_entries": after["audit_creates"] - before["audit_creates"],
        "restart_took_s": round(up_at - down_at, 2),
        "failed_window_s": round(
            max(a for a, _ in failed) - min(a for a, _ in failed), 2
        )
        if failed
        else 0.0,
        "recovered_s_after_postgres_up": round(next_201 - up_at, 2)
        if next_201
        else None,
    }


def fault_worker_killed(env, tmp, port, token, encounter):
    assessment = new_assessment(port, token, encounter)
    slow = Worker(env, tmp, "slow", **{RENDER_DELAY_ENV: "600"})
    status, _ = request(
        port, "POST", f"/api/v1/assessments/{assessment}/report", {}, token
    )
    assert status == 202
    wait(lambda: report_started(env, assessment), 60, "render started")
    slow.kill()
    killed_status = report_status(port, token, assessment)
    fresh = Worker(env, tmp, "fresh")
    ready_at = wait(
        lambda: report_status(port, token, assessment) == "ready", 600, "ready"
    )
    pdf_status, pdf = request(
        port, "GET", f"/api/v1/assessments/{assessment}/report.pdf", None, token
    )
    fresh.kill(signal.SIGTERM)
    pdfs = list((tmp / "media" / "reports").glob(f"assessment-{assessment}-*.pdf"))
    return {
        "status_after_kill": killed_status,
        "ready_s_after_new_worker_started": round(ready_at - fresh.started, 1),
        "attempts": report_attempts(env, assessment),
        "pdf_http": pdf_status,
        "pdf_is_pdf": pdf.startswith(b"%PDF"),
        "pdf_files": len(pdfs),
    }


def fault_broker_down(env, tmp, port, token, encounter, redis):
    assessment = new_assessment(port, token, encounter)
    redis.stop()
    down = {}
    (status, body), seconds = timed(
        lambda: request(
            port, "POST", f"/api/v1/assessments/{assessment}/report", {}, token
        )
    )
    down["report_request"] = {
        "http": status,
        "seconds": round(seconds, 2),
        "status": json.loads(body).get("status"),
    }
    (status, _), seconds = timed(
        lambda: request(port, "POST", "/api/v1/evaluate", EVALUATE_BODY, token)
    )
    down["evaluate"] = {"http": status, "seconds": round(seconds, 2)}
    (status, _), seconds = timed(
        lambda: request(
            port,
            "POST",
            f"/api/v1/encounters/{encounter}/assessments/",
            ASSESSMENT_BODY,
            token,
        )
    )
    down["create"] = {"http": status, "seconds": round(seconds, 2)}
    (status, _), seconds = timed(lambda: request(port, "GET", "/healthz"))
    down["healthz"] = {"http": status, "seconds": round(seconds, 2)}
    time.sleep(2)
    redis.start()
    back_at = time.monotonic()
    worker = Worker(env, tmp, "beat", "-B", "-s", str(tmp / "beat-schedule"))
    ready_at = wait(
        lambda: report_status(port, token, assessment) == "ready", 600, "ready"
    )
    worker.kill(signal.SIGTERM)
    return {
        "while_down": down,
        "ready_s_after_broker_back": round(ready_at - back_at, 1),
        "worker_start_s": round(worker.started - back_at, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-faults-"))
    tmp.chmod(0o755)  # the postgres user reads its data directory below
    postgres, redis = Postgres(tmp), Redis(tmp)
    server = pidfile = None
    try:
        postgres.start()
        print("PostgreSQL :5514 started", flush=True)
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE mr_cds_faults")
        redis.start()
        env = server_env(f"postgres://postgres@127.0.0.1:{PG_PORT}/mr_cds_faults", tmp)
        env["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
        (tmp / "media").mkdir()
        token = prepare(env)
        port = free_port()
        server, pidfile = start_gunicorn(
            env, port, 2, tmp, "--backlog", "256", "--timeout", "60"
        )
        encounter = new_encounter(port, token, "FAULT-1")
        print(
            f"command: .venv/bin/python bench/faults.py --clients {args.clients} "
            f"--duration {args.duration:g}"
        )
        print(
            f"own PostgreSQL :{PG_PORT}, own Redis :{REDIS_PORT}, gunicorn -w 2, "
            f"Celery workers -c 1, {os.cpu_count()} CPUs",
            flush=True,
        )
        results = {}
        results["postgres_restart"] = fault_postgres_restart(
            env, port, token, encounter, postgres, args.clients, args.duration
        )
        print(
            "1. PostgreSQL restarted mid-load:",
            json.dumps(results["postgres_restart"]),
            flush=True,
        )
        results["worker_killed"] = fault_worker_killed(env, tmp, port, token, encounter)
        print(
            "2. worker SIGKILLed mid-render:",
            json.dumps(results["worker_killed"]),
            flush=True,
        )
        results["broker_down"] = fault_broker_down(
            env, tmp, port, token, encounter, redis
        )
        print(
            "3. broker down at request time:",
            json.dumps(results["broker_down"]),
            flush=True,
        )
        pg = results["postgres_restart"]
        lost = pg["created_201"] - pg["rows_stored"]
        print(
            f"summary: PostgreSQL restart: {pg['created_201']} created, {lost} lost, "
            f"audit {'complete' if pg['audit_entries'] == pg['rows_stored'] else 'INCOMPLETE'}, "
            f"non-201 answers {sum(v for k, v in pg['answers'].items() if k != 201)}, "
            f"recovered {pg['recovered_s_after_postgres_up']} s after it was back; "
            f"killed worker's report ready "
            f"{results['worker_killed']['ready_s_after_new_worker_started']} s after a new "
            f"worker started; broker down: report request "
            f"{results['broker_down']['while_down']['report_request']['http']} in "
            f"{results['broker_down']['while_down']['report_request']['seconds']} s, PDF "
            f"ready {results['broker_down']['ready_s_after_broker_back']} s after the "
            "broker was back"
        )
        print(json.dumps({"faults": results}))
    finally:
        for worker in WORKERS:
            worker.kill()
        if pidfile is not None:
            stop_gunicorn(server, pidfile)
        redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
