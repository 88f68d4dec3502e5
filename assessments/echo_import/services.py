"""Map an echo SR to a partial assessment input (CONTRACT section 6, issue 17).

``echo_import`` is the one service behind the API, the page and ``import_echo_sr``:

- every NUM item is mapped by its code (``codes.PRE_COORDINATED``), or by its generic
  concept plus finding site and flow direction (``codes.POST_COORDINATED``); the
  patient's height and weight come from TID 5201 Patient Characteristics;
- units are converted by the explicit factors of ``codes.UNIT_FACTORS`` into the unit the
  vocabulary declares for the field, and the value is checked with the same
  ``parse_value`` the API uses: a value outside the field's range is a warning, not an
  input;
- nothing is guessed: a measurement without a mapping goes to ``unmapped``; two
  different values for one field (two methods, or repeated measurements) go to
  ``conflicts`` with both, and the field is left out of ``input`` for the clinician to
  choose; the same value reported twice is one value with both sources;
- the patient identity of the SR is compared with the record when a patient is given;
  a mismatch is refused (``PatientMismatch``) unless confirmed.

Nothing is stored here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from guidelines.services import InputError, parse_value
from guidelines.vocabulary import FIELDS_BY_PATH, InputField

from . import codes
from .sr import EchoReportError, NumItem, numeric_items, read_report

__all__ = ["EchoReportError", "PatientMismatch", "echo_import"]


class PatientMismatch(EchoReportError):
    """The SR names another patient than the record; ``mismatches`` says how."""

    def __init__(self, mismatches: list[str]):
        self.mismatches = mismatches
        super().__init__(
            "The report's patient does not match the record: "
            + "; ".join(mismatches)
            + ". Check the file; import anyway only if you are sure "
            "(confirm_patient_mismatch)."
        )


@dataclass(frozen=True)
class Reading:
    """One value for one field, with where it came from."""

    field: InputField
    value: Decimal | int
    source: dict[str, Any]


def _source(item: NumItem, method: str) -> dict[str, Any]:
    source: dict[str, Any] = {"code": item.concept.as_dict()}
    if method:
        source["method"] = method
    for name, label in codes.MODIFIER_NAMES.items():
        if name in item.modifiers and label != "method":
            source[label.replace(" ", "_")] = item.modifiers[name].meaning
    source["value"] = _text(item.value)
    source["unit"] = item.unit.code[1] if item.unit else ""
    return source


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = value.normalize()
        return format(value, "f")
    return str(value)


def _mapping_of(item: NumItem) -> tuple[str, str, str] | None:
    """(field path, method, caveat) of a measurement, or None when it has no mapping."""
    table = codes.PATIENT_CODES if item.in_patient_characteristics else {}
    mapping = table.get(item.concept.code) or codes.PRE_COORDINATED.get(
        item.concept.code
    )
    method_modifier = item.modifiers.get(codes.MEASUREMENT_METHOD)
    modifier_method = method_modifier.meaning if method_modifier else ""
    if mapping is not None:
        return mapping.field, mapping.method or modifier_method, mapping.warning
    site = item.modifiers.get(codes.FINDING_SITE)
    flow = item.modifiers.get(codes.DIRECTION_OF_FLOW)
    if site is None:
        return None
    if codes.INDEXED in item.flags:
        path = codes.POST_COORDINATED_INDEXED.get(item.concept.code)
        return (path, modifier_method, "") if path else None
    key = (item.concept.code, site.code, flow.code if flow else None)
    path = codes.POST_COORDINATED.get(key)
    return (path, modifier_method, "") if path else None


def _convert(item: NumItem, spec: InputField) -> Decimal:
    """The value in the field's unit, or ValueError naming both units."""
    target = codes.UCUM_OF_CONTRACT_UNIT.get(spec.unit, spec.unit)
    if item.unit is None:
        raise ValueError(f"no unit given (expected {target})")
    scheme, unit = item.unit.code
    unit = codes.UCUM_SYNONYMS.get(unit, unit)
    if scheme != codes.UCUM:
        raise ValueError(f"unit {scheme} {unit} is not a UCUM unit")
    if unit == target:
        return item.value
    factor = codes.UNIT_FACTORS.get((unit, target))
    if factor is None:
        raise ValueError(f"unit {unit} cannot be converted to {target}")
    return (item.value * factor).normalize()


def _unmapped(item: NumItem, reason: str) -> dict[str, Any]:
    return {
        "code": item.concept.as_dict(),
        "value": _text(item.value),
        "unit": item.unit.code[1] if item.unit else "",
        "modifiers": {
            codes.MODIFIER_NAMES.get(name, f"{name[0]} {name[1]}"): value.meaning
            for name, value in item.modifiers.items()
        },
        "reason": reason,
    }


def _readings(items: list[NumItem], warnings: list[str], unmapped: list[dict]):
    readings: list[Reading] = []
    for item in items:
        mapping = _mapping_of(item)
        if mapping is None:
            unmapped.append(_unmapped(item, "no mapping for this code"))
            continue
        path, method, caveat = mapping
        spec = FIELDS_BY_PATH[path]
        if item.value is None:
            unmapped.append(_unmapped(item, f"no numeric value (for {path})"))
            continue
        label = f"{item.concept.meaning} ({item.concept.code[1]})"
        try:
            converted = _convert(item, spec)
        except ValueError as exc:
            unmapped.append(_unmapped(item, f"{exc} (for {path})"))
            continue
        try:
            value = parse_value(spec, converted)
        except InputError as exc:
            warnings.append(
                f"{path}: {label} = {_text(item.value)} "
                f"{item.unit.code[1] if item.unit else ''} not imported: "
                f"{exc.errors[0].message}."
            )
            continue
        if caveat:
            warnings.append(f"{path}: {caveat}")
        readings.append(Reading(spec, value, _source(item, method)))
    return readings


