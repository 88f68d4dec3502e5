"""The REST API for EHR systems (CONTRACT section 4): one API view per operation.

Each view is thin: validate, get the object through a selector (404 for "missing" and
"not yours" alike), call one service, serialize, write the audit trail (channel "api").
Where two operations share a path (``GET`` list / ``POST`` create), the URL points at a
class combining the two operation views.
"""

import copy
from contextlib import nullcontext

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from guidelines.services import (
    FieldError,
    InputError,
    canonical_evaluate,
    guideline_list,
)

from ..audit import audit_record, field_changes
from ..choices import AuditAction, AuditChannel, ReportStatus
from ..inputs import assessment_to_input, input_json
from ..models import Report
from ..reports import report_request
from ..selectors import (
    assessment_get_for_user,
    assessment_record_get_for_user,
    encounter_get_for_user,
    encounter_list_for_user,
    patient_count_for_user,
    patient_get_for_user,
    patient_list_for_user,
    planned_for_the_search_terms,
)
from ..services import (
    AssessmentStateError,
    assessment_amend,
    assessment_create,
    assessment_void,
    encounter_create,
    patient_create,
)
from .errors import ApiConflict, ErrorSerializer
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import KEY_MAX_LENGTH, KEY_PATTERN, idempotent_create
from .serializers import (
    AssessmentAmendInputSerializer,
    AssessmentCreateInputSerializer,
    AssessmentOutputSerializer,
    AssessmentVoidInputSerializer,
    EncounterInputSerializer,
    EncounterOutputSerializer,
    EvaluateInputSerializer,
    GuidelineSerializer,
    PatientInputSerializer,
    PatientOutputSerializer,
    ReportRequestSerializer,
    ReportStatusSerializer,
    ResultSerializer,
    page_serializer,
)
from .services import organization_for_creator, patient_update

API = AuditChannel.API

ERROR_DESCRIPTIONS = {
    400: "Invalid input: every problem, by dotted field path",
    401: "No, invalid or expired credentials",
    403: "Not allowed (e.g. a session request without its CSRF token)",
    404: "No such object, or not visible to the caller",
    409: "Idempotency-Key reused with a different request, or the assessment is "
    "no longer final (already amended or voided)",
    415: "Only application/json is accepted",
}


def errors(*codes: int) -> dict:
    """Response declarations of the given error statuses (always 401 and 403)."""
    codes = sorted({401, 403, *codes})
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": KEY_MAX_LENGTH,
        "pattern": KEY_PATTERN,
    },
    OpenApiParameter.HEADER,
    description=(
        "Optional. The same key and body within 24 hours (MR_CDS_IDEMPOTENCY_HOURS) "
        "returns the first response and creates nothing, while the caller may still "
        "see the object; the same key with another body gets 409. 1 to 200 printable "
        "ASCII characters."
    ),
)
# Request examples for integrators (docs at /api/docs/); tests/api checks that each one
# is accepted by its endpoint.
SEVERE_PRIMARY_ECHO = {
    "etiology": "degenerative_prolapse",
    "symptoms": {"nyha_class": 2},
    "ecg": {"rhythm": "sinus"},
    "echo": {
        "eroa_cm2": 0.45,
        "regurgitant_volume_ml": 68,
        "vena_contracta_cm": 0.75,
        "lvef_pct": 62,
        "lvesd_mm": 36,
        "lvedd_mm": 55,
    },
    "management": {"surgical_risk": "low"},
}
EVALUATE_EXAMPLES = [
    OpenApiExample(
        "Severe primary MR, symptomatic",
        summary="Prolapse with quantified severe MR, NYHA II",
        value={
            "guideline": "acc_aha_2020",
            "patient": {
                "age_years": 67,
                "sex": "female",
                "height_cm": 165,
                "weight_kg": 68.5,
            },
            **SEVERE_PRIMARY_ECHO,
        },
        request_only=True,
    ),
]
CREATE_EXAMPLES = [
    OpenApiExample(
        "Severe primary MR, patient from the record",
        summary="The same input; age, sex, height and weight from the patient record",
        value={
            **SEVERE_PRIMARY_ECHO,
            "prior_echos": [{"months_ago": 12, "lvef_pct": 65, "lvesd_mm": 33}],
        },
        request_only=True,
    ),
]
PATIENT_EXAMPLES = [
    OpenApiExample(
        "A patient of the caller's care site",
        summary="MRN, name, birth date and sex; height and weight for BSA-indexed values",
        value={
            "mrn": "MRN-004211",
            "given_name": "Ada",
            "family_name": "Clarke",
            "birth_date": "1958-06-15",
            "sex": "female",
            "height_cm": 165,
            "weight_kg": 68.5,
        },
        request_only=True,
    ),
]
ENCOUNTER_EXAMPLES = [
    OpenApiExample(
        "An outpatient visit",
        summary="When, where and how MR presented (chronic or acute)",
        value={
            "occurred_at": "2025-03-10T09:30:00Z",
            "setting": "outpatient",
            "presentation": "chronic",
        },
        request_only=True,
    ),
]
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)"),
    OpenApiParameter(
        "page_size", int, description="Items per page (default 25, max 100)"
    ),
]


