from tests.api.conftest import anon, as_other, ehr, token  # noqa: F401
