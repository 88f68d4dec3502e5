"""What the HTTP benchmarks share: a throwaway database, the product served by gunicorn
(sync workers, DEBUG off) on a free loopback port, and a plain HTTP client.

    database_url, drop_database = throwaway_database(tmp)
    env = server_env(database_url, tmp)
    token = prepare(env)                       # migrate, load rule sets, seed, API token
    server, pidfile = start_gunicorn(env, free_port(), workers=2, tmp=tmp)
    ...
    stop_gunicorn(server, pidfile); drop_database()

bench/api.py, bench/load.py, bench/cds_hooks.py and bench/faults.py use it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def throwaway_database(tmp: Path) -> tuple[str, callable]:
    """(DATABASE_URL, cleanup): a fresh PostgreSQL database on the server of DATABASE_URL
    when it is set, else a temporary SQLite file."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    import psycopg

    name = f"mr_cds_bench_{os.getpid()}"
    parts = urlsplit(base)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def server_env(database_url: str, tmp: Path, **extra: str) -> dict:
    """The production settings on loopback: DEBUG off, a fresh secret key, the database,
    media under ``tmp``; plain HTTP (no HTTPS redirect) and no rate limit, since one API
    client drives all the load; ``extra`` adds or overrides variables."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "MR_CDS_DEMO_PASSWORD": secrets.token_urlsafe(12),
        "MEDIA_ROOT": str(tmp / "media"),
        "DJANGO_SETTINGS_MODULE": "mr_cds.settings",
        "SECURE_SSL_REDIRECT": "false",
        "API_THROTTLE_RATE": "1000000/min",
        **extra,
    }


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(env: dict) -> str:
    """Migrate, load the rule sets, seed the demo data; an API token of demo-ehr (an API
    client of the first demo care site)."""
    manage(env, "migrate", "--noinput")
    manage(env, "load_guidelines")
    manage(env, "seed_demo")
    return manage(env, "issue_api_token", "demo-ehr").strip().splitlines()[-1]


def request(port, method, path, body=None, token=None, timeout=30.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Host": HOST}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data
    finally:
        conn.close()


def wait_until_up(port: int, deadline: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("gunicorn did not answer /healthz in time")


def start_gunicorn(env: dict, port: int, workers: int, tmp: Path, *options: str):
    """gunicorn with ``workers`` sync workers on ``port``, up when this returns;
    (process, pidfile) for ``stop_gunicorn``."""
    pidfile = tmp / "gunicorn.pid"
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "mr_cds.wsgi",
            "-w",
            str(workers),
            "-k",
            "sync",
            "-b",
            f"{HOST}:{port}",
            "--pid",
            str(pidfile),
            "--log-level",
            "warning",
            *options,
        ],
        cwd=ROOT,
        env=env,
    )
    wait_until_up(port)
    return server, pidfile


def stop_gunicorn(server, pidfile: Path) -> None:
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    if server is not None:
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def new_encounter(port: int, token: str, mrn: str) -> int:
    """A patient of the token's care site and an encounter of theirs, made through the
    API itself; the encounter's id."""
    patient = {
        "mrn": mrn,
        "given_name": "Bench",
        "family_name": "Mark",
        "birth_date": "1958-06-15",
        "sex": "female",
        "height_cm": 165,
        "weight_kg": 68.5,
    }
    status, body = request(port, "POST", "/api/v1/patients/", patient, token)
    assert status == 201, body
    patient_id = json.loads(body)["id"]
    encounter = {"occurred_at": "2025-03-10T09:30:00Z"}
    status, body = request(
        port, "POST", f"/api/v1/patients/{patient_id}/encounters/", encounter, token
    )
    assert status == 201, body
    return json.loads(body)["id"]
