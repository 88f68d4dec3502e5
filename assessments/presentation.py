"""A stored result in clinical words: the bottom line, recommendations grouped by class,
assumptions beside the recommendation they affect, findings that decided the grade
first, and the plain-text summary for an EHR note.

Pure functions of the stored result (CONTRACT section 2) and input (section 1): they
reinterpret nothing, they only choose words (``guidelines.parameters``) and order. The
result page, the live preview, the PDF and the copy-to-note text all use them.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import F
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.timezone import localtime

from guidelines.services import NOT_READ, parameter_label
from guidelines.vocabulary import (
    CLASS_MEANINGS,
    FIELDS_BY_PATH,
    INPUT_FIELDS,
    MR_TYPE,
    SEVERITY,
    VALUE_LABELS,
    Kind,
    class_rank,
    value_label,
)

SEVERITY_WORDS = SEVERITY.words  # "Severe" (primary MR)
TYPE_WORDS = MR_TYPE.words  # (Severe) "primary" (MR)
# The colour of a class group (CSS class) and its heading.
CLASS_GROUPS = {
    1: ("cor-1", "Class 1 / I"),
    2: ("cor-2a", "Class 2a / IIa"),
    3: ("cor-2b", "Class 2b / IIb"),
    4: ("cor-3", "Class 3 / III: no benefit"),
    5: ("cor-3", "Class 3 / III: harm"),
    None: ("cor-none", "No formal class (guideline text or product decision)"),
}
# A choice code in a rule's text (``eccentric_wall_impinging``) -> its label.
_CHOICE_WORDS = {
    value: label.lower() if not label.isupper() else label
    for spec in INPUT_FIELDS
    if spec.kind is Kind.CHOICE
    for value, label in spec.choices
    if "_" in value
}
_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_ASSUMED = re.compile(r"assumed (?P<what>.+?) for: (?P<title>.+)")
_SPEC_REFERENCE = re.compile(
    r"\s*\((?:[^()]*; )?SPEC [^()]*\)|,?\s*SPEC \d[\d.]*(?: [a-z#]\S*)?"
)


def without_spec_references(text: str) -> str:
    """Text for clinicians: the product's own SPEC references taken out (they stay in
    the expandable source detail of the pages)."""
    return _SPEC_REFERENCE.sub("", text or "").strip(" ,;")


def section_text(source: dict[str, Any] | None) -> str:
    """A source's guideline section without SPEC references."""
    return without_spec_references((source or {}).get("section") or "")


def conditional_text(condition: str, depends_on: list[str]) -> str:
    """``would apply if NYHA class ≥ 2`` (the engine's words, said once)."""
    text = plain_words(condition or "").strip()
    if not text:
        names = ", ".join(parameter_label(p) for p in depends_on)
        return f"would apply if these were recorded: {names}"
    if text.startswith(("would apply if", "depends on")):
        return text
    return f"would apply if {text}"


def plain_words(text: str) -> str:
    """A rule's condition or criterion with choice codes in words."""
    if not text:
        return ""
    return _CODE.sub(lambda m: _CHOICE_WORDS.get(m.group(0), m.group(0)), text)


def diagnosis_text(result: dict[str, Any], data: dict[str, Any] | None = None) -> str:
    """``Severe primary MR (flail leaflet)``: severity, type and mechanism."""
    severity = result.get("severity")
    if not severity:
        return "Not evaluated"
    if severity == "indeterminate":
        words = "MR of indeterminate severity"
    else:
        words = SEVERITY_WORDS.get(severity, value_label("severity", severity))
        if result.get("severity_subgrade"):
            words += (
                f" ({value_label('severity_subgrade', result['severity_subgrade'])})"
            )
        kind = TYPE_WORDS.get(result.get("mr_type"))
        words += f" {kind} MR" if kind else " MR"
        if result.get("mr_type") == "undetermined":
            words += ", type undetermined"
    mechanism = mechanism_text(data or {})
    return f"{words} ({mechanism})" if mechanism else words


