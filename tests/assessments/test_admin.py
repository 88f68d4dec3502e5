"""The admin: curated, scoped, and as strict as the services."""

import pytest


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


# Stored assessments are read-only in the admin (tests/security/test_admin_scope.py):
# they are added through the pages and the API, which evaluate them.


@pytest.mark.parametrize(
    "url",
    [
        "/admin/assessments/organization/",
        "/admin/assessments/membership/",
        "/admin/assessments/patient/",
        "/admin/assessments/encounter/",
        "/admin/assessments/assessment/",
        "/admin/assessments/auditevent/",
        "/admin/assessments/patient/add/",
        "/admin/assessments/encounter/add/",
    ],
)
def test_admin_pages_render(admin_client, encounter, url):
    assert admin_client.get(url).status_code == 200