class IntegratorSchema(AutoSchema):
    """OpenAPI descriptions for integrators: an operation's ``description`` (or its
    method's docstring), never the docstring of the view class, which is written for
    the maintainers of this code."""

    def get_description(self):
        method = getattr(self.view, self.method.lower(), None)
        return get_doc(method) if method is not None else ""


class Api(APIView):
    """Base of the API views. Authentication is DRF's (session or Bearer token); DRF
    marks its views login-not-required, so LoginRequiredMiddleware, which knows only
    sessions, stands aside and unauthenticated requests get 401 here."""

    schema = IntegratorSchema()


class Page(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class IdsFirstPaginator(Paginator):
    """Reads a page's ids first, then its rows: skipping to page 2,000 of a site's
    patients walks the (organization, name) index only, not 50,000 table rows. A page
    in the second half of the list is read from the end (the index walked backwards),
    so no page walks more than half of it; the list's order must therefore be total
    (end with a unique column). ``count``: the list's length when it is known without
    counting (a maintained count)."""

    def __init__(self, object_list, per_page, *, count: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.count = count  # replaces the cached property: no COUNT query

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count - top:
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        else:
            from_end = self.object_list.reverse().values_list("pk", flat=True)
            ids = list(from_end[self.count - top : self.count - bottom])[::-1]
        rows = self.object_list.in_bulk(ids)
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class LongListPage(Page):
    """A page of a long list (a site's patients), its total given when known."""

    def __init__(self, count: int | None = None):
        self.count = count

    def django_paginator_class(self, object_list, per_page):
        return IdsFirstPaginator(object_list, per_page, count=self.count)


def paginated(view: APIView, queryset, serializer_class, paginator=None) -> Response:
    paginator = paginator or Page()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- evaluation ------------------------------------------------------------------------


class EvaluateApi(Api):
    @extend_schema(
        operation_id="evaluate",
        summary="Evaluate an assessment input without storing it",
        description=(
            "Grades MR and returns the recommendations of the named (or default) rule "
            "set for the given input. Nothing is stored but the audit entry. A value "
            "that is left out is never guessed: it is listed under `missing` when a "
            "rule needed it, and `conditional` lists what would apply if it were "
            "recorded. Numbers are JSON numbers or plain decimal strings with a point "
            '(`"0.8"`, never `"0,8"`); a value outside its range is refused with '
            "400 naming the field and the range."
        ),
        request=EvaluateInputSerializer,
        examples=EVALUATE_EXAMPLES,
        responses={200: ResultSerializer, **errors(400, 415)},
        tags=["evaluation"],
    )
    def post(self, request):
        data = EvaluateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = canonical_evaluate(data.validated_data)
        audit_record(
            user=request.user,
            action=AuditAction.EVALUATE,
            channel=API,
            detail=f"stateless evaluation ({evaluation.result['guideline']['code']})",
        )
        # The engine's result is the contract's result (``ResultSerializer`` declares
        # it for the schema, as ``StoredResultField`` does for a stored one): sent as
        # produced, not copied field by field (tests/api/test_result_shape.py).
        return Response(evaluation.result)


# --- patients ---------------------------------------------------------------------------


class PatientFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    mrn = serializers.CharField(required=False, allow_blank=True, max_length=64)


class PatientListApi(Api):
    @extend_schema(
        operation_id="patients_list",
        summary="The caller's patients",
        parameters=[
            OpenApiParameter("q", str, description="MRN (exact) or part of a name"),
            OpenApiParameter("mrn", str, description="MRN, exact"),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_serializer(PatientOutputSerializer, "PatientPage"),
            **errors(400, 404),
        },
        tags=["patients"],
    )
    def get(self, request):
        filters = PatientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)  # e.g. a NUL byte: 400, not a 500
        patients = patient_list_for_user(request.user).order_by(
            "family_name", "given_name", "id"
        )
        if q := filters.validated_data.get("q", "").strip():
            patients = patients.filter(
                Q(mrn__iexact=q)
                | Q(given_name__icontains=q)
                | Q(family_name__icontains=q)
            )
        if mrn := filters.validated_data.get("mrn", "").strip():
            patients = patients.filter(mrn=mrn)
        # A search counts its hits, planned for its terms; the whole list's total is
        # the sites' kept count.
        searching = bool(q or mrn)
        count = None if searching else patient_count_for_user(request.user)
        with planned_for_the_search_terms() if searching else nullcontext():
            response = paginated(
                self, patients, PatientOutputSerializer, LongListPage(count=count)
            )
        shown = [str(p["id"]) for p in response.data["results"]]
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=API,
            detail=f"patient list: {', '.join(shown) or 'none'}",
        )
        return response


