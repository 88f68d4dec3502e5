"""The interop surfaces, thin: FHIR R4 endpoints under /api/v1/ (DRF, the API's
authentication) and the CDS Hooks service under /cds-services (the EHR's signed JWT).

Every call that touches patient data is audited (channel "api"), allowed or refused.
"""

from __future__ import annotations

import functools
import json
import uuid

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..api.views import Api
from ..audit import audit_record
from ..choices import AuditAction, AuditChannel
from ..selectors import assessment_get_for_user, encounter_get_for_user
from . import cds_hooks, jwt_auth
from .fhir_in import FhirBundleError, FhirMapping, Issue
from .fhir_out import result_bundle
from .services import cds_card_get_for_user, fhir_assessment_create, fhir_evaluate

API = AuditChannel.API
FHIR_JSON = "application/fhir+json"


class FhirJsonParser(JSONParser):
    media_type = FHIR_JSON


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON


def operation_outcome(issues: list[Issue]) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.diagnostics,
                "expression": [i.expression],
            }
            for i in issues
        ],
    }


def mapping_messages(mapping: FhirMapping) -> list[dict[str, str]]:
    """What the mapping did, as OperationOutcome issues (informational)."""
    messages = [{"severity": "warning", "text": w} for w in mapping.warnings]
    for m in mapping.alternatives:
        messages.append(
            {
                "severity": "information",
                "text": f"{m.path}: also recorded {m.given} ({m.code}"
                f"{', ' + m.method if m.method else ''}) in "
                f"Bundle.entry[{m.entry}], not used, not averaged",
            }
        )
    for item in mapping.unknown:
        messages.append(
            {
                "severity": "information",
                "code": "not-supported",
                "text": f"{item['element']}: code(s) "
                f"{', '.join(item['codes']) or item['text']} not read",
            }
        )
    return messages


def patient_resource(patient) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"mr-cds-patient-{patient.pk}",
        "identifier": [{"type": {"text": "MRN"}, "value": patient.mrn}],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }


def assessment_bundle(assessment, *, mapping: FhirMapping | None = None) -> dict:
    return result_bundle(
        result=assessment.result,
        seed=f"assessment:{assessment.pk}",
        recorded=assessment.created_at,
        patient=patient_resource(assessment.encounter.patient),
        request_identifier=str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"mr-cds:{assessment.pk}")
        ),
        messages=mapping_messages(mapping) if mapping else None,
    )


class FhirApi(Api):
    """Base of the FHIR endpoints: FHIR JSON in and out, errors as OperationOutcome."""

    parser_classes = [FhirJsonParser, JSONParser]
    renderer_classes = [FhirJsonRenderer]

    def perform_content_negotiation(self, request, force=False):
        # FHIR JSON whatever the client accepts (application/json clients included).
        return super().perform_content_negotiation(request, force=True)

    def handle_exception(self, exc):
        if isinstance(exc, FhirBundleError):
            return Response(operation_outcome(exc.issues), status=400)
        response = super().handle_exception(exc)
        errors = (response.data or {}).get("errors", []) if response is not None else []
        if response is not None:
            code = {401: "login", 403: "forbidden", 404: "not-found"}.get(
                response.status_code, "invalid"
            )
            response.data = operation_outcome(
                [
                    Issue(e.get("field") or "Bundle", e.get("message", ""), code=code)
                    for e in errors
                ]
                or [Issue("Bundle", "refused", code=code)]
            )
        return response


def outcomes(*codes: int) -> dict:
    """Error statuses, each answered with an OperationOutcome."""
    return {code: OpenApiTypes.OBJECT for code in sorted({401, 403, *codes})}


