"""``POST /api/v1/echo-imports`` (CONTRACT section 6): an echo SR in, a partial input out.

The body is the DICOM file itself (``application/dicom``, or
``application/octet-stream``), read from the request stream
into memory up to ``ECHO_IMPORT_MAX_BYTES``; nothing is written to disk and nothing is
stored but the audit entry. ``?encounter=ID`` compares the report's patient with that
encounter's patient record (refused on mismatch unless ``confirm_patient_mismatch=true``).
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from guidelines.services import FieldError

from ..api.errors import ApiInputError, ErrorSerializer
from ..api.views import Api
from ..audit import audit_record
from ..choices import AuditAction, AuditChannel
from ..selectors import encounter_get_for_user
from .services import EchoReportError, PatientMismatch, echo_import

TRUE_WORDS = {"1", "true", "yes", "on"}


class FileTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


def size_limit_message() -> str:
    return (
        f"The file is larger than the limit of {settings.ECHO_IMPORT_MAX_BYTES} bytes."
    )


def read_bounded(stream) -> bytes:
    """At most ``ECHO_IMPORT_MAX_BYTES`` from ``stream``; FileTooLarge beyond."""
    limit = settings.ECHO_IMPORT_MAX_BYTES
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise FileTooLarge(size_limit_message())
    return data


class DicomParser(BaseParser):
    """The request body as bytes, bounded in size (never buffered to a file)."""

    media_type = "application/dicom"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if length and length.isdigit() and int(length) > settings.ECHO_IMPORT_MAX_BYTES:
            raise FileTooLarge(size_limit_message())
        return read_bounded(stream)


class OctetStreamParser(DicomParser):
    """The same body sent as generic bytes (``application/octet-stream``)."""

    media_type = "application/octet-stream"


class CodedSerializer(serializers.Serializer):
    scheme = serializers.CharField()
    code = serializers.CharField()
    meaning = serializers.CharField()


class UnmappedSerializer(serializers.Serializer):
    code = CodedSerializer()
    value = serializers.CharField()
    unit = serializers.CharField()
    modifiers = serializers.DictField(child=serializers.CharField())
    reason = serializers.CharField()


class ConflictValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    source = serializers.DictField()


class ConflictSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted input path")
    column = serializers.CharField(help_text="Form field name")
    unit = serializers.CharField()
    values = ConflictValueSerializer(many=True)


class EchoImportSerializer(serializers.Serializer):
    input = serializers.DictField(help_text="Partial assessment input (CONTRACT 1)")
    unmapped = UnmappedSerializer(many=True)
    conflicts = ConflictSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    sources = serializers.DictField(
        help_text="Input path -> where each value came from"
    )
    report = serializers.DictField()


def flag(value) -> bool:
    return str(value or "").strip().lower() in TRUE_WORDS


class EchoImportApi(Api):
    parser_classes = [DicomParser, OctetStreamParser]

    @extend_schema(
        operation_id="echo_imports_create",
        summary="Read an echo DICOM SR into a partial assessment input (nothing stored)",
        request={
            "application/dicom": OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter(
                "encounter",
                int,
                description=(
                    "Optional: compare the report's patient with this encounter's patient"
                ),
            ),
            OpenApiParameter(
                "confirm_patient_mismatch",
                bool,
                description=(
                    "Import although the report's patient differs from the record"
                ),
            ),
        ],
        responses={
            200: EchoImportSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Not DICOM, truncated, not an echo report, or another patient"
                ),
            ),
            401: OpenApiResponse(ErrorSerializer),
            403: OpenApiResponse(ErrorSerializer),
            404: OpenApiResponse(ErrorSerializer, description="No such encounter"),
            413: OpenApiResponse(ErrorSerializer, description="File too large"),
            415: OpenApiResponse(ErrorSerializer, description="Not application/dicom"),
        },
        tags=["evaluation"],
    )
    def post(self, request):
        encounter = None
        if request.query_params.get("encounter"):
            encounter = encounter_get_for_user(
                request.user, request.query_params["encounter"]
            )
        data = request.data if isinstance(request.data, bytes) else b""
        patient = encounter.patient if encounter is not None else None
        try:
            result = echo_import(
                data=data,
                patient=patient,
                confirm_patient_mismatch=flag(
                    request.query_params.get("confirm_patient_mismatch")
                ),
            )
        except EchoReportError as exc:
            audit_record(
                user=request.user,
                action=AuditAction.READ,
                channel=AuditChannel.API,
                obj=encounter,
                detail=f"echo SR import refused: {exc}",
            )
            field = "patient" if isinstance(exc, PatientMismatch) else ""
            raise ApiInputError([FieldError(field, str(exc))]) from None
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=AuditChannel.API,
            obj=encounter,
            detail=import_audit_detail(result),
        )
        return Response(result)


def import_audit_detail(result: dict) -> str:
    report = result["report"]
    return (
        f"echo SR import {report['sop_instance_uid']} ({report['template'] or 'no TID'}):"
        f" {len(result['sources'])} fields, {len(result['conflicts'])} conflicts, "
        f"{len(result['unmapped'])} unmapped; patient {result['patient_check']}"
    )
