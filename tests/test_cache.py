"""The Redis cache backend (mr_cds/cache.py): Django's, with one client per process."""

import os

import pytest
from django.core.cache import caches

REDIS = os.environ.get("REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS, reason="needs REDIS_URL (real Redis)")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "mr_cds.cache.RedisCache",
            "LOCATION": REDIS,
            "KEY_PREFIX": "mr_cds_test_cache",
        }
    }
    cache = caches["default"]
    yield cache
    cache.delete_many(["a", "n"])


def test_it_stores_reads_and_counts_like_djangos_backend(redis_cache):
    redis_cache.set("a", {"version": 7}, timeout=30)
    redis_cache.set("n", 1, timeout=30)

    assert redis_cache.get("a") == {"version": 7}
    assert redis_cache.incr("n") == 2
    assert redis_cache.get("missing", "default") == "default"


def test_it_reuses_one_client_per_connection_pool(redis_cache):
    first = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b") is first
    assert redis_cache._cache.get_client("c", write=True) is first  # one server
