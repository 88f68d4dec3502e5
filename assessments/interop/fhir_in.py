"""FHIR R4 in: a Bundle of Patient, Observations and Conditions -> contract input.

The Bundle is parsed with true R4 models (``fhir.resources.R4B``, whose resources used
here are those of R4); a malformed one raises ``FhirBundleError`` naming the entry and
element. The mapping only translates codes and units (``codes.py``): the contract input
it returns goes through the one input validation (``guidelines.services.input_parse``,
via the evaluation and creation services) like any other input; its errors are reported
against the entry that carried the value (``issues_for_input_error``).

Rules (docs/CODES.md): every LOINC synonym of a field is accepted; when several codes
(methods) give a field, the preferred one is used and the others are reported beside it,
never averaged; of repeated values of one code, the latest is used; units are converted
with the exact factors of ``codes.UNIT_FACTORS`` and an unknown unit is refused naming
the Observation; codes that map to nothing are listed, never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError

from guidelines.services import InputError
from guidelines.vocabulary import DECIMAL_PLACES, FIELDS_BY_PATH, Kind

from ..models.records import age_in_years
from . import codes

IGNORED_STATUSES = {"entered-in-error", "cancelled", "registered"}


@dataclass(frozen=True)
class Issue:
    """One problem of the Bundle: FHIRPath-like ``expression`` and what is wrong."""

    expression: str
    diagnostics: str
    severity: str = "error"
    code: str = "invalid"


class FhirBundleError(Exception):
    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))


@dataclass
class Measurement:
    """One value read from one Observation (or one of its components)."""

    path: str
    value: Any
    unit: str  # the contract unit after conversion ('' for non-numbers)
    given: str  # as sent, e.g. "7.2 mm"
    system: str
    code: str
    display: str
    method: str
    caution: str
    preference: int
    entry: int
    expression: (
        str  # where in the Bundle, e.g. "Bundle.entry[3].resource.valueQuantity"
    )
    effective: str  # date or date-time of the measurement, "" when not given
    resource_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, Decimal):
            value = float(value) if value != value.to_integral_value() else int(value)
        return {
            "parameter": self.path,
            "value": value,
            "unit": self.unit,
            "given": self.given,
            "code": f"{self.system}|{self.code}",
            "display": self.display,
            "method": self.method,
            "effective": self.effective,
            "entry": self.entry,
        }


@dataclass
class FhirMapping:
    """The contract input mapped from a Bundle, with where each value came from."""

    data: dict[str, Any]
    used: dict[str, Measurement] = field(default_factory=dict)  # path -> the value used
    alternatives: list[Measurement] = field(default_factory=list)  # reported, not used
    unknown: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    patient_entry: int | None = None
    patient_id: str = ""
    patient_full_url: str = ""
    birth_date: dt.date | None = None
    sources: dict[str, str] = field(default_factory=dict)  # path -> Bundle expression

    def report(self) -> dict[str, Any]:
        """What the mapping did, for the response (JSON)."""
        return {
            "used": [m.as_dict() for m in self.used.values()],
            "alternatives": [m.as_dict() for m in self.alternatives],
            "unknown_codes": self.unknown,
            "ignored": self.ignored,
            "warnings": self.warnings,
        }


def _expr(loc: tuple) -> str:
    text = "Bundle"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def bundle_parse(data: Any):
    """The R4 Bundle model of ``data``, or ``FhirBundleError`` naming each bad element."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirBundleError(
            [Issue("Bundle", "the body must be a FHIR Bundle (resourceType 'Bundle')")]
        )
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:50]:
            loc = tuple(p for p in error["loc"] if p != "__root__")
            issues.append(Issue(_expr(loc), error["msg"], code="structure"))
        raise FhirBundleError(issues) from None
    except (ValueError, TypeError, KeyError) as exc:  # model construction errors
        raise FhirBundleError(
            [Issue("Bundle", str(exc)[:300], code="structure")]
        ) from None


