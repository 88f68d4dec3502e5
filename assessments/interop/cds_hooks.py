"""The CDS Hooks 2.0.1 service ``mr-cds-patient-view`` (hook ``patient-view``).

A call goes: the request body is checked; the prefetch keys of the discovery document
are taken from ``prefetch`` first, where an omitted key (the EHR did not or could not
fetch it) is told apart from a ``null`` one (it has no such data); omitted keys are
fetched from ``fhirServer`` with ``fhirAuthorization`` under one hard deadline (all in
parallel, each response read in chunks and abandoned at the deadline or past a size
cap); without a FHIR server, or when the patient or the echo Observations still cannot
be had, the answer is 412. The resources found become one FHIR Bundle, mapped and
evaluated like any other input (``fhir_in``, then the guideline evaluation service).

The answer is one main card (``card_build``): the bottom line in the summary, an
indicator from the severity and the strongest recommendation, the guideline as source,
the full reasoning in a markdown detail, the rule-set version and content hash in the
``org.mr-cds.rule-set`` extension, and a link to the stored result's page. Each card is
stored (``CdsCard``) so that feedback can be kept per card and rule-set version.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from guidelines.services import InputError, guideline_evaluate, version_get
from guidelines.vocabulary import (
    FIELDS_BY_PATH,
    INTERVENTION_CODES,
    MR_TYPE,
    SEVERITY,
    SUBGRADE,
)

from ..inputs import json_number
from ..models import Organization, Patient
from . import codes
from .fhir_in import FhirBundleError, FhirMapping, bundle_map
from .models import CdsCard, CdsFeedback, FeedbackOutcome

SERVICE_ID = "mr-cds-patient-view"
HOOK = "patient-view"
EXTENSION_KEY = "org.mr-cds.rule-set"
FETCH_DEADLINE_S = 1.5  # CODES.md "Latency": a hard timeout of about 1.5 s
FETCH_MAX_BYTES = 5_000_000
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _search(resource: str, system: str, code_list, extra: str = "") -> str:
    codes_text = ",".join(f"{system}|{code}" for code in code_list)
    return f"{resource}?patient={{{{context.patientId}}}}&code={codes_text}{extra}"


PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "echoObservations": _search(
        "Observation", codes.LOINC, codes.ECHO_LOINC_CODES, "&_sort=-date&_count=200"
    ),
    "conditions": _search("Condition", codes.SNOMED, codes.CONDITION_CODES),
    "height": _search(
        "Observation", codes.LOINC, [codes.HEIGHT_LOINC], "&_sort=-date&_count=1"
    ),
    "weight": _search(
        "Observation", codes.LOINC, [codes.WEIGHT_LOINC], "&_sort=-date&_count=1"
    ),
}
REQUIRED_KEYS = (
    "patient",
    "echoObservations",
)  # without them there is nothing to grade

OVERRIDE_REASONS = (
    ("already-addressed", "Already addressed or under specialist care"),
    ("data-outdated", "Echo data outdated or incorrect"),
    ("patient-declined", "Patient declined"),
    ("clinical-judgement", "Clinical judgement differs from the guideline"),
)


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "MR-CDS: mitral regurgitation grading and guideline advice",
                "description": (
                    "Grades mitral regurgitation from the latest echocardiography "
                    "Observations (ASE 2017 integrative approach) and gives the "
                    "ACC/AHA 2020 or ESC/EACTS 2025 recommendations, with class, level "
                    "and what is missing."
                ),
                "prefetch": PREFETCH,
            }
        ]
    }


class HookRequestError(Exception):
    """400: the hook request is not a valid patient-view call."""


class PreconditionFailed(Exception):
    """412: the data needed can be had neither from prefetch nor from the FHIR server."""


@dataclass(frozen=True)
class HookRequest:
    hook_instance: str
    patient_id: str
    user_id: str
    fhir_server: str
    access_token: str
    prefetch: dict[str, Any]  # only the keys sent; a value may be None


def hook_request_parse(body: Any) -> HookRequest:
    if not isinstance(body, dict):
        raise HookRequestError("the request body must be a JSON object")
    if body.get("hook") != HOOK:
        raise HookRequestError(f"hook must be {HOOK!r}")
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance:
        raise HookRequestError("hookInstance is required")
    context = body.get("context")
    if not isinstance(context, dict):
        raise HookRequestError("context is required")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not FHIR_ID.match(patient_id):
        raise HookRequestError("context.patientId must be a FHIR id")
    prefetch = body.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HookRequestError("prefetch must be an object")
    for key, value in prefetch.items():
        if key in PREFETCH and value is not None and not isinstance(value, dict):
            raise HookRequestError(f"prefetch.{key} must be a FHIR resource or null")
    server = body.get("fhirServer") or ""
    authorization = body.get("fhirAuthorization")
    token = ""
    if authorization is not None:
        if not isinstance(authorization, dict) or not authorization.get("access_token"):
            raise HookRequestError("fhirAuthorization.access_token is required")
        if not server:
            raise HookRequestError("fhirServer is required with fhirAuthorization")
        token = str(authorization["access_token"])
    if server and not _server_allowed(server):
        raise HookRequestError("fhirServer must be an https URL")
    return HookRequest(
        hook_instance=instance[:100],
        patient_id=patient_id,
        user_id=str(context.get("userId") or "")[:200],
        fhir_server=server,
        access_token=token,
        prefetch={k: prefetch[k] for k in PREFETCH if k in prefetch},
    )


def _server_allowed(url: str) -> bool:
    if url.startswith("https://"):
        return True
    return url.startswith("http://") and getattr(
        settings, "CDS_HOOKS_FHIR_ALLOW_HTTP", settings.DEBUG
    )


# --- prefetch, then the FHIR server ------------------------------------------------------


def prefetch_resolve(request: HookRequest) -> tuple[dict[str, Any], list[str]]:
    """Every prefetch key's data: as sent, else fetched. Returns (data, fetched keys);
    raises ``PreconditionFailed`` when a required key can be had from neither."""
    data = dict(request.prefetch)
    absent = [key for key in PREFETCH if key not in data]
    fetched: list[str] = []
    if absent and request.fhir_server and request.access_token:
        results = fhir_fetch(request, absent)
        for key, resource in results.items():
            data[key] = resource
            fetched.append(key)
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise PreconditionFailed(
            "needed data not prefetched and not fetchable: " + ", ".join(missing)
        )
    return data, fetched


def fhir_fetch(request: HookRequest, keys: list[str]) -> dict[str, Any]:
    """GET the prefetch templates of ``keys`` from the EHR's FHIR server, in parallel,
    all within one deadline. A key that fails or is late is left out."""
    deadline = time.monotonic() + getattr(
        settings, "CDS_HOOKS_FETCH_DEADLINE_S", FETCH_DEADLINE_S
    )
    base = request.fhir_server.rstrip("/")
    patient = quote(request.patient_id, safe="")
    urls = {
        key: f"{base}/{PREFETCH[key].replace('{{context.patientId}}', patient)}"
        for key in keys
    }
    headers = {
        "Authorization": f"Bearer {request.access_token}",
        "Accept": "application/fhir+json",
    }
    results: dict[str, Any] = {}
    pool = ThreadPoolExecutor(max_workers=len(urls))
    try:
        futures = {
            key: pool.submit(_get, url, headers, deadline) for key, url in urls.items()
        }
        for key, future in futures.items():
            try:
                resource = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except (FutureTimeout, httpx.HTTPError, ValueError):
                continue
            if resource is not _NOT_FOUND:
                results[key] = resource
            elif key == "patient":
                results[key] = None  # the server has no such patient
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


_NOT_FOUND = object()


def _get(url: str, headers: dict[str, str], deadline: float):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ValueError("deadline passed")
    timeout = httpx.Timeout(remaining, connect=min(remaining, 1.0))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:  # noqa: SIM117
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 404:
                return _NOT_FOUND
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > FETCH_MAX_BYTES:
                    raise ValueError("response too large")
                if time.monotonic() > deadline:
                    raise ValueError("deadline passed")
    resource = json.loads(bytes(body))
    if not isinstance(resource, dict) or "resourceType" not in resource:
        raise ValueError("not a FHIR resource")
    return resource


def bundle_from_prefetch(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One collection Bundle of the patient and the resources of the searchsets
    (OperationOutcome entries of a searchset are left out), and where each entry came
    from (e.g. ``prefetch.echoObservations.entry[2].resource``)."""
    entries, origins = [], []
    patient = data.get("patient")
    if patient is not None:
        if patient.get("resourceType") != "Patient":
            raise HookRequestError("prefetch.patient must be a Patient")
        entries.append(
            {"fullUrl": f"Patient/{patient.get('id', '')}", "resource": patient}
        )
        origins.append("prefetch.patient")
    for key in ("echoObservations", "conditions", "height", "weight"):
        found = data.get(key)
        if found is None:
            continue
        if found.get("resourceType") != "Bundle":
            raise HookRequestError(f"prefetch.{key} must be a searchset Bundle")
        for number, entry in enumerate(found.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            if resource.get("resourceType") == "OperationOutcome":
                continue
            entries.append({"resource": resource})
            origins.append(f"prefetch.{key}.entry[{number}].resource")
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}, origins


