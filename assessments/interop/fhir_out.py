"""FHIR R4 out: one assessment result (CONTRACT section 2) as a Bundle.

What the Bundle holds (docs/CODES.md):
- an Observation of the integrated MR grade, valued with the SNOMED codes of DICOM
  CID 3716, and Observations of the MR type and the ACC/AHA stage (MR-CDS CodeSystems:
  no standard code exists for them);
- a Condition, SNOMED 48724000 (373116009 when acute), with that severity;
- one DetectedIssue per missing value a rule needed;
- draft ServiceRequests (intent ``proposal``) for a surveillance echo or a referral;
- a GuidanceResponse with ``requestIdentifier`` and ``moduleUri`` (the rule-set version);
- a Provenance naming the rule-set version and content hash, with a Device for MR-CDS.

It renders the stored result, never recomputes it. Ids are UUIDs derived from a seed
(the assessment id), so the same assessment always gives the same Bundle.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from . import codes

SURVEILLANCE_CODES = {
    "surveillance_echo_3_5y": "every 3 to 5 years",
    "surveillance_echo_1_2y": "every 1 to 2 years",
    "surveillance_echo_6_12m": "every 6 to 12 months",
    "tte_baseline": "baseline study",
}
REFERRAL_CODES = {
    "surgery_mv",
    "teer",
    "heart_team_review",
    "advanced_hf_evaluation",
    "tmvi_evaluation",
    "further_imaging_tee_cmr",
    "exercise_testing",
    "coronary_revascularization",
    "af_ablation_laao",
    "palliative_care",
}
NAMESPACE = uuid.UUID("6f1c2a52-3f0e-4d7b-9a55-4d1e0c7b2a10")


def rule_set_uri(guideline: dict[str, Any]) -> str:
    return f"{codes.RULE_SET_URI}/{guideline['code']}|{guideline['version']}"


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str, text: str | None = None) -> dict:
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _instant(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def result_bundle(
    *,
    result: dict[str, Any],
    seed: str,
    recorded: dt.datetime,
    patient: dict[str, Any] | None = None,
    patient_reference: str | None = None,
    request_identifier: str | None = None,
    messages: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A ``collection`` Bundle of the result. ``patient`` (a Patient resource) is
    included when given; otherwise ``patient_reference`` is used as the subject.
    ``messages`` (``{"severity", "text"}``) go into an OperationOutcome that the
    GuidanceResponse names as its evaluation message."""

    def new_id(kind: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{seed}:{kind}"))

    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any]) -> str:
        full_url = f"urn:uuid:{resource['id']}"
        entries.append({"fullUrl": full_url, "resource": resource})
        return full_url

    subject: dict[str, Any] | None = None
    if patient is not None:
        subject = {"reference": add(patient)}
    elif patient_reference:
        subject = {"reference": patient_reference}
    guideline = result["guideline"]
    module = rule_set_uri(guideline)
    issued = _instant(recorded)
    severity = result.get("severity")
    grade_key = result.get("severity_subgrade") or severity

    def observation(kind: str, code: dict, value: dict | None, text: str) -> str:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": new_id(kind),
            "status": "final",
            "category": [
                _concept(
                    "http://terminology.hl7.org/CodeSystem/observation-category",
                    "imaging",
                    "Imaging",
                )
            ],
            "code": code,
            "issued": issued,
            "note": [{"text": text}],
        }
        if subject:
            resource["subject"] = subject
        if value is not None:
            resource["valueCodeableConcept"] = value
        else:
            resource["dataAbsentReason"] = _concept(
                "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "unknown",
                "Unknown",
            )
        return add(resource)

    outputs = []
    grade = codes.GRADE_CODES.get(grade_key or "")
    outputs.append(
        observation(
            "grade",
            _concept(
                codes.RESULT_SYSTEM,
                "mr-severity",
                "Integrated mitral regurgitation severity",
            ),
            _concept(codes.SNOMED, *grade, text=grade_key) if grade else None,
            f"MR severity {grade_key or 'not graded'}: {result.get('severity_basis') or ''}".strip().rstrip(
                ":"
            ),
        )
    )
    if result.get("mr_type"):
        outputs.append(
            observation(
                "mr-type",
                _concept(codes.RESULT_SYSTEM, "mr-type", "Mitral regurgitation type"),
                _concept(codes.MR_TYPE_SYSTEM, result["mr_type"], result["mr_type"]),
                f"MR type {result['mr_type']}",
            )
        )
    if result.get("stage"):
        outputs.append(
            observation(
                "stage",
                _concept(
                    codes.RESULT_SYSTEM,
                    "mr-stage",
                    "ACC/AHA stage of mitral regurgitation",
                ),
                _concept(
                    codes.STAGE_SYSTEM, result["stage"], f"Stage {result['stage']}"
                ),
                f"Stage {result['stage']}",
            )
        )

    if grade and severity not in ("none_trivial", "indeterminate"):
        acute = result.get("presentation") == "acute" or "acute_stabilization" in {
            r.get("code") for r in result.get("recommendations", [])
        }
        code = codes.ACUTE_MR if acute else codes.MR_DISORDER
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "id": new_id("condition"),
            "clinicalStatus": _concept(
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "active",
                "Active",
            ),
            "verificationStatus": _concept(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "provisional",
                "Provisional",
            ),
            "code": _concept(codes.SNOMED, *code),
            "severity": _concept(codes.SNOMED, *grade),
            "recordedDate": issued,
            "note": [
                {
                    "text": "Graded by MR-CDS from the echo values given; "
                    "to be confirmed by the clinician."
                }
            ],
        }
        if subject:
            condition["subject"] = subject
        else:  # Condition.subject is required (1..1)
            condition["subject"] = {"display": "the patient assessed"}
        outputs.append(add(condition))

    for number, missing in enumerate(result.get("missing", [])):
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "id": new_id(f"missing:{number}"),
            "status": "final",
            "code": _concept(
                codes.RESULT_SYSTEM,
                "missing-data",
                "Data a guideline rule needed is missing",
            ),
            "severity": "moderate",
            "identifiedDateTime": issued,
            "detail": f"{missing['parameter']}: {missing['reason']}",
            "mitigation": [
                {
                    "action": _concept(
                        codes.INPUT_FIELD_SYSTEM,
                        missing["parameter"],
                        missing["parameter"],
                        text=f"Record {missing['parameter']}",
                    )
                }
            ],
        }
        if subject:
            issue["patient"] = subject
        outputs.append(add(issue))

    for rec in result.get("recommendations", []):
        code = rec.get("code")
        if code not in SURVEILLANCE_CODES and code not in REFERRAL_CODES:
            continue
        request: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": new_id(f"request:{code}"),
            "status": "draft",
            "intent": "proposal",
            "code": _service_code(code, rec),
            "reasonCode": [_concept(codes.SNOMED, *codes.MR_DISORDER)],
            "authoredOn": issued,
            "note": [{"text": _recommendation_text(rec)}],
            "subject": subject or {"display": "the patient assessed"},
        }
        if code in SURVEILLANCE_CODES:
            request["patientInstruction"] = (
                f"Echocardiography {SURVEILLANCE_CODES[code]}"
            )
        outputs.append(add(request))

    outcome_reference = None
    if messages:
        outcome = {
            "resourceType": "OperationOutcome",
            "id": new_id("messages"),
            "issue": [
                {
                    "severity": m["severity"],
                    "code": m.get("code", "informational"),
                    "diagnostics": m["text"],
                }
                for m in messages
            ],
        }
        outcome_reference = add(outcome)

    guidance: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": new_id("guidance"),
        "requestIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{request_identifier or new_id('request')}",
        },
        "identifier": [
            {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{new_id('guidance')}"}
        ],
        "moduleUri": module,
        "status": "data-required" if severity == "indeterminate" else "success",
        "occurrenceDateTime": issued,
        "note": [
            {"text": _recommendation_text(r)} for r in result.get("recommendations", [])
        ]
        or [{"text": "No recommendation applies."}],
        "outputParameters": None,
    }
    guidance.pop("outputParameters")
    if subject:
        guidance["subject"] = subject
    if outcome_reference:
        guidance["evaluationMessage"] = [{"reference": outcome_reference}]
    guidance_reference = add(guidance)

    device_reference = add(
        {
            "resourceType": "Device",
            "id": new_id("device"),
            "deviceName": [{"name": "MR-CDS", "type": "manufacturer-name"}],
            "version": [{"value": f"{guideline['code']} {guideline['version']}"}],
        }
    )
    add(
        {
            "resourceType": "Provenance",
            "id": new_id("provenance"),
            "target": [{"reference": ref} for ref in [*outputs, guidance_reference]],
            "recorded": issued,
            "policy": [module],
            "activity": _concept(
                "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                "CREATE",
                "create",
            ),
            "agent": [{"who": {"reference": device_reference, "display": "MR-CDS"}}],
            "entity": [
                {
                    "role": "derivation",
                    "what": {
                        "identifier": {
                            "system": "urn:ietf:rfc:3986",
                            "value": f"urn:sha256:{guideline['content_hash']}",
                        },
                        "display": f"Rule set {guideline['code']} version {guideline['version']} "
                        f"({guideline['title']}), content hash "
                        f"{guideline['content_hash']}",
                    },
                }
            ],
        }
    )
    return {
        "resourceType": "Bundle",
        "id": new_id("bundle"),
        "type": "collection",
        "timestamp": issued,
        "entry": entries,
    }


def _service_code(code: str, rec: dict[str, Any]) -> dict[str, Any]:
    if code in SURVEILLANCE_CODES:
        return _concept(codes.SNOMED, *codes.TTE_PROCEDURE, text=rec.get("title"))
    if code == "further_imaging_tee_cmr":
        return {
            "coding": [
                _coding(codes.SNOMED, *codes.TEE_PROCEDURE),
                _coding(codes.RECOMMENDATION_SYSTEM, code, rec.get("title", code)),
            ],
            "text": rec.get("title"),
        }
    return _concept(
        codes.RECOMMENDATION_SYSTEM, code, rec.get("title", code), text=rec.get("title")
    )


def _recommendation_text(rec: dict[str, Any]) -> str:
    grading = []
    if rec.get("class"):
        grading.append(f"Class {rec['class']}")
    if rec.get("level"):
        grading.append(f"Level {rec['level']}")
    source = rec.get("source") or {}
    where = ", ".join(p for p in (source.get("guideline"), source.get("section")) if p)
    text = rec.get("title", rec.get("code", ""))
    if grading:
        text += f" ({', '.join(grading)})"
    if where:
        text += f" [{where}]"
    return text