def _date_text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


def bundle_map(data: Any, *, on: dt.date) -> FhirMapping:
    """Map a FHIR R4 Bundle to contract input (CONTRACT section 1); the patient's age is
    taken on the day ``on``. Raises ``FhirBundleError`` for a malformed Bundle."""
    bundle = bundle_parse(data)
    mapping = FhirMapping(data={})
    issues: list[Issue] = []
    candidates: dict[str, list[Measurement]] = {}
    observations, conditions = [], []
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        where = f"Bundle.entry[{index}].resource"
        if resource is None:
            issues.append(Issue(f"Bundle.entry[{index}]", "entry has no resource"))
            continue
        kind = resource.get_resource_type()
        if kind == "Patient":
            if mapping.patient_entry is not None:
                issues.append(
                    Issue(
                        where, "a second Patient: the Bundle must be about one patient"
                    )
                )
                continue
            mapping.patient_entry = index
            mapping.patient_id = resource.id or ""
            mapping.patient_full_url = entry.fullUrl or ""
            _patient(mapping, resource, where, on, issues)
        elif kind == "Observation":
            observations.append((index, resource, where))
        elif kind == "Condition":
            conditions.append((index, resource, where))
        else:
            mapping.ignored.append(
                {"entry": index, "resourceType": kind, "reason": "not read by MR-CDS"}
            )
    for index, resource, where in observations:
        if not _same_patient(mapping, resource.subject, where, issues):
            continue
        if resource.status in IGNORED_STATUSES:
            mapping.ignored.append(
                {
                    "entry": index,
                    "resourceType": "Observation",
                    "reason": f"status {resource.status}",
                }
            )
            continue
        effective = _date_text(
            resource.effectiveDateTime
            or (resource.effectivePeriod.start if resource.effectivePeriod else None)
            or resource.effectiveInstant
            or resource.issued
        )
        _observation(mapping, candidates, resource, index, where, effective, issues)
        for number, component in enumerate(resource.component or []):
            _observation(
                mapping,
                candidates,
                component,
                index,
                f"{where}.component[{number}]",
                effective,
                issues,
            )
    for index, resource, where in conditions:
        if not _same_patient(mapping, resource.subject, where, issues):
            continue
        _condition(mapping, resource, index, where)
    if issues:
        raise FhirBundleError(issues)
    _choose(mapping, candidates)
    return mapping


def _set(mapping: FhirMapping, path: str, value, expression: str) -> None:
    if "." in path:
        section, name = path.split(".", 1)
        mapping.data.setdefault(section, {})[name] = value
    else:
        mapping.data[path] = value
    mapping.sources[path] = expression


def _patient(mapping, patient, where, on, issues) -> None:
    if patient.gender in ("female", "male"):
        _set(mapping, "patient.sex", patient.gender, f"{where}.gender")
    elif patient.gender:
        issues.append(
            Issue(
                f"{where}.gender",
                f"'{patient.gender}' cannot be graded: "
                "MR-CDS's thresholds are given for female and male",
            )
        )
    birth = patient.birthDate
    if birth is not None:
        if not isinstance(birth, dt.date):
            issues.append(
                Issue(
                    f"{where}.birthDate",
                    "a full date (YYYY-MM-DD) is needed to compute the age",
                )
            )
        else:
            mapping.birth_date = birth
            _set(
                mapping,
                "patient.age_years",
                age_in_years(birth, on),
                f"{where}.birthDate",
            )


def _same_patient(mapping, subject, where, issues) -> bool:
    """A resource about another patient than the Bundle's Patient is refused."""
    reference = subject.reference if subject is not None else None
    if not reference or mapping.patient_entry is None:
        return True
    ours = {mapping.patient_full_url}
    if mapping.patient_id:
        ours.add(f"Patient/{mapping.patient_id}")
    if reference in ours or (
        mapping.patient_id and reference.endswith(f"/Patient/{mapping.patient_id}")
    ):
        return True
    issues.append(
        Issue(f"{where}.subject", f"refers to {reference}, not to the Bundle's Patient")
    )
    return False


