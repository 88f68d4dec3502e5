"""Authentication hardening (issue 14, item 7): lockout after failed sign-ins, API rates
per client, tokens that die with the integrations group, API clients kept off the pages,
an idle timeout, PHI never cached, a CSP without inline script, and deployment settings
(.env.example) that ``check --deploy`` passes."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from assessments.api.services import api_token_issue
from assessments.models import AuditEvent
from assessments.selectors import (
    integrations_group,
    user_is_integration,
    users_with_integration_flag,
)
from tests.factories import MembershipFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


# --- lockout (django-axes) ------------------------------------------------------------


@pytest.mark.parametrize("login_url", ["/login/", "/admin/login/"])
def test_repeated_failed_sign_ins_lock_the_account_out_and_are_audited(
    client, superuser, login_url
):
    attempts = [
        client.post(
            login_url,
            {"username": "root", "password": "wrong"},
            REMOTE_ADDR="192.0.2.10",
        )
        for _ in range(django_settings.AXES_FAILURE_LIMIT)
    ]
    right = client.post(
        login_url,
        {"username": "root", "password": "password"},
        REMOTE_ADDR="192.0.2.10",
    )

    assert [r.status_code for r in attempts[:-1]] == [200] * (len(attempts) - 1)
    assert attempts[-1].status_code == 429
    assert right.status_code == 429  # even the right password, until the cool-off
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.filter(action="login_failed", outcome="refused")
    # Each wrong password, and the right one refused during the lockout.
    assert failed.count() == django_settings.AXES_FAILURE_LIMIT + 1
    assert {e.source_address for e in failed} == {"192.0.2.10"}
    assert "'root'" in failed.first().detail
    assert AuditEvent.objects.filter(action="lockout", outcome="refused").exists()


def test_a_sign_in_and_out_are_audited(client, clinician):
    response = client.post(
        "/login/",
        {"username": "alice", "password": "password"},
        REMOTE_ADDR="192.0.2.7",
    )
    client.post("/logout/")

    assert response.status_code == 302
    actions = list(
        AuditEvent.objects.order_by("id").values_list(
            "action", "user", "source_address"
        )
    )
    assert actions == [
        ("login", clinician.pk, "192.0.2.7"),
        ("logout", clinician.pk, "127.0.0.1"),
    ]


# --- API rates per client ---------------------------------------------------------------


def _rates(settings, user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": user, "failed_token": "2/min"},
    }


def test_each_api_client_has_its_own_request_rate(settings, ehr, organization):
    _rates(settings, "3/min")
    second = UserFactory(username="ehr-2")
    MembershipFactory(user=second, organization=organization, role="api_client")
    second.groups.add(integrations_group())
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=second)}")

    answers = [ehr.get("/api/v1/guidelines/").status_code for _ in range(4)]
    throttled = ehr.get("/api/v1/guidelines/")

    assert answers == [200, 200, 200, 429]
    assert throttled.json()["errors"][0]["field"] == ""
    assert "Retry-After" in throttled
    assert other.get("/api/v1/guidelines/").status_code == 200  # its own budget
    assert AuditEvent.objects.filter(outcome="refused", status_code=429).count() == 2


def test_wrong_bearer_tokens_are_throttled_by_address(settings, anon, ehr):
    _rates(settings, "100/min")
    anon.credentials(HTTP_AUTHORIZATION="Bearer " + "0" * 64)

    answers = [anon.get("/api/v1/patients/").status_code for _ in range(4)]

    assert answers == [401, 401, 429, 429]
    assert ehr.get("/api/v1/patients/").status_code == 200  # a valid token still works


# --- tokens and the integrations group ------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        "user.groups.remove",
        "group.user_set.remove",
        "user.groups.clear",
        "group.user_set.clear",
    ],
)
def test_leaving_the_integrations_group_revokes_the_tokens(how, ehr, api_client_user):
    assert ehr.get("/api/v1/guidelines/").status_code == 200
    group = integrations_group()
    {
        "user.groups.remove": lambda: api_client_user.groups.remove(group),
        "group.user_set.remove": lambda: group.user_set.remove(api_client_user),
        "user.groups.clear": lambda: api_client_user.groups.clear(),
        "group.user_set.clear": lambda: group.user_set.clear(),
    }[how]()

    assert not api_client_user.auth_token_set.exists()
    assert ehr.get("/api/v1/guidelines/").status_code == 401


def test_a_token_of_a_user_outside_the_group_does_not_authenticate(
    ehr, api_client_user
):
    # Behind the signal's back (a raw delete of the membership row): checked at use.
    api_client_user.groups.through.objects.filter(user=api_client_user).delete()

    assert api_client_user.auth_token_set.exists()
    response = ehr.get("/api/v1/guidelines/")
    assert response.status_code == 401
    assert AuditEvent.objects.filter(outcome="refused", status_code=401).exists()


@pytest.mark.parametrize("path", ["/", "/about/", "/admin/"])
def test_api_clients_cannot_use_the_pages(client, api_client_user, path):
    client.force_login(api_client_user)

    response = client.get(path)

    assert response.status_code == 403
    refusal = AuditEvent.objects.get(outcome="refused")
    assert (refusal.user, refusal.status_code) == (api_client_user, 403)


def test_joining_the_integrations_group_closes_the_pages_at_the_next_request(
    client, clinician
):
    """The session's user is read with whether it is an integration, on every
    request: a clinician made an integration meanwhile is refused the next page."""
    client.force_login(clinician)
    assert client.get("/").status_code == 200

    clinician.groups.add(integrations_group())

    assert client.get("/").status_code == 403


def test_a_page_asks_whether_the_user_is_an_integration_in_the_user_read(
    client, clinician
):
    client.force_login(clinician)
    client.get("/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/about/").status_code == 200
    asking = [q["sql"] for q in captured if "auth_user_groups" in q["sql"]]
    assert len(asking) == 1, asking
    assert 'FROM "auth_user"' in asking[0]


@pytest.mark.parametrize(
    ("in_group", "role", "integration"),
    [
        (False, None, False),
        (False, "clinician", False),
        (True, None, True),
        (False, "api_client", True),
        (True, "api_client", True),
    ],
)
def test_an_integration_is_a_member_of_the_group_or_an_api_client_of_a_site(
    organization, other_organization, in_group, role, integration
):
    """The rule read with the session's user and the one asked of any user agree, and
    follow the definition: in the integrations group, or an API client of a site (a
    clinician's membership of another site changes nothing)."""
    user = UserFactory()
    MembershipFactory(user=user, organization=other_organization, role="clinician")
    if in_group:
        user.groups.add(integrations_group())
    if role:
        MembershipFactory(user=user, organization=organization, role=role)

    read = users_with_integration_flag(get_user_model().objects).get(pk=user.pk)

    assert read.is_integration is integration
    assert user_is_integration(get_user_model().objects.get(pk=user.pk)) is integration


# --- sessions ------------------------------------------------------------------------------


def test_an_idle_session_ends(client, clinician, settings, time_machine):
    settings.SESSION_IDLE_MINUTES = 15
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(clinician)
    assert client.get("/").status_code == 200

    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 14, tzinfo=dt.UTC), tick=False)
    assert client.get("/").status_code == 200  # still active: the clock restarts
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 28, tzinfo=dt.UTC), tick=False)
    assert client.get("/").status_code == 200
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 44, tzinfo=dt.UTC), tick=False)
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- response headers ---------------------------------------------------------------------