def mechanism_text(data: dict[str, Any]) -> str:
    etiology = data.get("etiology")
    if not etiology or etiology == "unknown":
        return ""
    label = dict(FIELDS_BY_PATH["etiology"].choices).get(etiology, etiology)
    return label.split(": ", 1)[-1].lower() if ": " in label else label.lower()


def class_text(rec: dict[str, Any]) -> str:
    """``Class 1, level B-NR`` (or that there is no formal class)."""
    if not rec.get("class") and not rec.get("level"):
        return "no formal class"
    return f"Class {rec.get('class') or '–'}, level {rec.get('level') or '–'}"


def _assumptions(missing: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Recommendation title -> what was assumed for it (from ``missing`` reasons)."""
    found: dict[str, list[str]] = {}
    for item in missing:
        label = parameter_label(item.get("parameter", ""))
        for part in (item.get("reason") or "").split("; "):
            match = _ASSUMED.search(part)
            if match:
                found.setdefault(match["title"].strip(), []).append(
                    f"{label} not recorded: assumed {plain_words(match['what'])}"
                )
    return found


def _recommendation(rec: dict[str, Any], assumptions) -> dict[str, Any]:
    rank = class_rank(rec.get("class"))
    css, _ = CLASS_GROUPS.get(rank, CLASS_GROUPS[None])
    source = rec.get("source") or {}
    evidence = source.get("evidence") or ""
    return {
        **rec,
        "rank": rank,
        "css": css,
        "class_text": class_text(rec),
        "meaning": CLASS_MEANINGS.get(rank, ""),
        "assumptions": assumptions.get(rec.get("title", ""), []),
        "condition_text": plain_words(rec.get("condition", "")),
        "evidence_text": VALUE_LABELS["evidence"].get(evidence, ""),
        "verification_text": verification_text(source.get("verified_from") or ""),
        "guideline": source.get("guideline", ""),
        "section_text": section_text(source),
        "detail_text": without_spec_references(rec.get("detail") or ""),
    }


def verification_text(verified_from: str) -> str:
    """Where a row was read against its guideline, or that it has not been yet (why is
    in the row table of docs/guideline.md and on the About page, for auditors)."""
    if not verified_from:
        return ""
    if verified_from.startswith(NOT_READ):
        return "not yet read against the guideline text"
    return f"verified from {verified_from}"


def result_view(
    result: dict[str, Any] | None, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the result surfaces show, in clinical words and reading order."""
    result = result or {}
    missing = result.get("missing") or []
    assumptions = _assumptions(missing)
    recs = [
        _recommendation(r, assumptions) for r in result.get("recommendations") or []
    ]
    ranked = [r for r in recs if r["rank"] is not None]
    strongest = min(ranked, key=lambda r: r["rank"]) if ranked else None
    groups = []
    for rank in (1, 2, 3, 4, 5, None):
        members = [r for r in recs if r["rank"] == rank]
        if members:
            css, heading = CLASS_GROUPS[rank]
            groups.append({"css": css, "heading": heading, "recommendations": members})
    conditional = [
        {
            **_recommendation(c, {}),
            "if_text": conditional_text(c.get("condition"), c.get("depends_on") or []),
            "depends_on_labels": [
                parameter_label(p) for p in c.get("depends_on") or []
            ],
        }
        for c in result.get("conditional") or []
    ]
    findings = result.get("findings") or []
    decided = [f for f in findings if f.get("met") is True]
    tested = [f for f in findings if f.get("met") is False]
    not_recorded = [f for f in findings if f.get("met") is None]
    evidence_used = sorted(
        {
            (r.get("source") or {}).get("evidence")
            for r in [*recs, *findings, *(result.get("cautions") or [])]
            if isinstance(r, dict) and (r.get("source") or {}).get("evidence")
        }
    )
    guideline = result.get("guideline") or {}
    return {
        "diagnosis": diagnosis_text(result, data),
        "severity": value_label("severity", result.get("severity")),
        "mr_type": value_label("mr_type", result.get("mr_type")),
        "stage": value_label("stage", result.get("stage")),
        "symptom_status": value_label("symptom_status", result.get("symptom_status")),
        "surgical_risk": value_label("surgical_risk", result.get("surgical_risk")),
        "strongest": strongest,
        "groups": groups,
        "recommendations": recs,
        "conditional": conditional,
        "cautions": [_recommendation(c, {}) for c in result.get("cautions") or []],
        "missing": [
            {
                "label": parameter_label(m.get("parameter", "")),
                "reason": m.get("reason"),
            }
            for m in missing
        ],
        "findings_decided": [_finding(f) for f in decided],
        "findings_tested": [_finding(f) for f in tested],
        "findings_not_recorded": [_finding(f) for f in not_recorded],
        "derivations": [
            {**d, "label": parameter_label(d.get("parameter", ""))}
            for d in result.get("derivations") or []
        ],
        "risk_factors": [
            value_label("risk_factors", c) for c in result.get("risk_factors") or []
        ],
        "evidence_legend": [
            (tag, VALUE_LABELS["evidence"].get(tag, "")) for tag in evidence_used
        ],
        "guideline_text": guideline_text(guideline),
        "guideline_short": _guideline_short(result),
    }


def _finding(finding: dict[str, Any]) -> dict[str, Any]:
    return {
        **finding,
        "label": parameter_label(finding.get("parameter", "")),
        "criterion_text": plain_words(finding.get("criterion", "")),
        "value_text": _value_text(finding),
    }


def _value_text(finding: dict[str, Any]) -> str:
    value = finding.get("value")
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    spec = FIELDS_BY_PATH.get(finding.get("parameter", ""))
    if spec is not None and spec.kind is Kind.CHOICE:
        return dict(spec.choices).get(value, str(value))
    unit = finding.get("unit") or ""
    return f"{value} {unit}".strip()


def guideline_text(guideline: dict[str, Any]) -> str:
    """``2020 ACC/AHA Guideline ... · version 2020.1``."""
    if not guideline:
        return "rule set not recorded"
    return f"{guideline.get('title') or guideline.get('code')} · version {guideline.get('version')}"


def _guideline_short(result: dict[str, Any]) -> str:
    for rec in result.get("recommendations") or []:
        name = (rec.get("source") or {}).get("guideline")
        if name:
            return name
    return dict(FIELDS_BY_PATH["guideline"].choices).get(
        (result.get("guideline") or {}).get("code"), ""
    )


# --- comparison of two results ---------------------------------------------------------

NOT_IN_RULE_SET = "not in this rule set"
DOES_NOT_APPLY = "does not apply to this patient"


def same_class(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same class whatever the notation (1 = I, 2a = IIa, ...) and the same level of
    evidence letter (ACC/AHA B-NR and ESC B are both B)."""
    level_a, level_b = (a.get("level") or "")[:1], (b.get("level") or "")[:1]
    return (
        class_rank(a.get("class")) == class_rank(b.get("class")) and level_a == level_b
    )


def result_differences(
    stored: dict[str, Any],
    other: dict[str, Any],
    *,
    left_codes: set[str] | None = None,
    right_codes: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Rows of a side-by-side comparison of two results; ``differs`` marks changes.

    A recommendation absent on one side reads "not in this rule set" when that rule
    set has no rule giving it (``*_codes``), else "does not apply to this patient";
    never "not recommended", which would read as a Class 3 statement.
    """

    def absent(codes, code):
        return (
            NOT_IN_RULE_SET
            if codes is not None and code not in codes
            else DOES_NOT_APPLY
        )

    rows = []
    for key, label in (
        ("severity", "Severity"),
        ("severity_subgrade", "Subgrade"),
        ("mr_type", "MR type"),
        ("stage", "Stage"),
        ("symptom_status", "Symptom status"),
    ):
        a, b = stored.get(key), other.get(key)
        rows.append(
            {
                "label": label,
                "differs": a != b,
                "left": value_label(key, a) if a else "–",
                "right": value_label(key, b) if b else "–",
            }
        )
    left = {r["code"]: r for r in stored.get("recommendations", [])}
    right = {r["code"]: r for r in other.get("recommendations", [])}
    for code in [*left, *(c for c in right if c not in left)]:
        a, b = left.get(code), right.get(code)
        rows.append(
            {
                "label": (a or b).get("title") or code,
                "code": code,
                "recommendation": True,
                "left": class_text(a) if a else absent(left_codes, code),
                "right": class_text(b) if b else absent(right_codes, code),
                "differs": (a is None) != (b is None)
                or bool(a and b and not same_class(a, b)),
            }
        )
    for side, result in (("left", stored), ("right", other)):
        for caution in result.get("cautions") or []:
            if isinstance(caution, dict) and caution.get("title"):
                text = f"caution: {class_text(caution)}"
                row = {
                    "label": caution["title"],
                    "left": "–",
                    "right": "–",
                    "differs": True,
                }
                row[side] = text
                rows.append(row)
    missing_a = {parameter_label(m["parameter"]) for m in stored.get("missing", [])}
    missing_b = {parameter_label(m["parameter"]) for m in other.get("missing", [])}
    rows.append(
        {
            "label": "Missing data",
            "left": ", ".join(sorted(missing_a)) or "none",
            "right": ", ".join(sorted(missing_b)) or "none",
            "differs": missing_a != missing_b,
        }
    )
    return rows


# --- copy to note --------------------------------------------------------------------

KEY_MEASUREMENTS = (
    "echo.eroa_cm2",
    "echo.regurgitant_volume_ml",
    "echo.regurgitant_fraction_pct",
    "echo.vena_contracta_cm",
    "echo.lvef_pct",
    "echo.lvesd_mm",
    "echo.lvedd_mm",
    "echo.la_volume_index_ml_m2",
    "echo.pasp_mmhg",
    "symptoms.nyha_class",
    "ecg.rhythm",
)
NYHA_WORDS = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _input_value(data: dict[str, Any], path: str):
    section, _, name = path.partition(".")
    return (data.get(section) or {}).get(name)


def note_text(
    *,
    result: dict[str, Any],
    data: dict[str, Any],
    assessment_id: int | None,
    recorded_at,
    encounter_at,
) -> str:
    """A plain-text summary fit to paste into an EHR note."""
    view = result_view(result, data)
    lines = [f"Mitral regurgitation assessment (MR-CDS #{assessment_id})"]
    lines.append(
        f"Encounter: {encounter_at:%Y-%m-%d}; recorded {recorded_at:%Y-%m-%d %H:%M} UTC"
    )
    lines.append(
        f"Diagnosis: {view['diagnosis']}; {view['stage']}; {view['symptom_status'].lower()}."
    )
    measured = []
    for path in KEY_MEASUREMENTS:
        value = _input_value(data, path)
        if value is None:
            continue
        spec = FIELDS_BY_PATH[path]
        if path == "symptoms.nyha_class":
            measured.append(f"NYHA class {NYHA_WORDS.get(value, value)}")
        elif spec.kind is Kind.CHOICE:
            measured.append(f"{spec.label}: {dict(spec.choices).get(value, value)}")
        else:
            measured.append(f"{spec.label} {value} {spec.unit}".strip())
    for d in view["derivations"]:
        if d.get("parameter") in (
            "eroa_cm2",
            "regurgitant_volume_ml",
            "regurgitant_fraction_pct",
        ):
            measured.append(f"{d['label']} {d['value']} (computed: {d['formula']})")
    lines.append(
        "Key measurements: "
        + ("; ".join(measured) if measured else "none recorded")
        + "."
    )
    lines.append("Recommendations:")
    if not view["recommendations"]:
        lines.append("- none applies to the recorded data")
    for rec in sorted(view["recommendations"], key=lambda r: r["rank"] or 9):
        source = rec.get("source") or {}
        where = ", ".join(
            x for x in (source.get("guideline"), source.get("section")) if x
        )
        line = f"- {rec.get('title')} ({rec['class_text']}; {where})"
        if rec["assumptions"]:
            line += " [" + "; ".join(rec["assumptions"]) + "]"
        lines.append(line)
    for rec in view["conditional"]:
        lines.append(
            f"- {capfirst(rec['if_text'])}: {rec.get('title')} ({rec['class_text']})"
        )
    for caution in view["cautions"]:
        lines.append(f"- Caution: {caution.get('title')} ({caution['class_text']})")
    if view["missing"]:
        lines.append(
            "Not recorded: " + ", ".join(m["label"] for m in view["missing"]) + "."
        )
    lines.append(f"Rule set: {view['guideline_text']}.")
    lines.append("Decision support only; does not replace clinical judgement.")
    return "\n".join(lines)


# --- the patient page -------------------------------------------------------------------
# Each encounter card and assessment row in words, made here rather than cell by cell in
# the template: the page lists every encounter of the patient, and a template variable
# with its filters costs more than the Python that makes the same text (issue 18).


# What the encounter cards name: the encounter's clinician, and who recorded each
# assessment under which rule-set version besides its result summary; read as values of
# the rows' queries rather than as joined objects (less query building on every patient
# page; issue 18).
ENCOUNTER_CARD_NAMES = {"clinician_username": F("clinician__username")}
ASSESSMENT_ROW_NAMES = {
    "created_by_username": F("created_by__username"),
    "rule_set_title": F("rule_set_version__title"),
    "rule_set_status": F("rule_set_version__status"),
}


def encounter_cards(encounters) -> list[dict[str, Any]]:
    """The patient page's encounter cards, newest assessment first in each; the
    encounters come with ``ENCOUNTER_CARD_NAMES`` and ``page_assessments``
    (``with_result_summary`` and ``ASSESSMENT_ROW_NAMES``)."""
    return [
        {
            "pk": encounter.pk,
            "heading": f"{_minute(encounter.occurred_at)} · "
            f"{encounter.get_setting_display()} · "
            f"{encounter.get_presentation_display()}",
            "clinician": encounter.clinician_username or "",
            "new_assessment_url": reverse("assessment_new", args=[encounter.pk]),
            "assessments": [_assessment_row(a) for a in encounter.page_assessments],
        }
        for encounter in encounters
    ]


def _assessment_row(assessment) -> dict[str, Any]:
    guideline = assessment.result_guideline or {}
    mr_type = value_label("mr_type", assessment.result_mr_type)
    if assessment.result_severity_subgrade:
        subgrade = value_label("severity_subgrade", assessment.result_severity_subgrade)
        mr_type += f" ({subgrade})"
    recorded = _minute(assessment.created_at)
    if assessment.created_by_username:
        recorded += f" by {assessment.created_by_username}"
    return {
        "pk": assessment.pk,
        "url": reverse("assessment_detail", args=[assessment.pk]),
        "status": assessment.status,
        "supersedes_id": assessment.supersedes_id,
        "severity": assessment.result_severity,
        "severity_words": value_label("severity", assessment.result_severity),
        "mr_type_words": mr_type,
        "stage": value_label("stage", assessment.result_stage),
        "rule_set": f"{assessment.rule_set_title or guideline.get('title')}"
        f" · version {guideline.get('version')}",
        "rule_set_inactive": assessment.rule_set_status not in (None, "published"),
        "recorded": recorded,
    }


def _minute(moment) -> str:
    """A stored time as the pages show it: local, to the minute."""
    return localtime(moment).strftime("%Y-%m-%d %H:%M")