class FhirEvaluateApi(FhirApi):
    @extend_schema(
        operation_id="fhir_evaluate",
        summary="Evaluate a FHIR R4 Bundle (Patient, Observations, Conditions)",
        request={
            FHIR_JSON: OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses={200: OpenApiTypes.OBJECT, **outcomes(400, 415)},
        tags=["fhir"],
    )
    def post(self, request):
        evaluation, mapping = fhir_evaluate(data=request.data)
        audit_record(
            user=request.user,
            action=AuditAction.EVALUATE,
            channel=API,
            detail=f"FHIR Bundle evaluation ({evaluation.result['guideline']['code']})",
        )
        reference = mapping.patient_full_url or (
            f"Patient/{mapping.patient_id}" if mapping.patient_id else None
        )
        bundle = result_bundle(
            result=evaluation.result,
            seed=f"evaluate:{uuid.uuid4()}",
            recorded=timezone.now(),
            patient_reference=reference,
            messages=mapping_messages(mapping),
        )
        return Response(bundle)


class FhirAssessmentCreateApi(FhirApi):
    @extend_schema(
        operation_id="fhir_assessments_create",
        summary="Store a FHIR R4 Bundle as an assessment of an encounter",
        request={
            FHIR_JSON: OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses={201: OpenApiTypes.OBJECT, **outcomes(400, 404, 415)},
        tags=["fhir"],
    )
    def post(self, request, pk):
        encounter = encounter_get_for_user(request.user, pk)
        assessment, mapping = fhir_assessment_create(
            encounter=encounter, data=request.data, author=request.user
        )
        audit_record(
            user=request.user,
            action=AuditAction.CREATE,
            channel=API,
            obj=assessment,
            patient=encounter.patient,
            detail="from a FHIR Bundle",
        )
        return Response(
            assessment_bundle(assessment, mapping=mapping),
            status=status.HTTP_201_CREATED,
        )


class FhirAssessmentApi(FhirApi):
    @extend_schema(
        operation_id="fhir_assessments_retrieve",
        summary="A stored assessment as a FHIR R4 Bundle",
        responses={200: OpenApiTypes.OBJECT, **outcomes(404)},
        tags=["fhir"],
    )
    def get(self, request, pk):
        assessment = assessment_get_for_user(request.user, pk)
        audit_record(
            user=request.user,
            action=AuditAction.EXPORT,
            channel=API,
            obj=assessment,
            patient=assessment.encounter.patient,
            detail="as a FHIR Bundle",
        )
        return Response(assessment_bundle(assessment))


# --- CDS Hooks ---------------------------------------------------------------------------


def _cors(request, response: HttpResponse) -> HttpResponse:
    """CORS for browser-based EHRs: only origins registered with a client (OWASP: no
    wildcard, no reflected origin), no credentials (the JWT travels in a header)."""
    origin = request.headers.get("Origin")
    allowed = {o for c in jwt_auth.clients().values() for o in c.origins}
    response["Vary"] = "Origin"
    if origin and origin in allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "600"
    return response


def _unauthorized(request) -> HttpResponse:
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = "Bearer"
    return _cors(request, response)


def _authenticated(request):
    """(client, organization) or None after logging and auditing the refusal."""
    authorization = request.headers.get("Authorization", "")
    try:
        client, _ = jwt_auth.client_authenticate(
            authorization=authorization,
            audience=request.build_absolute_uri(request.path),
        )
        return client, jwt_auth.client_organization(client)
    except jwt_auth.CdsAuthError as exc:
        jwt_auth.log_refusal(exc, authorization)
        if authorization:  # a credential was presented and refused (as the API: no
            # audit row for a request without any credential)
            audit_record(
                user=None,
                action=AuditAction.READ,
                channel=API,
                detail=f"CDS Hooks call to {request.path} refused (401)",
            )
        return None


def _json(request, body, status=200) -> HttpResponse:
    return _cors(request, JsonResponse(body, status=status))


def _preflight(request) -> HttpResponse:
    return _cors(request, HttpResponse(status=204))


def _body(request):
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def cds_endpoint(method: str):
    """A CDS Hooks endpoint: CORS preflight, the one allowed method, and the EHR's JWT
    (a bare 401 otherwise); the view gets the registered client and its care site."""

    def decorate(view):
        @csrf_exempt
        @login_not_required
        @functools.wraps(view)
        def endpoint(request):
            if request.method == "OPTIONS":
                return _preflight(request)
            if request.method != method:
                return _json(request, {"error": f"{method} only"}, status=405)
            caller = _authenticated(request)
            if caller is None:
                return _unauthorized(request)
            client, organization = caller
            return view(request, client, organization)

        return endpoint

    return decorate


@cds_endpoint("GET")
def cds_discovery(request, client, organization):
    return _json(request, cds_hooks.discovery())


@cds_endpoint("POST")
def cds_patient_view(request, client, organization):
    try:
        hook = cds_hooks.hook_request_parse(_body(request))
        outcome = cds_hooks.patient_view(
            request=hook,
            issuer=client.iss,
            organization=organization,
            link_for=lambda card: request.build_absolute_uri(
                reverse("cds_card", args=[card.uuid])
            ),
        )
    except cds_hooks.HookRequestError as exc:
        return _json(request, {"error": str(exc)}, status=400)
    except cds_hooks.PreconditionFailed as exc:
        audit_record(
            user=None,
            action=AuditAction.EVALUATE,
            channel=API,
            detail=f"CDS Hooks patient-view from {client.iss}: EHR patient "
            f"{_safe_id(request)}, 412 ({exc})",
        )
        return _json(request, {"error": str(exc)}, status=412)
    except FhirBundleError as exc:
        issues = "; ".join(f"{i.expression}: {i.diagnostics}" for i in exc.issues[:5])
        return _json(
            request, {"error": f"prefetched data refused: {issues}"}, status=400
        )
    card = outcome.card
    audit_record(
        user=None,
        action=AuditAction.EVALUATE,
        channel=API,
        patient=outcome.patient,
        obj=card,
        detail=f"CDS Hooks patient-view from {client.iss}: EHR patient {hook.patient_id}"
        f", user {hook.user_id or '?'}, {len(outcome.cards)} card(s)"
        + (f", fetched {', '.join(outcome.fetched)}" if outcome.fetched else ""),
    )
    return _json(request, {"cards": outcome.cards})


def _safe_id(request) -> str:
    body = _body(request)
    context = body.get("context") if isinstance(body, dict) else None
    value = context.get("patientId") if isinstance(context, dict) else None
    return str(value)[:64] if value else "?"


@cds_endpoint("POST")
def cds_feedback(request, client, organization):
    try:
        stored, unknown = cds_hooks.feedback_record(
            body=_body(request), organization=organization
        )
    except cds_hooks.FeedbackError as exc:
        return _json(request, {"error": str(exc)}, status=400)
    audit_record(
        user=None,
        action=AuditAction.CREATE,
        channel=API,
        detail=f"CDS Hooks feedback from {client.iss}: {stored} stored, "
        f"{unknown} for unknown cards",
    )
    return _json(request, {"stored": stored, "unknown_cards": unknown})


def cds_card_detail(request, card_uuid):
    """The result behind a card, for the clinician who followed its link (login)."""
    card = cds_card_get_for_user(request.user, card_uuid)
    audit_record(
        user=request.user,
        action=AuditAction.READ,
        channel=AuditChannel.PAGE,
        obj=card,
        patient=card.patient,
    )
    return render(
        request, "interop/cds_card.html", {"card": card, "result": card.result}
    )
