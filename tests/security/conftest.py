"""The API's clients (anonymous, a Bearer token, sessions) for the security tests."""

from tests.api.conftest import anon, as_clinician, as_other, ehr, token  # noqa: F401