class PatientCreateApi(Api):
    @extend_schema(
        operation_id="patients_create",
        summary="Register a patient in the caller's care site",
        request=PatientInputSerializer,
        examples=PATIENT_EXAMPLES,
        parameters=[IDEMPOTENCY],
        responses={201: PatientOutputSerializer, **errors(400, 409, 415)},
        tags=["patients"],
    )
    def post(self, request):
        def create():
            data = PatientInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            patient = patient_create(
                organization=organization_for_creator(request.user),
                **data.validated_data,
            )
            audit_record(
                user=request.user, action=AuditAction.CREATE, channel=API, obj=patient
            )
            return Response(
                PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED
            )

        return idempotent_create(
            request,
            create,
            visible=lambda body: patient_get_for_user(request.user, body["id"]),
        )


class PatientCollectionApi(PatientListApi, PatientCreateApi):
    """``/patients/``: list (GET) and create (POST)."""


class PatientDetailApi(Api):
    @extend_schema(
        operation_id="patients_retrieve",
        summary="One patient",
        responses={200: PatientOutputSerializer, **errors(404)},
        tags=["patients"],
    )
    def get(self, request, pk):
        patient = patient_get_for_user(request.user, pk)
        audit_record(
            user=request.user, action=AuditAction.READ, channel=API, obj=patient
        )
        return Response(PatientOutputSerializer(patient).data)


class PatientUpdateApi(Api):
    @extend_schema(
        operation_id="patients_partial_update",
        summary="Change a patient's recorded details",
        request=PatientInputSerializer(partial=True),
        responses={200: PatientOutputSerializer, **errors(400, 404, 415)},
        tags=["patients"],
    )
    def patch(self, request, pk):
        patient = patient_get_for_user(request.user, pk)
        data = PatientInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        before = copy.copy(patient)
        patient = patient_update(patient=patient, data=data.validated_data)
        audit_record(
            user=request.user,
            action=AuditAction.UPDATE,
            channel=API,
            obj=patient,
            detail="changed: "
            + field_changes(before, patient, sorted(data.validated_data)),
        )
        return Response(PatientOutputSerializer(patient).data)


class PatientItemApi(PatientDetailApi, PatientUpdateApi):
    """``/patients/{id}/``: read (GET) and change (PATCH)."""


# --- encounters -------------------------------------------------------------------------