def _restated(exc: FhirBundleError, origins: list[str]) -> FhirBundleError:
    """Issues of the assembled Bundle re-stated against the prefetch keys."""
    pattern = re.compile(r"^Bundle\.entry\[(\d+)\](?:\.resource)?")

    def where(expression: str) -> str:
        match = pattern.match(expression)
        if match and int(match.group(1)) < len(origins):
            return origins[int(match.group(1))] + expression[match.end() :]
        return expression

    return FhirBundleError(
        [
            type(i)(where(i.expression), i.diagnostics, i.severity, i.code)
            for i in exc.issues
        ]
    )


# --- the card --------------------------------------------------------------------------

SEVERITY_WORDS = {**SEVERITY.words, **SUBGRADE.words}
TYPE_WORDS = MR_TYPE.words
CLASS_RANK = {"1": 0, "2a": 1, "2b": 2, "3": 3}
URGENT_CODES = {"acute_stabilization", "endocarditis_management"}


def strongest_recommendation(result: dict[str, Any]) -> dict[str, Any] | None:
    """The recommendation of the strongest class (1 > 2a > 2b > 3), first listed on a tie."""
    recs = result.get("recommendations") or []
    if not recs:
        return None
    return min(recs, key=lambda r: CLASS_RANK.get(str(r.get("class")).lower(), 4))


