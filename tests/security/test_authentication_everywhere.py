"""Security by default: every URL but the login page and the health check needs an
authenticated user. Walks the whole URL conf, so a new view without protection fails."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "/login/",
    "/admin/login/",
    "/healthz",
}  # the login pages and the health check


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _concrete(pattern: str) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", "1", pattern)  # path converters
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)  # regex groups (admin)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "").replace(
        "\\", ""
    )


PATHS = sorted({_concrete(p) for p in _patterns() if not p.startswith("static")})


@pytest.mark.parametrize("path", [p for p in PATHS if p not in PUBLIC])
def test_anonymous_requests_are_refused(client, path, db):
    from assessments.models import AuditEvent

    for method in (client.get, client.post):
        before = AuditEvent.objects.count()
        response = method(path)
        assert response.status_code in (301, 302, 401, 403, 404, 405), (
            path,
            response.status_code,
        )
        if response.status_code in (302, 401, 403, 404):  # a refusal, audited
            refusal = AuditEvent.objects.order_by("-id")[:1].get()
            assert AuditEvent.objects.count() == before + 1
            assert (refusal.outcome, refusal.status_code, refusal.user) == (
                "refused",
                response.status_code,
                None,
            )
        if response.status_code == 302:
            assert (
                "/login/" in response["Location"]
                or "/admin/login/" in response["Location"]
            )


def test_the_public_urls_answer_anonymously(client, db):
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)


def test_the_walk_covers_the_api_and_the_pages():
    assert any(p.startswith("/api/v1/") for p in PATHS)
    assert any(p.startswith("/admin/") for p in PATHS)
    assert len(PATHS) > 40