class EncounterFilterSerializer(serializers.Serializer):
    occurred_after = serializers.DateTimeField(required=False)
    occurred_before = serializers.DateTimeField(required=False)


class EncounterListApi(Api):
    @extend_schema(
        operation_id="encounters_list",
        summary="A patient's encounters, newest first",
        parameters=[
            OpenApiParameter(
                "occurred_after",
                OpenApiTypes.DATETIME,
                description="On or after (ISO 8601 date or date-time)",
            ),
            OpenApiParameter(
                "occurred_before",
                OpenApiTypes.DATETIME,
                description="On or before (ISO 8601 date or date-time)",
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_serializer(EncounterOutputSerializer, "EncounterPage"),
            **errors(400, 404),
        },
        tags=["encounters"],
    )
    def get(self, request, pk):
        patient = patient_get_for_user(request.user, pk)
        filters = EncounterFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        encounters = encounter_list_for_user(request.user).filter(patient=patient)
        if after := filters.validated_data.get("occurred_after"):
            encounters = encounters.filter(occurred_at__gte=after)
        if before := filters.validated_data.get("occurred_before"):
            encounters = encounters.filter(occurred_at__lte=before)
        response = paginated(
            self, encounters.order_by("-occurred_at", "-id"), EncounterOutputSerializer
        )
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=API,
            patient=patient,
            detail="encounter list",
        )
        return response


class EncounterCreateApi(Api):
    @extend_schema(
        operation_id="encounters_create",
        summary="Record an encounter of a patient",
        request=EncounterInputSerializer,
        examples=ENCOUNTER_EXAMPLES,
        parameters=[IDEMPOTENCY],
        responses={201: EncounterOutputSerializer, **errors(400, 404, 409, 415)},
        tags=["encounters"],
    )
    def post(self, request, pk):
        patient = patient_get_for_user(request.user, pk)

        def create():
            data = EncounterInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = {"occurred_at": timezone.now(), **data.validated_data}
            encounter = encounter_create(patient=patient, **values)
            audit_record(
                user=request.user, action=AuditAction.CREATE, channel=API, obj=encounter
            )
            return Response(
                EncounterOutputSerializer(encounter).data,
                status=status.HTTP_201_CREATED,
            )

        return idempotent_create(
            request,
            create,
            visible=lambda body: encounter_get_for_user(request.user, body["id"]),
        )


class EncounterCollectionApi(EncounterListApi, EncounterCreateApi):
    """``/patients/{id}/encounters/``: list (GET) and create (POST)."""


class EncounterDetailApi(Api):
    @extend_schema(
        operation_id="encounters_retrieve",
        summary="One encounter",
        responses={200: EncounterOutputSerializer, **errors(404)},
        tags=["encounters"],
    )
    def get(self, request, pk):
        encounter = encounter_get_for_user(request.user, pk)
        audit_record(
            user=request.user, action=AuditAction.READ, channel=API, obj=encounter
        )
        return Response(EncounterOutputSerializer(encounter).data)


# --- assessments ------------------------------------------------------------------------


_QUERY = object()


def assessment_body(assessment, *, data=None, successor=_QUERY) -> dict:
    """The stored assessment: its input and result exactly as stored, never recomputed.

    ``data``: its canonical input when in hand (just stored); ``successor``: the
    assessment that corrects it when known (``None`` for one just stored).
    """
    if successor is _QUERY:
        successor = assessment.successor
    body = {
        "id": assessment.pk,
        "encounter": assessment.encounter_id,
        "input": input_json(data)
        if data is not None
        else assessment_to_input(assessment),
        "result": assessment.result,
        "rule_set_version": assessment.rule_set_version_id,
        "created_at": assessment.created_at,
        "created_by": assessment.created_by_id,
        "status": assessment.status,
        "supersedes": assessment.supersedes_id,
        "superseded_by": successor.pk if successor else None,
        "reason": assessment.reason,
    }
    return AssessmentOutputSerializer(body).data


