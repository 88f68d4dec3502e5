"""Read a DICOM Structured Report from bytes and walk its content tree.

Nothing touches the disk: the file is parsed from memory. The walk yields every NUM
content item with the concept modifiers that qualify it: its own ``HAS CONCEPT MOD`` /
``HAS ACQ CONTEXT`` children, and those of the containers above it (an echo section's
finding site applies to every measurement it contains; the nearer one wins).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from . import codes
from .codes import Code


class EchoReportError(Exception):
    """The file is refused as a whole (not DICOM, damaged, not an echo report)."""


@dataclass(frozen=True)
class Coded:
    code: Code
    meaning: str

    def as_dict(self) -> dict[str, str]:
        return {"scheme": self.code[0], "code": self.code[1], "meaning": self.meaning}


@dataclass(frozen=True)
class NumItem:
    """One numeric measurement of the report, with what qualifies it."""

    concept: Coded
    value: Decimal | None
    unit: Coded | None
    modifiers: dict[Code, Coded] = field(default_factory=dict)  # name -> value
    flags: frozenset[Code] = frozenset()  # every modifier value, e.g. "Indexed"
    in_patient_characteristics: bool = False


MODIFIER_RELATIONSHIPS = {"HAS CONCEPT MOD", "HAS ACQ CONTEXT"}


class _Truncated(Exception):
    """Raised by ``_StrictReader``; not an EOFError, which pydicom turns into a mere
    warning and a silently shortened dataset."""


class _StrictReader(io.BytesIO):
    """Bytes that refuse a short read: pydicom asks for exactly the length an element
    declares, so a file cut anywhere inside an element or sequence is noticed. Only an
    empty read of the next element header (the clean end of the file) is allowed."""

    def read(self, size: int | None = -1, /) -> bytes:
        start = self.tell()
        data = super().read(size)
        if size is not None and size > 0 and len(data) < size:
            if not data and size == 8:
                return data  # clean end of the file: no next element
            raise _Truncated(
                f"the file ends at byte {start + len(data)}, inside an element that "
                f"declares {size} bytes"
            )
        return data


def read_report(data: bytes) -> Dataset:
    """Parse the bytes as DICOM and check that it is an echo SR; else EchoReportError."""
    if not data:
        raise EchoReportError("The file is empty.")
    if len(data) < 132 or data[128:132] != b"DICM":
        raise EchoReportError(
            "The file is not DICOM (no 'DICM' marker after the 128-byte preamble)."
        )
    try:
        dataset = pydicom.dcmread(_StrictReader(data), force=False)
        # Elements are converted lazily: walk all of them now, so a damaged value
        # fails here and not half-way through the mapping.
        for _ in dataset.iterall():
            pass
    except InvalidDicomError:
        raise EchoReportError(
            "The file is not DICOM (no 'DICM' marker after the 128-byte preamble)."
        ) from None
    except _Truncated as exc:
        raise EchoReportError(f"The DICOM file is truncated: {exc}.") from None
    except Exception as exc:  # pydicom raises many types on damaged input
        raise EchoReportError(
            f"The DICOM file is damaged and cannot be read ({exc})."
        ) from None
    _check_is_echo_report(dataset)
    return dataset


def _check_is_echo_report(dataset: Dataset) -> None:
    sop_class = str(dataset.get("SOPClassUID", "") or "")
    if sop_class not in codes.SR_SOP_CLASSES:
        name = getattr(dataset.get("SOPClassUID"), "name", "") or "unknown"
        raise EchoReportError(
            f"The file is not a structured report: SOP class {sop_class or 'missing'} "
            f"({name}); expected one of "
            + ", ".join(f"{v} ({k})" for k, v in codes.SR_SOP_CLASSES.items())
            + "."
        )
    templates = {
        str(item.get("TemplateIdentifier", ""))
        for item in dataset.get("ContentTemplateSequence", [])
        if str(item.get("MappingResource", "DCMR")) == "DCMR"
    }
    root = _coded(dataset, "ConceptNameCodeSequence")
    is_echo_root = root is not None and root.code in codes.ECHO_ROOT_CONCEPTS
    if templates & codes.ECHO_TEMPLATES or (not templates and is_echo_root):
        if str(dataset.get("ValueType", "")) != "CONTAINER" or not dataset.get(
            "ContentSequence"
        ):
            raise EchoReportError(
                "The echocardiography report has no content tree (no Content "
                "Sequence under its root CONTAINER): the file may be truncated."
            )
        return
    title = f"{root.meaning} ({root.code[0]} {root.code[1]})" if root else "none"
    raise EchoReportError(
        "The structured report is not an echocardiography report: template "
        + (", ".join(f"TID {t}" for t in sorted(templates)) or "not given")
        + f", document title {title}; expected TID 5200 or TID 5300 "
        "(Adult Echocardiography Procedure Report, DCM 125200)."
    )


def _coded(item: Dataset, keyword: str) -> Coded | None:
    sequence = item.get(keyword)
    if not sequence:
        return None
    code = sequence[0]
    return Coded(
        codes.normalize(
            str(code.get("CodingSchemeDesignator", "")), str(code.get("CodeValue", ""))
        ),
        str(code.get("CodeMeaning", "")),
    )


def _numeric(item: Dataset) -> tuple[Decimal | None, Coded | None]:
    measured = item.get("MeasuredValueSequence")
    if not measured:
        return None, None
    value = measured[0].get("NumericValue")
    # Keep the decimal string as written: no float on the way.
    text = getattr(value, "original_string", None) or (
        "" if value is None else str(value)
    )
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        number = None
    if number is not None and not number.is_finite():
        number = None
    return number, _coded(measured[0], "MeasurementUnitsCodeSequence")


def _modifiers(item: Dataset) -> tuple[dict[Code, Coded], set[Code]]:
    found: dict[Code, Coded] = {}
    flags: set[Code] = set()
    for child in item.get("ContentSequence", []):
        if str(child.get("RelationshipType", "")) not in MODIFIER_RELATIONSHIPS:
            continue
        if str(child.get("ValueType", "")) != "CODE":
            continue
        name = _coded(child, "ConceptNameCodeSequence")
        value = _coded(child, "ConceptCodeSequence")
        if name is None or value is None:
            continue
        found.setdefault(name.code, value)
        flags.add(value.code)
    return found, flags


def numeric_items(dataset: Dataset) -> list[NumItem]:
    """Every NUM item of the content tree, with inherited and own modifiers."""
    items: list[NumItem] = []

    def walk(node: Dataset, context: dict[Code, Coded], flags: set, patient: bool):
        for child in node.get("ContentSequence", []):
            value_type = str(child.get("ValueType", ""))
            relationship = str(child.get("RelationshipType", ""))
            if relationship in MODIFIER_RELATIONSHIPS and value_type == "CODE":
                continue  # read by _modifiers of the parent
            own, own_flags = _modifiers(child)
            here = {**context, **own}
            concept = _coded(child, "ConceptNameCodeSequence")
            in_patient = patient or (
                concept is not None and concept.code == codes.PATIENT_CHARACTERISTICS
            )
            if value_type == "NUM" and concept is not None:
                value, unit = _numeric(child)
                items.append(
                    NumItem(
                        concept,
                        value,
                        unit,
                        here,
                        frozenset(flags | own_flags),
                        in_patient,
                    )
                )
            if "ContentSequence" in child:
                walk(child, here, flags | own_flags, in_patient)

    root_modifiers, root_flags = _modifiers(dataset)
    walk(dataset, root_modifiers, root_flags, False)
    return items
