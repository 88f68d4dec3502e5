"""The "Import echo report" upload of the assessment page.

``encounter_echo_import`` takes the uploaded SR (multipart, field ``file``), maps it and
answers JSON that ``static/js/echo_import.js`` uses to pre-fill the form: nothing is
stored, the clinician reviews and saves. The upload is kept in memory (an upload handler
that refuses files over ``ECHO_IMPORT_MAX_BYTES`` and never spills to a temporary file).
"""

import io

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
)
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from guidelines.vocabulary import FIELDS_BY_PATH

from ..audit import audit_record
from ..choices import AuditAction, AuditChannel
from ..selectors import encounter_get_for_user
from .api import flag, import_audit_detail, size_limit_message
from .services import EchoReportError, PatientMismatch, echo_import


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keeps the upload in memory and stops it past the size limit."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.chunks: list[bytes] = []
        self.size = 0

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > settings.ECHO_IMPORT_MAX_BYTES:
            self.request.echo_import_too_large = True
            raise StopUpload(connection_reset=False)
        self.chunks.append(raw_data)
        return None

    def file_complete(self, file_size):
        data = b"".join(self.chunks)
        return InMemoryUploadedFile(
            io.BytesIO(data),
            self.field_name,
            self.file_name,
            self.content_type,
            len(data),
            self.charset,
            self.content_type_extra,
        )


def _error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"field": "", "message": message}], **extra}, status=status
    )


@csrf_exempt  # the upload handlers must be set before CSRF reads the body
@require_POST
def encounter_echo_import(request, pk):
    request.upload_handlers = [BoundedMemoryUploadHandler(request)]
    return _encounter_echo_import(request, pk)


@csrf_protect
def _encounter_echo_import(request, pk):
    encounter = encounter_get_for_user(request.user, pk)

    def audit(detail):
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=AuditChannel.PAGE,
            obj=encounter,
            detail=detail,
        )

    upload = request.FILES.get("file")  # parses the upload (if CSRF has not)
    if getattr(request, "echo_import_too_large", False):
        audit(f"echo SR import refused: {size_limit_message()}")
        return _error(size_limit_message(), 413)
    if upload is None:
        audit("echo SR import refused: no file")
        return _error("Choose an echo report file (DICOM SR) to import.", 400)
    try:
        result = echo_import(
            data=upload.read(),
            patient=encounter.patient,
            confirm_patient_mismatch=flag(request.POST.get("confirm_patient_mismatch")),
        )
    except EchoReportError as exc:
        audit(f"echo SR import refused: {exc}")
        return _error(str(exc), 400, patient_mismatch=isinstance(exc, PatientMismatch))
    audit(import_audit_detail(result))
    # Form field names (vocabulary columns) for the page script.
    result["fields"] = {
        FIELDS_BY_PATH[path].column: {
            "path": path,
            "value": _lookup(result["input"], path),
            "label": FIELDS_BY_PATH[path].label,
            "unit": FIELDS_BY_PATH[path].unit,
            "sources": sources,
        }
        for path, sources in result["sources"].items()
    }
    return JsonResponse(result)


def _lookup(data: dict, path: str):
    for part in path.split("."):
        data = data[part]
    return data
