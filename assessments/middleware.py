"""Request-wide security rules that every page, API call and admin view shares:
the audit of refusals, the idle timeout of sessions, API clients kept off the pages,
and PHI responses never cached."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseForbidden
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from .audit import audit_record, audit_request_context
from .choices import AuditAction, AuditChannel, AuditOutcome
from .models import Assessment, Encounter, Patient
from .selectors import user_is_integration

REFUSALS = {401, 403, 404, 429}
ACTIONS = {
    "GET": AuditAction.READ,
    "HEAD": AuditAction.READ,
    "POST": AuditAction.CREATE,
    "PUT": AuditAction.UPDATE,
    "PATCH": AuditAction.UPDATE,
    "DELETE": AuditAction.DELETE,
}
# URL names whose ``pk`` is not the object the name starts with.
URL_OBJECTS = {
    "encounter_new": Patient,
    "patient-encounters": Patient,
    "assessment_new": Encounter,
    "assessment_preview": Encounter,
    "encounter-assessments": Encounter,
}
UNAUDITED_PATHS = ("/healthz", "/static/", "/favicon.ico")
SESSION_LAST_SEEN = "mr_cds_last_seen"


def channel_of(request) -> AuditChannel:
    if request.path.startswith("/admin/"):
        return AuditChannel.ADMIN
    if request.path.startswith(("/api/", "/cds-services")):
        return AuditChannel.API
    return AuditChannel.PAGE


class AuditMiddleware:
    """Makes the request known to ``audit_record`` and audits every refusal: 401, 403,
    404 (another site's object looks missing), 429 (throttled, locked out) and anonymous
    visits sent to log in, with the object (and its patient) the URL names. Views audit
    what they allow."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_request_context(request):
            response = self.get_response(request)
            if self._is_refusal(request, response):
                self._audit_refusal(request, response)
        return response

    @staticmethod
    def _is_refusal(request, response) -> bool:
        if request.path.startswith(UNAUDITED_PATHS):
            return False
        if response.status_code in REFUSALS:
            return True
        return (
            response.status_code == 302
            and not request.user.is_authenticated
            and "?next=" in response.get("Location", "")
        )

    @staticmethod
    def _audit_refusal(request, response):
        obj = _object_named_by_url(request)
        audit_record(
            user=request.user,
            action=ACTIONS.get(request.method, AuditAction.READ),
            channel=channel_of(request),
            obj=obj,
            outcome=AuditOutcome.REFUSED,
            status_code=response.status_code,
            detail="" if obj is not None else _url_detail(request),
        )


def _url_detail(request) -> str:
    match = request.resolver_match
    if match is None:
        return "no such page"
    pk = match.kwargs.get("pk") or match.kwargs.get("object_id")
    return f"{match.view_name}" + (f" id {pk}" if pk else "")


def _object_named_by_url(request):
    """The patient, encounter or assessment the refused URL points at, found without
    regard to care site (the trail must say whose record was tried), or None."""
    match = request.resolver_match
    if match is None:
        return None
    pk = match.kwargs.get("pk") or match.kwargs.get("object_id")
    name = match.url_name or ""
    if name.startswith("assessments_"):  # admin: assessments_<model>_<action>
        name = name.removeprefix("assessments_")
    model = URL_OBJECTS.get(name)
    if model is None:
        model = next(
            (
                m
                for m in (Patient, Encounter, Assessment)
                if name.startswith(m._meta.model_name)
            ),
            None,
        )
    if model is None or pk is None:
        return None
    try:
        return model.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


class SessionIdleTimeoutMiddleware:
    """Ends a session left idle for ``SESSION_IDLE_MINUTES`` (CONTRACT section 6).
    The last-seen time is written at most once a minute, not on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            now = timezone.now()
            last_seen = request.session.get(SESSION_LAST_SEEN)
            idle = dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES)
            if (
                last_seen is not None
                and now - dt.datetime.fromtimestamp(last_seen, tz=dt.UTC) > idle
            ):
                logout(request)
            elif last_seen is None or now.timestamp() - last_seen > 60:
                request.session[SESSION_LAST_SEEN] = now.timestamp()
        return self.get_response(request)


class ApiClientsOffPagesMiddleware:
    """EHR integrations use the API with their tokens; a session of theirs gets 403 on
    every page and the admin (audited as a refusal), and may only log out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.user.is_authenticated
            and not request.path.startswith(("/api/", "/logout/", "/static/"))
            and user_is_integration(request.user)
        ):
            return HttpResponseForbidden(
                "API clients use the API with their token, not the pages."
            )
        return self.get_response(request)


class NoStoreMiddleware:
    """PHI never lands in a browser or proxy cache: every dynamic response (pages,
    API, PDFs) says ``Cache-Control: no-store``. Static files are served before this
    (WhiteNoise) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
