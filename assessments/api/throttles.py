"""Request rates per API client (DRF throttles, counted in the cache).

Each authenticated caller (an EHR integration's token or a clinician's session) has its
own budget, ``API_THROTTLE_RATE``; requests with a wrong Bearer token have one budget
per address, ``API_FAILED_TOKEN_RATE`` (then 429 until it refills), against guessing. The rates
are read from the settings on every check (so a test can change them), and a cache
outage lets requests through: throttling protects the service, it must not stop
decision support when Redis is down.
"""

import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _CurrentRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: fail open, the rest of the API works
            logger.warning("API throttle: cache unavailable, request let through")
            return True


class ApiClientRateThrottle(_CurrentRates, UserRateThrottle):
    """One budget per authenticated user (per address when anonymous)."""


class FailedTokenThrottle(_CurrentRates, AnonRateThrottle):
    """Counts only refused Bearer tokens, per address (see ``auth``)."""

    scope = "failed_token"

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }
