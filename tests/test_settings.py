"""Environment-driven settings that change how the database is used."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from assessments.models import Organization

ROOT = Path(__file__).resolve().parent.parent


def database_options(**env) -> dict:
    """DATABASES["default"]["OPTIONS"] as settings.py builds it from ``env``."""
    inherited = {
        k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"
    }
    code = (
        "import json; from mr_cds import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**inherited, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_postgresql_uses_prepared_statements_unless_turned_off():
    url = "postgres://postgres@127.0.0.1:5432/mr_cds"
    options = database_options(DATABASE_URL=url)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5
    off = database_options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in off
    assert "prepare_threshold" not in off
    assert "server_side_binding" not in database_options(
        DATABASE_URL="sqlite:///x.sqlite3"
    )


def test_sqlite_writes_ahead_to_a_log_synced_at_every_commit(tmp_path):
    """One sync per commit instead of the rollback journal's several, and a write
    transaction holds the write lock from its start (no failed lock upgrade)."""
    url = f"sqlite:///{tmp_path / 'wal.sqlite3'}"
    assert database_options(DATABASE_URL=url)["transaction_mode"] == "IMMEDIATE"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); "
        "print(c.execute('PRAGMA journal_mode').fetchone()[0], "
        "c.execute('PRAGMA synchronous').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["wal", "2"]  # 2: FULL


@pytest.mark.skipif(
    not connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold"),
    reason="PostgreSQL with prepared statements (the default there)",
)
@pytest.mark.django_db
def test_a_query_run_again_is_prepared_once_per_connection():
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ['%"assessments_organization"%'],
            )
            return cursor.fetchone()[0]

    before = prepared()
    for _ in range(6):  # psycopg prepares a query on its 5th run
        list(Organization.objects.filter(name="prepared-statement probe"))
    assert prepared() == before + 1