class AssessmentCreateApi(Api):
    @extend_schema(
        operation_id="assessments_create",
        summary="Store and evaluate an assessment of an encounter",
        description=(
            "Stores the input as a new `final` assessment of the encounter with the "
            "result and the rule-set version that produced it; neither is ever edited "
            "afterwards (correct with `amend`, withdraw with `void`). `patient` may be "
            "left out: age at the encounter date, sex, height and weight come from the "
            "patient record, and a given value that contradicts the record is refused."
        ),
        request=AssessmentCreateInputSerializer,
        examples=CREATE_EXAMPLES,
        parameters=[IDEMPOTENCY],
        responses={201: AssessmentOutputSerializer, **errors(400, 404, 409, 415)},
        tags=["assessments"],
    )
    def post(self, request, pk):
        encounter = encounter_get_for_user(request.user, pk)

        def create():
            data = AssessmentCreateInputSerializer(
                data=request.data, context={"encounter": encounter}
            )
            data.is_valid(raise_exception=True)
            assessment_input = data.validated_data
            assessment = assessment_create(data=assessment_input, author=request.user)
            audit_record(
                user=request.user,
                action=AuditAction.CREATE,
                channel=API,
                obj=assessment,
                patient=encounter.patient,
            )
            body = assessment_body(
                assessment, data=assessment_input.data, successor=None
            )
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent_create(
            request,
            create,
            visible=lambda body: assessment_get_for_user(request.user, body["id"]),
        )


class AssessmentDetailApi(Api):
    @extend_schema(
        operation_id="assessments_retrieve",
        summary="One stored assessment, with the result and rule-set version it was given",
        description=(
            "The input and result exactly as stored. `status` tells whether it still "
            "stands (`final`), was corrected (`amended`: see `superseded_by`) or was "
            "withdrawn (`entered_in_error`)."
        ),
        responses={200: AssessmentOutputSerializer, **errors(404)},
        tags=["assessments"],
    )
    def get(self, request, pk):
        assessment = assessment_record_get_for_user(request.user, pk)
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=API,
            obj=assessment,
            patient=assessment.encounter.patient,
        )
        return Response(assessment_body(assessment))


def _body(request, allowed: tuple[str, ...]) -> dict:
    """The JSON object body, refusing fields other than ``allowed``."""
    body = request.data
    if not isinstance(body, dict):
        raise InputError([FieldError("", "the body must be a JSON object")])
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InputError([FieldError(name, "unknown field") for name in unknown])
    return body


def _state_checked(call):
    """Run an amend/void service; a non-final assessment answers 409."""
    try:
        return call()
    except AssessmentStateError as exc:
        raise ApiConflict(detail=str(exc)) from None