def test_phi_responses_are_never_cached(client, clinician, patient, as_clinician):
    client.force_login(clinician)
    page = client.get(f"/patients/{patient.pk}/")
    api = as_clinician.get(f"/api/v1/patients/{patient.pk}/")

    for response in (page, api):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_pages_carry_a_csp_without_inline_script(client, db):
    policy = client.get("/login/")["Content-Security-Policy"]

    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_templates_hold_no_inline_script_or_event_handler():
    """What the CSP would block: inline <script> bodies, on*="..." handlers, inline
    style. (The PDF template is rendered by WeasyPrint, never served as a page.)"""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "reports" in path.parts:
            continue
        text = path.read_text()
        if (
            re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
            or re.search(r"\son[a-z]+\s*=", text)
            or re.search(r"<style|\sstyle=", text)
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- deployment settings -------------------------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_env_example_ships_secure_cookies_and_no_demo_password():
    values = _env_example()
    assert values.get("SECURE_COOKIES", "true") == "true"
    assert values.get("MR_CDS_DEMO_PASSWORD", "") == ""
    assert values["DEBUG"] == "false"


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production_env(**extra) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))
    }
    env.update(_env_example())
    env.update(extra)
    return env


def test_check_deploy_passes_with_the_env_example():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_hsts_is_configurable():
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD)"
    result = _manage(
        "shell",
        "-c",
        code,
        env=_production_env(
            SECRET_KEY="x" * 60, SECURE_HSTS_SECONDS="600", SECURE_HSTS_PRELOAD="false"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["600", "False"]


def test_the_api_docs_load_their_script_from_a_url(as_clinician):
    """Swagger UI's start-up script is served as a file, so the CSP lets it run."""
    page = as_clinician.get("/api/docs/").content.decode()
    script = as_clinician.get("/api/docs/?script=")

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
