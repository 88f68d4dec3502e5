"""One error shape for the whole API (CONTRACT section 4), one exception handler.

Every error answers ``{"errors": [{"field": "echo.eroa_cm2", "message": "..."}]}``;
``field`` is the dotted input path, or ``""`` when the error is about the request as a
whole. 401, 403 and 404 say nothing about the resource asked for.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from guidelines.services import FieldError, GuidelineError, InputError

NOT_FOUND = "Not found."
NOT_AUTHENTICATED = "Authentication credentials were not provided or are not valid."
FORBIDDEN = "You do not have permission to perform this action."
SERVER_ERROR = "Internal server error; the request was not completed."
DATABASE_UNAVAILABLE = (
    "The database is unavailable; nothing was stored. Try again shortly."
)
# Errors of a database that cannot be reached (not of a query): answered 503.
DatabaseUnavailable = (OperationalError, InterfaceError)
BAD_REQUEST = "Bad request."


class ApiConflict(exceptions.APIException):
    """409: the request contradicts an earlier one (e.g. a reused idempotency key)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class ApiInputError(exceptions.APIException):
    """400 with field errors already in the contract's shape."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text='Dotted input path (e.g. "echo.eroa_cm2"); "" for the whole request.',
        allow_blank=True,
    )
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API."""

    errors = ErrorItemSerializer(many=True)


def error_body(errors: list[FieldError]) -> dict:
    return {"errors": [e.as_dict() for e in errors]}


def _flatten(detail, prefix: str = "") -> list[FieldError]:
    """DRF error detail (nested dicts/lists) -> field errors with dotted paths."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = "" if key in (NON_FIELD_ERRORS, "non_field_errors") else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            errors += _flatten(value, path)
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [FieldError(prefix, str(item)) for item in detail]
        errors = []
        for index, item in enumerate(detail):
            if item:
                errors += _flatten(item, f"{prefix}[{index}]")
        return errors
    return [FieldError(prefix, str(detail))]


def _django_validation_errors(exc: DjangoValidationError) -> list[FieldError]:
    if hasattr(exc, "error_dict"):
        return _flatten(exc.message_dict)
    return [FieldError("", message) for message in exc.messages]


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error in the one shape."""
    if isinstance(exc, InputError):
        return Response(error_body(exc.errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApiInputError):
        return Response(error_body(exc.errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response(
            error_body(_django_validation_errors(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, GuidelineError):
        return Response(
            error_body([FieldError("guideline", str(exc))]),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DatabaseUnavailable):
        # e.g. PostgreSQL restarting: nothing was stored (one transaction); retryable.
        return Response(
            error_body([FieldError("", DATABASE_UNAVAILABLE)]),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling (and logging)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        errors = [FieldError("", NOT_AUTHENTICATED)]
    elif isinstance(exc, exceptions.PermissionDenied):
        errors = [FieldError("", FORBIDDEN)]
    elif isinstance(exc, exceptions.NotFound):
        errors = [FieldError("", NOT_FOUND)]
    else:
        errors = _flatten(exc.detail)
    response.data = error_body(errors)
    return response


# --- Django's error views (mr_cds/urls.py handler400/handler500): JSON under /api/ ---


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def server_error(request, template_name="500.html"):
    """A 500 under /api/ answers in the API's error shape, elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse(error_body([FieldError("", SERVER_ERROR)]), status=500)
    return defaults.server_error(request, template_name=template_name)


def bad_request(request, exception, template_name="400.html"):
    """A 400 raised outside the API views (e.g. a disallowed host, a body over Django's
    limits) under /api/ answers in the API's error shape."""
    if _is_api(request):
        return JsonResponse(error_body([FieldError("", BAD_REQUEST)]), status=400)
    return defaults.bad_request(request, exception, template_name=template_name)