class AssessmentAmendApi(Api):
    @extend_schema(
        operation_id="assessments_amend",
        summary="Correct a stored assessment: a new assessment supersedes it",
        description=(
            "Stores `input` as a new assessment of the same encounter, evaluated now, "
            "with `supersedes` naming the old one. The old assessment is kept unchanged "
            "but for its `status`, which becomes `amended` (and its `superseded_by` and "
            "`reason`). Only a `final` assessment can be amended; otherwise 409. Input "
            "errors name the field under `input.` (e.g. `input.echo.eroa_cm2`)."
        ),
        request=AssessmentAmendInputSerializer,
        responses={201: AssessmentOutputSerializer, **errors(400, 404, 409, 415)},
        tags=["assessments"],
    )
    def post(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        body = _body(request, ("reason", "input"))
        data = body.get("input")
        if not isinstance(data, dict):
            raise InputError(
                [FieldError("input", "is required: the corrected assessment input")]
            )
        try:
            new = _state_checked(
                lambda: assessment_amend(
                    assessment=assessment,
                    data=data,
                    reason=body.get("reason"),
                    author=request.user,
                    channel=API,
                )
            )
        except InputError as exc:
            raise InputError([_under_input(error) for error in exc.errors]) from None
        return Response(
            assessment_body(new, successor=None), status=status.HTTP_201_CREATED
        )


def _under_input(error: FieldError) -> FieldError:
    if error.field == "reason":
        return error
    return FieldError(f"input.{error.field}" if error.field else "input", error.message)


class AssessmentVoidApi(Api):
    @extend_schema(
        operation_id="assessments_void",
        summary="Mark a stored assessment as entered in error",
        description=(
            "The assessment is kept, with its input and result, and its `status` "
            "becomes `entered_in_error` with the given `reason`; pages mark it void "
            "and leave it out of the trend charts. Only a `final` assessment can be "
            "voided; otherwise 409."
        ),
        request=AssessmentVoidInputSerializer,
        responses={200: AssessmentOutputSerializer, **errors(400, 404, 409, 415)},
        tags=["assessments"],
    )
    def post(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        body = _body(request, ("reason",))
        voided = _state_checked(
            lambda: assessment_void(
                assessment=assessment,
                reason=body.get("reason"),
                author=request.user,
                channel=API,
            )
        )
        return Response(assessment_body(voided))


# --- PDF reports (rendered by a worker: assessments.reports) ---------------------------


def report_body(request, report: Report) -> dict:
    body = {"status": report.status, "requested_at": report.requested_at}
    if report.status == ReportStatus.FAILED:
        body["error"] = report.error
    if report.status == ReportStatus.READY:
        url = reverse("api:assessment-report-pdf", args=[report.assessment_id])
        body["url"] = request.build_absolute_uri(url)
    return body


def report_of(assessment) -> Report:
    try:
        return assessment.report
    except Report.DoesNotExist:
        raise Http404 from None


class AssessmentReportRequestApi(Api):
    @extend_schema(
        operation_id="assessments_report_request",
        summary="Ask for the PDF summary (rendered in the background)",
        request=ReportRequestSerializer,
        responses={202: ReportStatusSerializer, **errors(400, 404, 415)},
        tags=["reports"],
    )
    def post(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        data = ReportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = report_request(
            assessment=assessment,
            user=request.user,
            regenerate=data.validated_data.get("regenerate", False),
        )
        audit_record(
            user=request.user,
            action=AuditAction.EXPORT,
            channel=API,
            obj=assessment,
            patient=assessment.encounter.patient,
            detail="PDF report requested",
        )
        return Response(report_body(request, report), status=status.HTTP_202_ACCEPTED)


class AssessmentReportStatusApi(Api):
    @extend_schema(
        operation_id="assessments_report_status",
        summary="Where the PDF summary stands (404 if never requested)",
        responses={200: ReportStatusSerializer, **errors(404)},
        tags=["reports"],
    )
    def get(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        report = report_of(assessment)
        return Response(report_body(request, report))


class AssessmentReportCollectionApi(
    AssessmentReportStatusApi, AssessmentReportRequestApi
):
    """``/assessments/{id}/report``: status (GET) and request (POST)."""


class AssessmentReportPdfApi(Api):
    def perform_content_negotiation(self, request, force=False):
        # The PDF is a file response; errors are JSON whatever the client accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="assessments_report_pdf",
        summary="The PDF summary, once ready (404 before)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **errors(404)},
        tags=["reports"],
    )
    def get(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        report = report_of(assessment)
        if report.status != ReportStatus.READY or not report.file:
            raise Http404
        audit_record(
            user=request.user,
            action=AuditAction.EXPORT,
            channel=API,
            obj=assessment,
            patient=assessment.encounter.patient,
            detail="PDF report downloaded",
        )
        return FileResponse(
            report.file.open("rb"),
            content_type="application/pdf",
            filename=f"mr-cds-assessment-{assessment.pk}.pdf",
        )


# --- anything else under /api/ ----------------------------------------------------------


@extend_schema(exclude=True)
class NotFoundApi(Api):
    """Unmatched paths under /api/ (e.g. a non-numeric id) answer 404 in the API's error
    shape, not Django's HTML page."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise Http404


# --- guidelines -------------------------------------------------------------------------


class GuidelineListApi(Api):
    @extend_schema(
        operation_id="guidelines_list",
        summary="Rule sets and their published and retired versions",
        responses={200: GuidelineSerializer(many=True), **errors()},
        tags=["guidelines"],
    )
    def get(self, request):
        return Response(GuidelineSerializer(guideline_list(), many=True).data)
