import contextlib
import logging

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from guidelines.services import (
    GuidelineError,
    InputError,
    active_versions_provenance,
    canonical_evaluate,
    guideline_evaluate,
    published_rule_sets,
    rule_set_codes_of_active,
    rule_set_codes_of_version,
    version_drift,
    versions_list,
)
from guidelines.vocabulary import PRIOR_ECHO_FIELDS, sections

from . import services
from .audit import audit_record
from .charts import CHART_FIELDS, patient_trend_charts, with_result_summary
from .choices import AuditAction, AuditChannel, ReportStatus
from .forms import (
    AssessmentForm,
    EncounterForm,
    PatientForm,
    PatientSearchForm,
    VoidForm,
    form_initial,
)
from .inputs import assessment_to_input, input_display_groups
from .models import Assessment, Report
from .presentation import (
    ASSESSMENT_ROW_NAMES,
    ENCOUNTER_CARD_NAMES,
    encounter_cards,
    note_text,
    result_differences,
    result_view,
)
from .reports import report_request
from .selectors import (
    assessment_get_for_user,
    encounter_get_for_user,
    organization_list_for_user,
    patient_get_for_user,
    patient_list_for_user,
    planned_for_the_search_terms,
)

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not answering"; the body names the component
        logger.exception("healthz: database check failed")
        return False


# One client (and its connection pool) per broker URL, kept between checks: a new
# connection for each check cost more than the check itself (redis-py reads its own
# package metadata for every new connection, ~1 ms of CPU). A connection that the
# broker dropped fails its ping and is replaced on the next check, so an outage and a
# recovery are reported as before.
_broker_clients: dict[str, redis.Redis] = {}


def _broker_client(url: str) -> redis.Redis:
    client = _broker_clients.get(url)
    if client is None:
        client = _broker_clients[url] = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
    return client


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        _broker_client(settings.REDIS_URL).ping()
    except Exception:
        logger.exception("healthz: broker check failed")
        return "error"
    return "ok"


@login_not_required
@never_cache
@require_safe
def healthz(request):
    """200 when the database (and the broker, when configured) answer; 503 otherwise."""
    body = {
        "status": "ok",
        "database": "ok" if _database_ok() else "error",
        "broker": _broker_status(),
    }
    if "error" in body.values():
        body["status"] = "error"
        return JsonResponse(body, status=503)
    return JsonResponse(body)


# --- clinician pages ------------------------------------------------------------------
# Small function views: parse, check access (selectors), call one service, audit
# (channel "page"), render. htmx requests get partials; everything works without htmx.

PATIENT_LIST_LIMIT = 200


def _page_audit(request, action, **kwargs):
    audit_record(user=request.user, action=action, channel=AuditChannel.PAGE, **kwargs)


