"""Echo structured reports built with pydicom (no public sample echo SR exists).

``echo_sr`` writes a complete Enhanced SR document (patient, study, series, equipment,
SR document general and content modules) so ``dciodvfy`` / ``dsrdump`` accept it.
Measurements are given either pre-coordinated (``num("LN", "80071-4", ...)``) or
post-coordinated (a generic concept with finding site / flow direction / method).
"""

from __future__ import annotations

import io

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"

FINDING_SITE = ("SCT", "363698007", "Finding Site")
METHOD = ("SCT", "370129005", "Measurement Method")
FLOW = ("SCT", "260674002", "Direction of flow")
MITRAL_VALVE = ("SCT", "91134007", "Mitral Valve")
LVOT = ("SCT", "13418002", "Left Ventricle Outflow Tract")
REGURGITANT = ("SCT", "397417004", "Regurgitant Flow")
PISA = ("DCM", "125216", "Proximal Isovelocity Surface Area")
VOLUME_FLOW = ("DCM", "125219", "Doppler Volume Flow")


def code(scheme: str, value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def modifier(name, value, relationship="HAS CONCEPT MOD") -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = "CODE"
    item.ConceptNameCodeSequence = Sequence([code(*name)])
    item.ConceptCodeSequence = Sequence([code(*value)])
    return item


def num(scheme, value, meaning, number, unit, *, modifiers=()) -> Dataset:
    """A NUM content item; ``unit`` is a UCUM code, ``modifiers`` (name, value) pairs."""
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "NUM"
    item.ConceptNameCodeSequence = Sequence([code(scheme, value, meaning)])
    measured = Dataset()
    measured.NumericValue = str(number)
    measured.MeasurementUnitsCodeSequence = Sequence([code("UCUM", unit, unit)])
    item.MeasuredValueSequence = Sequence([measured])
    if modifiers:
        item.ContentSequence = Sequence([modifier(n, v) for n, v in modifiers])
    return item


def container(scheme, value, meaning, children, *, modifiers=()) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "CONTAINER"
    item.ConceptNameCodeSequence = Sequence([code(scheme, value, meaning)])
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = Sequence(
        [modifier(n, v) for n, v in modifiers] + list(children)
    )
    return item


def patient_characteristics(height_cm=None, weight_kg=None, *, height_unit="cm"):
    """TID 5201 Patient Characteristics."""
    children = []
    if height_cm is not None:
        children.append(num("LN", "8302-2", "Patient Height", height_cm, height_unit))
    if weight_kg is not None:
        children.append(num("LN", "29463-7", "Patient Weight", weight_kg, "kg"))
    return container("DCM", "121118", "Patient Characteristics", children)


def mitral_section(children):
    """TID 5202 Echo Section: Mitral Valve (finding site on the container)."""
    return container(
        "DCM", "121070", "Findings", children, modifiers=[(FINDING_SITE, MITRAL_VALVE)]
    )


def echo_sr(
    content,
    *,
    patient_id="MRN-0001",
    patient_name="Patient1^Ada",
    birth_date="19580615",
    sex="F",
    template="5200",
    sop_class=ENHANCED_SR,
    title=("DCM", "125200", "Adult Echocardiography Procedure Report"),
) -> bytes:
    """The bytes of a DICOM Part 10 file holding an echo SR with ``content``."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = ds.ContentDate = "20261201"
    ds.StudyTime = ds.ContentTime = "101500"
    ds.AccessionNumber = "A-17"
    ds.Modality = "SR"
    ds.Manufacturer = "MR-CDS test suite"
    ds.ReferringPhysicianName = ""
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "17"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code(*title)])
    ds.ContinuityOfContent = "SEPARATE"
    if template:
        tid = Dataset()
        tid.MappingResource = "DCMR"
        tid.TemplateIdentifier = template
        ds.ContentTemplateSequence = Sequence([tid])
    ds.ContentSequence = Sequence(list(content))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