def _set(data: dict, path: str, value: Any) -> None:
    if "." in path:
        section, name = path.split(".", 1)
        data.setdefault(section, {})[name] = value
    else:
        data[path] = value


def _identity_mismatches(dataset, patient) -> tuple[list[str], list[str]]:
    """(mismatches, unchecked) between the SR's patient module and the record."""
    mismatches, unchecked = [], []
    sr_id = str(dataset.get("PatientID", "") or "").strip()
    if not sr_id:
        unchecked.append("Patient ID")
    elif sr_id != patient.mrn:
        mismatches.append(f"Patient ID {sr_id!r} is not the MRN {patient.mrn!r}")
    name = dataset.get("PatientName")
    if not name or not str(name).strip("^ "):
        unchecked.append("Patient's Name")
    else:
        family = (name.family_name or "").strip().casefold()
        given = (name.given_name or "").strip().casefold()
        if family != patient.family_name.strip().casefold() or (
            given and given != patient.given_name.strip().casefold()
        ):
            mismatches.append(
                f"name {str(name)!r} is not {patient.family_name}^{patient.given_name}"
            )
    birth = str(dataset.get("PatientBirthDate", "") or "").strip()
    if not birth:
        unchecked.append("Patient's Birth Date")
    elif birth != patient.birth_date.strftime("%Y%m%d"):
        mismatches.append(
            f"birth date {birth} is not {patient.birth_date.strftime('%Y%m%d')}"
        )
    sex = str(dataset.get("PatientSex", "") or "").strip().upper()
    record_sex = {"female": "F", "male": "M"}.get(patient.sex, "")
    if not sex:
        unchecked.append("Patient's Sex")
    elif sex != record_sex:
        mismatches.append(f"sex {sex} is not {record_sex}")
    return mismatches, unchecked


def echo_import(
    *, data: bytes, patient=None, confirm_patient_mismatch: bool = False
) -> dict[str, Any]:
    """The partial assessment input read from one echo SR (CONTRACT section 6).

    Raises ``EchoReportError`` (the file as a whole is refused) or ``PatientMismatch``.
    """
    dataset = read_report(data)
    warnings: list[str] = []
    patient_check = "not_checked"
    if patient is not None:
        mismatches, unchecked = _identity_mismatches(dataset, patient)
        if mismatches and not confirm_patient_mismatch:
            raise PatientMismatch(mismatches)
        patient_check = "mismatch_confirmed" if mismatches else "matched"
        if mismatches:
            warnings.append(
                "Imported although the report's patient does not match the record "
                "(confirmed): " + "; ".join(mismatches) + "."
            )
        if unchecked:
            warnings.append(
                "Not in the report, so not compared with the record: "
                + ", ".join(unchecked)
                + "."
            )
    else:
        warnings.append(
            "No patient record given: the report's patient was not checked."
        )
    unmapped: list[dict] = []
    readings = _readings(numeric_items(dataset), warnings, unmapped)
    by_field: dict[str, list[Reading]] = defaultdict(list)
    for reading in readings:
        by_field[reading.field.path].append(reading)
    record_body = patient.body_values() if patient is not None else {}
    result_input: dict[str, Any] = {}
    sources: dict[str, list[dict]] = {}
    conflicts: list[dict] = []
    for path, field_readings in by_field.items():
        spec = field_readings[0].field
        values = {r.value for r in field_readings}
        if len(values) > 1:
            conflicts.append(
                {
                    "field": path,
                    "column": spec.column,
                    "unit": spec.unit,
                    "values": [
                        {"value": _text(r.value), "source": r.source}
                        for r in field_readings
                    ],
                }
            )
            continue
        value = field_readings[0].value
        if spec.section == "patient" and spec.name in record_body:
            recorded = record_body[spec.name]
            if recorded != value:
                warnings.append(
                    f"{path}: the report says {_text(value)} {spec.unit}, the patient "
                    f"record {_text(recorded)} {spec.unit}; the record is kept."
                )
                continue
        _set(result_input, path, float(value) if isinstance(value, Decimal) else value)
        sources[path] = [r.source for r in field_readings]
    return {
        "input": result_input,
        "unmapped": unmapped,
        "conflicts": conflicts,
        "warnings": warnings,
        "sources": sources,
        "patient_check": patient_check,
        "report": _report_summary(dataset),
    }


def _report_summary(dataset) -> dict[str, str]:
    """What identifies the study (no patient data beyond what the caller may see)."""
    template = ""
    for item in dataset.get("ContentTemplateSequence", []):
        template = f"TID {item.get('TemplateIdentifier', '')}"
    return {
        "sop_class": codes.SR_SOP_CLASSES.get(str(dataset.SOPClassUID), ""),
        "template": template,
        "study_date": str(dataset.get("StudyDate", "") or ""),
        "sop_instance_uid": str(dataset.get("SOPInstanceUID", "") or ""),
    }