def card_summary(result: dict[str, Any]) -> str:
    """The bottom line in clinical words, under 140 characters."""
    grade = result.get("severity_subgrade") or result.get("severity")
    head = f"{SEVERITY_WORDS.get(grade, grade or 'Ungraded')} "
    head += (
        f"{TYPE_WORDS[result['mr_type']]} MR"
        if result.get("mr_type") in TYPE_WORDS
        else "MR"
    )
    if result.get("stage") in ("A", "B", "C", "C1", "C2", "D"):
        head += f", stage {result['stage']}"
    top = strongest_recommendation(result)
    if top is not None:
        cls = f" (Class {top['class']})" if top.get("class") else ""
        tail = f": {top['title']}{cls}"
    elif result.get("missing"):
        tail = f": {len(result['missing'])} value(s) needed, see details"
    else:
        tail = ": no recommendation applies"
    summary = head + tail
    if len(summary) > 139:
        summary = summary[:138].rstrip() + "…"
    return summary


def card_indicator(result: dict[str, Any]) -> str:
    """critical: an urgent recommendation (acute stabilisation, endocarditis) or severe
    acute MR; warning: severe or moderate-to-severe MR, or a class 1/2a intervention;
    info otherwise."""
    codes_given = {r.get("code") for r in result.get("recommendations") or []}
    severity = result.get("severity")
    if codes_given & URGENT_CODES or (
        severity == "severe" and result.get("presentation") == "acute"
    ):
        return "critical"
    top = strongest_recommendation(result)
    strong_intervention = any(
        r.get("code") in INTERVENTION_CODES
        and str(r.get("class")).lower() in ("1", "2a")
        for r in result.get("recommendations") or []
    )
    if severity == "severe" or result.get("severity_subgrade") == "moderate_to_severe":
        return "warning"
    if strong_intervention and top is not None:
        return "warning"
    return "info"


