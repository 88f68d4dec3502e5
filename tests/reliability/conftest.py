"""Reliability tests: hostile input, limits, outages. The API fixtures are shared."""

from tests.api.conftest import anon, ehr, token  # noqa: F401