@require_http_methods(["GET", "POST"])
def patient_list(request):
    """Patients of the user's care sites, searchable by name or MRN; new patient form."""
    search = PatientSearchForm(request.GET or None)
    # Validated (a NUL byte or an overlong query is refused, not sent to the database).
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    organizations = list(organization_list_for_user(request.user))
    form = None
    if organizations:
        form = PatientForm(request.POST or None, organizations=organizations)
        if request.method == "POST" and form.is_valid():
            data = {k: form.cleaned_data[k] for k in PatientForm.Meta.fields}
            try:
                patient = services.patient_create(
                    organization=form.organization, **data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                _page_audit(request, AuditAction.CREATE, obj=patient)
                messages.success(request, f"Patient {patient.full_name} created.")
                return redirect("patient_detail", pk=patient.pk)
    elif request.method == "POST":
        return HttpResponseForbidden("You are not a member of any care site.")
    patients = patient_list_for_user(request.user)
    if query:
        terms = Q()
        for word in query.split():
            terms &= (
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(mrn__icontains=word)
            )
        patients = patients.filter(terms)
    with planned_for_the_search_terms() if query else contextlib.nullcontext():
        patients = list(patients[:PATIENT_LIST_LIMIT])
    today = timezone.localdate()
    for patient in patients:
        patient.age_years = patient.age_on(today)
    _page_audit(
        request,
        AuditAction.READ,
        detail=f"patient list ({len(patients)} shown)"
        + (f", search {query!r}" if query else ""),
    )
    context = {
        "patients": patients,
        "search": search,
        "query": query,
        "form": form,
        "limit": PATIENT_LIST_LIMIT,
    }
    if request.htmx and request.method == "GET":
        return render(request, "assessments/partials/patient_rows.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "assessments/patient_list.html", context, status=status)


# What the patient page shows of each assessment: its table row and the trend charts.
PATIENT_PAGE_ASSESSMENT_FIELDS = (*CHART_FIELDS, "supersedes")


def _patient_page_encounters(patient) -> list:
    """The patient's encounters with what their cards show, each with its
    ``page_assessments``: two queries."""
    return list(
        patient.encounters.annotate(**ENCOUNTER_CARD_NAMES).prefetch_related(
            Prefetch(
                "assessments",
                queryset=with_result_summary(
                    Assessment.objects.only(*PATIENT_PAGE_ASSESSMENT_FIELDS)
                    .annotate(**ASSESSMENT_ROW_NAMES)
                    .order_by("-created_at", "-id")
                ),
                to_attr="page_assessments",
            )
        )
    )


@require_safe
def patient_detail(request, pk):
    """The patient, the trend charts and every encounter with its assessments, read in
    one query each (the assessments with the few columns and result values the page
    shows, not the hundred input columns nor the stored result)."""
    patient = patient_get_for_user(request.user, pk)
    encounters = _patient_page_encounters(patient)
    assessments = [a for e in encounters for a in e.page_assessments]
    _page_audit(request, AuditAction.READ, obj=patient)
    return render(
        request,
        "assessments/patient_detail.html",
        {
            "patient": patient,
            "encounter_cards": encounter_cards(encounters),
            "age_years": patient.age_on(timezone.localdate()),
            "charts": patient_trend_charts(patient, assessments),
            "today": timezone.localdate(),
        },
    )


@require_http_methods(["GET", "POST"])
def encounter_new(request, pk):
    patient = patient_get_for_user(request.user, pk)
    form = EncounterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            encounter = services.encounter_create(
                patient=patient, clinician=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _page_audit(request, AuditAction.CREATE, obj=encounter)
            messages.success(request, "Encounter recorded: enter the assessment.")
            return redirect("assessment_new", pk=encounter.pk)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "assessments/encounter_form.html",
        {"patient": patient, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def assessment_new(request, pk):
    """The assessment form (generated from the vocabulary); saving stores and evaluates."""
    encounter = encounter_get_for_user(request.user, pk)
    form = AssessmentForm(request.POST or None, encounter=encounter)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(
                data=form.input, author=request.user
            )
        except InputError as exc:
            for error in exc.errors:
                form.add_error(None, f"{error.field}: {error.message}")
        else:
            _page_audit(request, AuditAction.CREATE, obj=assessment)
            messages.success(request, f"Assessment #{assessment.pk} saved.")
            return redirect("assessment_detail", pk=assessment.pk)
    _page_audit(request, AuditAction.READ, obj=encounter, detail="assessment form")
    return render(
        request,
        "assessments/assessment_form.html",
        {
            "encounter": encounter,
            "patient": encounter.patient,
            "form": form,
            "age_years": encounter.patient.age_on(encounter.occurred_on),
        },
        status=400 if form.is_bound else 200,
    )


@require_POST
def assessment_preview(request, pk):
    """Evaluate the form as typed (nothing stored) and return the preview partial."""
    encounter = encounter_get_for_user(request.user, pk)
    form = AssessmentForm(request.POST, encounter=encounter)
    result, problem = None, ""
    if form.is_valid():
        try:
            result = canonical_evaluate(form.canonical).result
        except GuidelineError as exc:
            problem = str(exc)
    _page_audit(request, AuditAction.EVALUATE, obj=encounter, detail="live preview")
    return render(
        request,
        "assessments/partials/preview.html",
        {
            "form": form,
            "result": result,
            "problem": problem,
            "view": result_view(result, form.canonical) if result else None,
            "derived_fields": DERIVED_FIELDS,
        },
    )


@require_safe
def assessment_detail(request, pk):
    """The stored result, as produced; never recomputed."""
    assessment = assessment_get_for_user(request.user, pk)
    _page_audit(request, AuditAction.READ, obj=assessment)
    result = assessment.result or {}
    data = assessment_to_input(assessment)
    patient = assessment.encounter.patient
    return render(
        request,
        "assessments/assessment_detail.html",
        {
            "assessment": assessment,
            "result": result,
            "view": result_view(result, data),
            "patient": patient,
            "age_years": patient.age_on(assessment.encounter.occurred_on),
            "other_guidelines": _other_guidelines(result),
            "report": _report_of(assessment),
            "drift": version_drift(assessment.rule_set_version),
            "history": _history(assessment),
            "void_form": VoidForm(),
            "note": note_text(
                result=result,
                data=data,
                assessment_id=assessment.pk,
                recorded_at=assessment.created_at,
                encounter_at=assessment.encounter.occurred_at,
            ),
            "inputs": _input_rows(data),
        },
    )


@require_http_methods(["GET", "POST"])
def assessment_amend(request, pk):
    """The assessment form filled with the stored input and a reason; saving stores a
    new assessment that supersedes this one (CONTRACT section 6)."""
    assessment = assessment_get_for_user(request.user, pk)
    encounter = assessment.encounter
    if not assessment.is_final:
        messages.error(request, NOT_FINAL_MESSAGE)
        return redirect("assessment_detail", pk=assessment.pk)
    form = AssessmentForm(
        request.POST or None,
        encounter=encounter,
        with_reason=True,
        initial=None
        if request.method == "POST"
        else form_initial(assessment_to_input(assessment)),
    )
    if request.method == "POST" and form.is_valid():
        try:
            new = services.assessment_amend(
                assessment=assessment,
                data=form.input,
                reason=form.cleaned_data["reason"],
                author=request.user,
                channel=AuditChannel.PAGE,
            )
        except InputError as exc:
            for error in exc.errors:
                form.add_error(None, f"{error.field}: {error.message}")
        except services.AssessmentStateError as exc:
            messages.error(request, str(exc))
            return redirect("assessment_detail", pk=assessment.pk)
        else:
            messages.success(
                request,
                f"Saved assessment #{new.pk}; #{assessment.pk} is kept, "
                "marked amended.",
            )
            return redirect("assessment_detail", pk=new.pk)
    _page_audit(request, AuditAction.READ, obj=assessment, detail="amend form")
    return render(
        request,
        "assessments/assessment_form.html",
        {
            "encounter": encounter,
            "patient": encounter.patient,
            "form": form,
            "amending": assessment,
            "age_years": encounter.patient.age_on(encounter.occurred_on),
        },
        status=400 if form.is_bound else 200,
    )


@require_POST
def assessment_void(request, pk):
    """Mark the assessment entered in error, with a reason (kept, shown as void)."""
    assessment = assessment_get_for_user(request.user, pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Not voided: " + " ".join(form.errors.get("reason", []))
        )
        return redirect("assessment_detail", pk=assessment.pk)
    try:
        services.assessment_void(
            assessment=assessment,
            reason=form.cleaned_data["reason"],
            author=request.user,
            channel=AuditChannel.PAGE,
        )
    except (InputError, services.AssessmentStateError) as exc:
        messages.error(request, f"Not voided: {exc}")
    else:
        messages.success(
            request, f"Assessment #{assessment.pk} marked entered in error."
        )
    return redirect("assessment_detail", pk=assessment.pk)


@require_POST
def assessment_reevaluate(request, pk):
    """Evaluate the stored input again under the current version: a new assessment,
    the old one kept (marked amended)."""
    assessment = assessment_get_for_user(request.user, pk)
    try:
        new = services.assessment_reevaluate(
            assessment=assessment, author=request.user, channel=AuditChannel.PAGE
        )
    except (InputError, services.AssessmentStateError, GuidelineError) as exc:
        messages.error(request, f"Not evaluated again: {exc}")
        return redirect("assessment_detail", pk=assessment.pk)
    messages.success(
        request,
        f"Evaluated again under the current version as assessment #{new.pk}; "
        f"#{assessment.pk} is kept.",
    )
    return redirect("assessment_detail", pk=new.pk)


@require_safe
def assessment_compare(request, pk):
    """The stored input evaluated now under another rule set, beside the stored result."""
    assessment = assessment_get_for_user(request.user, pk)
    stored = assessment.result or {}
    choices = _other_guidelines(stored)
    code = request.GET.get("guideline") or (choices[0][0] if choices else "")
    if code not in dict(choices):
        raise Http404("No such rule set to compare with.")
    data = assessment_to_input(assessment)
    data.pop("guideline", None)
    try:
        other = guideline_evaluate(data=data, guideline=code).result
    except GuidelineError as exc:
        other, problem = None, str(exc)
    else:
        problem = ""
    _page_audit(
        request, AuditAction.EVALUATE, obj=assessment, detail=f"compare with {code}"
    )
    context = {
        "assessment": assessment,
        "patient": assessment.encounter.patient,
        "stored": stored,
        "other": other,
        "problem": problem,
        "rows": result_differences(
            stored,
            other,
            left_codes=rule_set_codes_of_version(assessment.rule_set_version_id),
            right_codes=rule_set_codes_of_active(code),
        )
        if other
        else [],
        "other_guidelines": choices,
        "code": code,
    }
    template = "assessments/assessment_compare.html"
    if request.htmx:
        template = "assessments/partials/compare.html"
    return render(request, template, context)


@require_POST
def assessment_report(request, pk):
    """Ask for the PDF summary (rendered in the background); show its status."""
    assessment = assessment_get_for_user(request.user, pk)
    report = report_request(
        assessment=assessment,
        user=request.user,
        regenerate=request.POST.get("regenerate") == "1",
    )
    _page_audit(request, AuditAction.EXPORT, obj=assessment, detail="PDF requested")
    if request.htmx:
        return render(
            request,
            "assessments/partials/report_status.html",
            {"assessment": assessment, "report": report},
        )
    return redirect("assessment_detail", pk=assessment.pk)


@require_safe
def assessment_report_status(request, pk):
    assessment = assessment_get_for_user(request.user, pk)
    return render(
        request,
        "assessments/partials/report_status.html",
        {"assessment": assessment, "report": _report_of(assessment)},
    )


@require_safe
def assessment_report_pdf(request, pk):
    assessment = assessment_get_for_user(request.user, pk)
    report = _report_of(assessment)
    if report is None or report.status != ReportStatus.READY or not report.file:
        raise Http404("The PDF summary is not ready.")
    _page_audit(request, AuditAction.EXPORT, obj=assessment, detail="PDF downloaded")
    return FileResponse(
        report.file.open("rb"),
        content_type="application/pdf",
        filename=f"mr-cds-assessment-{assessment.pk}.pdf",
    )


@require_safe
def about(request):
    """Intended use, logic, validation figures (computed now), limitations, versions."""
    return render(request, "about.html", about_context())


# --- helpers ----------------------------------------------------------------------------

NOT_FINAL_MESSAGE = (
    "This assessment is no longer final (already amended or entered in error); "
    "only a final assessment can be corrected."
)


def _history(assessment) -> list:
    """The chain of corrections this assessment belongs to, oldest first."""
    chain = [assessment]
    seen = {assessment.pk}
    older = assessment.supersedes
    while older is not None and older.pk not in seen:
        chain.insert(0, older)
        seen.add(older.pk)
        older = older.supersedes
    newer = assessment.successor
    while newer is not None and newer.pk not in seen:
        chain.append(newer)
        seen.add(newer.pk)
        newer = newer.successor
    return chain if len(chain) > 1 else []


DERIVED_FIELDS = (
    ("eroa_cm2", "echo_eroa_cm2"),
    ("regurgitant_volume_ml", "echo_regurgitant_volume_ml"),
    ("regurgitant_fraction_pct", "echo_regurgitant_fraction_pct"),
)


def _other_guidelines(result) -> list[tuple[str, str]]:
    current = (result.get("guideline") or {}).get("code")
    return [(code, title) for code, title in published_rule_sets() if code != current]


def _report_of(assessment):
    return Report.objects.filter(assessment=assessment).first()


def _input_rows(data):
    """The stored input in clinical order with labels and units."""
    groups = [
        (g["title"], [(r["label"], r["value"], r["unit"]) for r in g["rows"]])
        for g in input_display_groups(data)
    ]
    if data.get("prior_echos"):
        specs = {spec.path: spec for spec in PRIOR_ECHO_FIELDS}
        rows = [
            (
                "Prior study",
                ", ".join(
                    f"{specs[k].label} {v} {specs[k].unit}".strip()
                    for k, v in s.items()
                ),
                "",
            )
            for s in data["prior_echos"]
        ]
        groups.append(("Prior echos", rows))
    return groups


def about_context() -> dict:
    """Live figures: how far each active rule set's rows are verified, and who
    approved its publication."""
    return {
        "provenance": active_versions_provenance(),
        "versions": versions_list(),
        "sections": sections(),
        "limitations": guideline_doc_section("8."),
    }


def guideline_doc_section(number: str) -> list[str]:
    """The bullet points of one numbered section of docs/guideline.md (plain text)."""
    path = settings.BASE_DIR / "docs" / "guideline.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:].startswith(number)
            continue
        if not inside:
            continue
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
    return [item.replace("`", "") for item in items]