def _label(path: str) -> str:
    spec = FIELDS_BY_PATH.get(path)
    return spec.label if spec else path


def card_detail(result: dict[str, Any], mapping: FhirMapping) -> str:
    """Markdown: the grade, every recommendation with class and level, what would
    apply if recorded, what is missing, and each echo value used with its date."""
    grade = result.get("severity_subgrade") or result.get("severity")
    lines = [
        f"**MR severity:** {SEVERITY_WORDS.get(grade, grade)}"
        + (f" ({result['severity_basis']})" if result.get("severity_basis") else ""),
        f"**MR type:** {result.get('mr_type')} · **Stage:** {result.get('stage')}",
        "",
        "**Recommendations**",
    ]
    for rec in result.get("recommendations") or []:
        source = rec.get("source") or {}
        lines.append(
            f"- {rec['title']} — Class {rec.get('class') or '–'}, "
            f"Level {rec.get('level') or '–'} ({source.get('guideline', '')} "
            f"{source.get('section', '')})".rstrip()
        )
    if not result.get("recommendations"):
        lines.append("- No recommendation applies.")
    if result.get("conditional"):
        lines += ["", "**Would apply if the missing values were recorded**"]
        for rec in result["conditional"]:
            needs = ", ".join(_label(p) for p in rec.get("depends_on") or [])
            lines.append(
                f"- {rec['title']} (Class {rec.get('class') or '–'}), needs {needs}"
            )
    if result.get("missing"):
        lines += ["", "**Missing**"]
        lines += [
            f"- {_label(m['parameter'])}: {m['reason']}" for m in result["missing"]
        ]
    used = [m for path, m in mapping.used.items() if path.startswith("echo.")]
    if used:
        lines += ["", "**Echo values used**"]
        lines += [f"- {_measurement_line(m)}" for m in used]
    if mapping.alternatives:
        lines += ["", "**Also recorded, not used (never averaged)**"]
        lines += [f"- {_measurement_line(m)}" for m in mapping.alternatives]
    if mapping.warnings:
        lines += ["", "**Notes**"] + [f"- {w}" for w in mapping.warnings]
    if mapping.unknown:
        lines += [
            "",
            f"{len(mapping.unknown)} coded item(s) not read (codes unknown to MR-CDS).",
        ]
    guideline = result["guideline"]
    lines += [
        "",
        f"Rule set {guideline['code']} {guideline['version']}, content hash "
        f"`{guideline['content_hash'][:12]}…`",
    ]
    return "\n".join(lines)


def _measurement_line(m) -> str:
    value = f"{m.value} {m.unit}".strip()
    sent = (
        f" (sent as {m.given})"
        if m.given.replace(" ", "") != value.replace(" ", "").replace("²", "2")
        else ""
    )
    method = f", {m.method}" if m.method else ""
    when = m.effective[:10] if m.effective else "date not given"
    code = f" · LOINC {m.code}" if m.system == codes.LOINC else ""
    return f"{_label(m.path)}: {value}{sent}{method} — {when}{code}"