def _lookup(concept) -> tuple[codes.ObservationCode | None, list]:
    found = None
    for coding in _codings(concept):
        if coding.system == codes.LOINC:
            found = found or codes.CODES_BY_LOINC.get(coding.code)
        elif coding.system == codes.SNOMED:
            found = found or codes.CODES_BY_SNOMED.get(coding.code)
        elif (
            coding.system == codes.INPUT_FIELD_SYSTEM and coding.code in FIELDS_BY_PATH
        ):
            spec = FIELDS_BY_PATH[coding.code]
            found = found or codes.ObservationCode(coding.code, spec.label, spec.path)
    return found, _codings(concept)


def _observation(mapping, candidates, obs, index, where, effective, issues) -> None:
    found, codings = _lookup(obs.code)
    if found is None:
        if codings or obs.code is not None:
            mapping.unknown.append(
                {
                    "entry": index,
                    "element": f"{where}.code",
                    "codes": [f"{c.system}|{c.code}" for c in codings],
                    "text": obs.code.text if obs.code is not None else None,
                }
            )
        return
    spec = FIELDS_BY_PATH[found.path]
    system = next((c.system for c in codings if c.code == found.code), "")
    base = dict(
        path=spec.path,
        system=system,
        code=found.code,
        display=found.display,
        method=found.method,
        caution=found.caution,
        entry=index,
        effective=effective,
        preference=codes.preference(found) if found in codes.ALL_CODES else 0,
        resource_id=getattr(obs, "id", None) or "",
    )
    if spec.kind in (Kind.DECIMAL, Kind.INTEGER):
        quantity = obs.valueQuantity
        if quantity is None or quantity.value is None:
            issues.append(
                Issue(
                    f"{where}.valueQuantity",
                    f"{spec.label} needs a valueQuantity with a value and a UCUM unit",
                )
            )
            return
        value = _converted(spec, quantity, f"{where}.valueQuantity", issues, mapping)
        if value is None:
            return
        given = f"{quantity.value} {quantity.code or quantity.unit or ''}".strip()
        measurement = Measurement(
            value=value,
            unit=spec.unit,
            given=given,
            expression=f"{where}.valueQuantity",
            **base,
        )
    elif spec.kind is Kind.BOOLEAN:
        if obs.valueBoolean is None:
            issues.append(
                Issue(f"{where}.valueBoolean", f"{spec.label} needs a valueBoolean")
            )
            return
        measurement = Measurement(
            value=obs.valueBoolean,
            unit="",
            given=str(obs.valueBoolean),
            expression=f"{where}.valueBoolean",
            **base,
        )
    else:  # a choice: the contract value as a code of the input-field CodeSystem, or text
        concept = obs.valueCodeableConcept
        value = None
        if concept is not None:
            value = next((c.code for c in _codings(concept)), None) or concept.text
        value = value if value is not None else obs.valueString
        if value is None:
            issues.append(
                Issue(
                    f"{where}.valueCodeableConcept",
                    f"{spec.label} needs a value: {spec.range_text}",
                )
            )
            return
        measurement = Measurement(
            value=value,
            unit="",
            given=str(value),
            expression=f"{where}.valueCodeableConcept",
            **base,
        )
    candidates.setdefault(spec.path, []).append(measurement)


