"""/healthz answers without login: 200 when the database (and broker) answer, else 503."""

import pytest
from django.db import OperationalError, connection


def test_healthz_is_ok_without_login(client, db, settings):
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "not_configured",
    }


def test_healthz_is_503_when_the_database_does_not_answer(
    client, db, monkeypatch, settings
):
    settings.REDIS_URL = ""

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", unreachable)
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "error",
        "broker": "not_configured",
    }


def test_healthz_is_503_when_the_configured_broker_does_not_answer(
    client, db, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok"


@pytest.mark.skipif(
    not __import__("os").environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)"
)
def test_healthz_checks_the_real_broker(client, db, settings):
    import os

    settings.REDIS_URL = os.environ["REDIS_URL"]

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


@pytest.mark.skipif(
    not __import__("os").environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)"
)
def test_healthz_keeps_its_broker_connection_between_checks(client, db, settings):
    """A probe every few seconds opens no new connection each time (a new one cost
    more than the check)."""
    import os

    import redis

    settings.REDIS_URL = os.environ["REDIS_URL"]
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert client.get("/healthz").status_code == 200
    opened_before = broker.info("stats")["total_connections_received"]

    for _ in range(5):
        assert client.get("/healthz").json()["broker"] == "ok"

    opened = broker.info("stats")["total_connections_received"] - opened_before
    assert opened <= 1, f"{opened} new connections for 5 checks"  # other tests may run


def test_healthz_answers_head_for_probes(client, db, settings):
    settings.REDIS_URL = ""

    assert client.head("/healthz").status_code == 200
