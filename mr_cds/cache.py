"""Django's Redis cache backend with one Redis client per connection pool.

Django's ``RedisCacheClient`` makes a new ``redis.Redis`` for every cache call, and
``redis.Redis()`` builds its table of ~170 response callbacks each time (~80 µs of CPU,
more than the GET it serves). Each API request makes three calls (the rate limit's read
and write, the active guideline version), so here each pool gets one client, made on
first use. A ``redis.Redis`` holds no connection of its own (it borrows one from the pool
per command), so sharing it between threads is safe, and the pool reconnects after a
fork as before.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