def _converted(spec, quantity, where, issues, mapping) -> Decimal | None:
    target = codes.CONTRACT_UCUM.get(spec.unit, spec.unit)
    if quantity.system not in (None, codes.UCUM):
        issues.append(
            Issue(
                f"{where}.system",
                f"units must be UCUM ({codes.UCUM}), got {quantity.system}",
            )
        )
        return None
    unit = quantity.code or quantity.unit
    unitless = unit in (None, "", "1") or (unit.startswith("{") and unit.endswith("}"))
    if (
        not spec.unit and unitless
    ):  # a count or a class (NYHA): UCUM "1" or {annotation}
        return Decimal(str(quantity.value))
    factors = codes.UNIT_FACTORS.get(target, {})
    if unit not in factors:
        hint = codes.NOT_UCUM.get(unit or "")
        allowed = ", ".join(sorted(factors)) or target
        message = (
            f"unit {unit!r} is not accepted for {spec.label}; use one of {allowed}"
        )
        if hint:
            message += f" ({unit!r} is not UCUM; UCUM writes {hint!r})"
        issues.append(Issue(f"{where}.code", message))
        return None
    value = Decimal(str(quantity.value)) * factors[unit]
    if value.as_tuple().exponent < -DECIMAL_PLACES and unit != target:
        exact = value
        value = value.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), ROUND_HALF_EVEN)
        mapping.warnings.append(
            f"{spec.path}: {quantity.value} {unit} is {exact.normalize()} {spec.unit}, "
            f"given to {DECIMAL_PLACES} decimal places as {value}"
        )
    return value.normalize() if value == value.to_integral_value() else value


def _condition(mapping, condition, index, where) -> None:
    status = condition.verificationStatus
    if status is not None and any(
        c.code in ("refuted", "entered-in-error") for c in _codings(status)
    ):
        mapping.ignored.append(
            {
                "entry": index,
                "resourceType": "Condition",
                "reason": "refuted or entered in error",
            }
        )
        return
    clinical = condition.clinicalStatus
    if clinical is not None and any(
        c.code in ("inactive", "resolved", "remission") for c in _codings(clinical)
    ):
        # Prior conditions still count as history (e.g. a prior myocardial infarction).
        pass
    known = False
    for coding in _codings(condition.code):
        if coding.system == codes.SNOMED and coding.code in codes.CONDITION_CODES:
            path, value, _ = codes.CONDITION_CODES[coding.code]
            known = True
            if path:
                _set(mapping, path, value, f"{where}.code")
    if not known:
        mapping.unknown.append(
            {
                "entry": index,
                "element": f"{where}.code",
                "codes": [f"{c.system}|{c.code}" for c in _codings(condition.code)],
                "text": condition.code.text if condition.code is not None else None,
            }
        )


def _choose(mapping: FhirMapping, candidates: dict[str, list[Measurement]]) -> None:
    """Per field: the preferred code, latest value; every other value is reported."""
    for path, found in candidates.items():
        ranked = sorted(found, key=lambda m: (m.preference, _negated(m.effective)))
        chosen = ranked[0]
        mapping.used[path] = chosen
        _set(mapping, path, chosen.value, chosen.expression)
        if chosen.caution:
            mapping.warnings.append(f"{path}: {chosen.caution}")
        for other in ranked[1:]:
            mapping.alternatives.append(other)
            if other.method != chosen.method and other.value != chosen.value:
                mapping.warnings.append(
                    f"{path}: {_shown(chosen)} used; {_shown(other)} also recorded "
                    "(not averaged)"
                )


def _shown(m: Measurement) -> str:
    method = f" ({m.method})" if m.method else ""
    when = f" on {m.effective[:10]}" if m.effective else ""
    return f"{m.value} {m.unit}{method}{when}".replace("  ", " ")


def _negated(effective: str) -> tuple:
    """Sort key putting the latest date first (ISO text sorts chronologically)."""
    return tuple(-ord(ch) for ch in effective) if effective else (1,)


def issues_for_input_error(exc: InputError, mapping: FhirMapping) -> list[Issue]:
    """Contract field errors (``input_parse``) re-stated against the Bundle entries."""
    issues = []
    for error in exc.errors:
        expression = mapping.sources.get(error.field, "Bundle")
        issues.append(Issue(expression, f"{error.field}: {error.message}"))
    return issues