def card_build(
    *,
    result: dict[str, Any],
    mapping: FhirMapping,
    card_uuid: str,
    link: str,
    version,
) -> dict[str, Any]:
    guideline = result["guideline"]
    source: dict[str, Any] = {
        "label": f"{guideline['title']} (MR-CDS)",
        "topic": {
            "system": codes.RESULT_SYSTEM,
            "code": "mitral-regurgitation",
            "display": "Mitral regurgitation",
        },
    }
    if version.url:
        source["url"] = version.url
    return {
        "uuid": card_uuid,
        "summary": card_summary(result),
        "indicator": card_indicator(result),
        "detail": card_detail(result, mapping),
        "source": source,
        "overrideReasons": [
            {"system": codes.OVERRIDE_REASON_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ],
        "links": [
            {"label": "Open the full MR-CDS result", "url": link, "type": "absolute"}
        ],
        "extension": {
            EXTENSION_KEY: {
                "code": guideline["code"],
                "version": guideline["version"],
                "content_hash": guideline["content_hash"],
            }
        },
    }


@dataclass
class HookOutcome:
    cards: list[dict[str, Any]]
    card: CdsCard | None
    patient: Patient | None
    fetched: list[str]


def patient_view(
    *, request: HookRequest, issuer: str, organization: Organization, link_for
) -> HookOutcome:
    """Answer one patient-view call: (cards, the stored card or None)."""
    data, fetched = prefetch_resolve(request)
    if data.get("patient") is None or data.get("echoObservations") is None:
        return HookOutcome([], None, None, fetched)  # the EHR says: no such data
    bundle, origins = bundle_from_prefetch(data)
    patient = _matching_patient(organization, data["patient"])
    try:
        mapping = bundle_map(bundle, on=timezone.localdate())
    except FhirBundleError as exc:
        raise _restated(exc, origins) from None
    if not any(path.startswith("echo.") for path in mapping.used):
        return HookOutcome([], None, patient, fetched)  # nothing about the mitral valve
    try:
        evaluation = guideline_evaluate(data=mapping.data)
    except InputError as exc:
        return HookOutcome([_refusal_card(exc)], None, patient, fetched)
    version = version_get(evaluation.version_id)
    card = CdsCard(
        organization=organization,
        patient=patient,
        fhir_patient_id=request.patient_id,
        hook_instance=request.hook_instance,
        issuer=issuer[:255],
        rule_set_version=version,
        content_hash=evaluation.result["guideline"]["content_hash"],
        input=_jsonable(evaluation.input),
        result=evaluation.result,
        sources=mapping.report(),
        recommendation_rules=[
            {"rule": r.get("rule", ""), "code": r.get("code", "")}
            for r in evaluation.result.get("recommendations") or []
        ],
    )
    body = card_build(
        result=evaluation.result,
        mapping=mapping,
        card_uuid=str(card.uuid),
        link=link_for(card),
        version=version,
    )
    card.summary, card.indicator = body["summary"], body["indicator"]
    card.save()
    return HookOutcome([body], card, patient, fetched)


def _refusal_card(exc: InputError) -> dict[str, Any]:
    problems = "\n".join(
        f"- {_label(e.field)} (`{e.field}`): {e.message}" for e in exc.errors
    )
    return {
        "uuid": str(uuid.uuid4()),
        "summary": "MR not assessed: a recorded value is outside its plausible range",
        "indicator": "warning",
        "detail": f"MR-CDS refused these values; check the echo report.\n\n{problems}",
        "source": {"label": "MR-CDS input check"},
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return json_number(value)


def _matching_patient(organization: Organization, resource: dict) -> Patient | None:
    """The care site's patient whose MRN is one of the EHR patient's identifiers."""
    values = [
        str(i.get("value"))
        for i in resource.get("identifier") or []
        if isinstance(i, dict) and i.get("value")
    ][:20]
    if not values:
        return None
    found = list(Patient.objects.filter(organization=organization, mrn__in=values)[:2])
    return found[0] if len(found) == 1 else None


# --- feedback ----------------------------------------------------------------------------


class FeedbackError(Exception):
    """400: the feedback body is not valid."""


@transaction.atomic
def feedback_record(*, body: Any, organization: Organization) -> tuple[int, int]:
    """Store each feedback item for a card of this care site. Returns (stored,
    unknown cards). Cards of another care site count as unknown."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list):
        raise FeedbackError('the body must be {"feedback": [...]}')
    items = body["feedback"]
    if len(items) > 100:
        raise FeedbackError("at most 100 feedback items per call")
    parsed = []
    for index, item in enumerate(items):
        where = f"feedback[{index}]"
        if not isinstance(item, dict):
            raise FeedbackError(f"{where} must be an object")
        outcome = item.get("outcome")
        if outcome not in FeedbackOutcome.values:
            raise FeedbackError(f"{where}.outcome must be 'accepted' or 'overridden'")
        if not isinstance(item.get("card"), str):
            raise FeedbackError(f"{where}.card is required")
        when = _timestamp(item.get("outcomeTimestamp"), f"{where}.outcomeTimestamp")
        reason = item.get("overrideReason") or {}
        if not isinstance(reason, dict):
            raise FeedbackError(f"{where}.overrideReason must be an object")
        coding = reason.get("reason") or {}
        if not isinstance(coding, dict):
            raise FeedbackError(f"{where}.overrideReason.reason must be a Coding")
        suggestions = item.get("acceptedSuggestions") or []
        if outcome == "accepted" and not isinstance(suggestions, list):
            raise FeedbackError(f"{where}.acceptedSuggestions must be a list")
        parsed.append((item["card"], outcome, coding, reason, suggestions, when))
    cards = {
        str(card.uuid): card
        for card in CdsCard.objects.filter(
            organization=organization,
            uuid__in=[_uuid_or_none(p[0]) for p in parsed if _uuid_or_none(p[0])],
        )
    }
    stored = unknown = 0
    for card_id, outcome, coding, reason, suggestions, when in parsed:
        card = cards.get(card_id.lower())
        if card is None:
            unknown += 1
            continue
        CdsFeedback.objects.create(
            card=card,
            outcome=outcome,
            override_reason_system=str(coding.get("system", ""))[:255],
            override_reason_code=str(coding.get("code", ""))[:100],
            override_reason_display=str(coding.get("display", ""))[:255]
            or dict(OVERRIDE_REASONS).get(str(coding.get("code", "")), ""),
            user_comment=str(reason.get("userComment", ""))[:2000],
            accepted_suggestions=suggestions if isinstance(suggestions, list) else [],
            outcome_at=when,
        )
        stored += 1
    return stored, unknown


def _uuid_or_none(text: str):
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None


def _timestamp(value, where):
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise FeedbackError(f"{where} must be an ISO timestamp with a time zone")
    return parsed


def override_rates() -> list[dict[str, Any]]:
    """Per rule-set version and rule: cards shown, feedback received, overridden,
    and the override rate; the rows most overridden first."""
    rows: dict[tuple, dict[str, Any]] = {}
    cards = CdsCard.objects.select_related(
        "rule_set_version__rule_set"
    ).prefetch_related("feedback")
    for card in cards.iterator(chunk_size=500):
        outcomes = [f.outcome for f in card.feedback.all()]
        reasons = [
            f.override_reason_display or f.override_reason_code
            for f in card.feedback.all()
            if f.outcome == "overridden"
        ]
        version = card.rule_set_version
        for item in card.recommendation_rules or [{"rule": "", "code": ""}]:
            key = (version.pk, item.get("rule", ""), item.get("code", ""))
            row = rows.setdefault(
                key,
                {
                    "rule_set": version.rule_set.code,
                    "version": version.version,
                    "version_id": version.pk,
                    "rule": item.get("rule", ""),
                    "code": item.get("code", ""),
                    "cards": 0,
                    "feedback": 0,
                    "overridden": 0,
                    "accepted": 0,
                    "reasons": {},
                },
            )
            row["cards"] += 1
            row["feedback"] += len(outcomes)
            row["overridden"] += outcomes.count("overridden")
            row["accepted"] += outcomes.count("accepted")
            for reason in reasons:
                if reason:
                    row["reasons"][reason] = row["reasons"].get(reason, 0) + 1
    result = []
    for row in rows.values():
        row["rate"] = row["overridden"] / row["feedback"] if row["feedback"] else None
        row["reasons"] = sorted(row["reasons"].items(), key=lambda kv: -kv[1])
        result.append(row)
    return sorted(result, key=lambda r: (-(r["rate"] or 0), -r["cards"], r["rule"]))
