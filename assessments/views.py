import logging

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not answering"; the body names the component
        logger.exception("healthz: database check failed")
        return False


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        logger.exception("healthz: broker check failed")
        return "error"
    return "ok"


@login_not_required
@never_cache
@require_safe
def healthz(request):
    """200 when the database (and the broker, when configured) answer; 503 otherwise."""
    body = {
        "status": "ok",
        "database": "ok" if _database_ok() else "error",
        "broker": _broker_status(),
    }
    if "error" in body.values():
        body["status"] = "error"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
