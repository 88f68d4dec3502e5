"""The DICOM SR / LOINC / SNOMED codes of the echo measurements, by input field.

Read from ``CODES.md`` (section 3.2, the mapping table of the interop work: DICOM PS3.16
CID 12300 Core Echo Measurements, the TID 5200 context groups and CID 12337). Each row
points at a field path of ``guidelines.vocabulary.INPUT_FIELDS``; the field's unit and
range come from there, never from here.

Two forms of the same measurement reach us:

- **pre-coordinated**: one code says everything ("Mitral valve EROA (PISA)", LOINC
  80071-4): ``PRE_COORDINATED``;
- **post-coordinated** (TID 5200): a generic concept ("Cardiovascular Orifice Area")
  made specific by concept modifiers: finding site, flow direction, measurement method:
  ``POST_COORDINATED``. Finding site and flow direction decide the field; the method is
  recorded as the value's source (two methods giving two values are a conflict).

A code missing here is not guessed: the measurement is listed as unmapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydicom.sr._snomed_dict import mapping as _snomed_mapping  # SRT -> SCT (PS3.16)

# Coding schemes as written in (0008,0102) Coding Scheme Designator.
LN, SCT, DCM, UCUM = "LN", "SCT", "DCM", "UCUM"

Code = tuple[str, str]  # (scheme designator, code value)


def normalize(scheme: str, value: str) -> Code:
    """Legacy SNOMED RT ids (``SRT``, e.g. ``G-C0E3``) -> their SNOMED CT id (``SCT``)."""
    scheme, value = scheme.strip(), value.strip()
    if scheme in ("SRT", "SNM3") and value in _snomed_mapping["SRT"]:
        return SCT, _snomed_mapping["SRT"][value]
    return scheme, value


# --- the SR document ------------------------------------------------------------------
# SOP classes that can carry a TID 5200 / 5300 report (PS3.4 B.5).
SR_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
    "1.2.840.10008.5.1.4.1.1.88.35": "Extensible SR",
}
ECHO_TEMPLATES = {"5200", "5300"}  # TID 5200 Echocardiography Procedure Report, 5300
ECHO_ROOT_CONCEPTS = {  # CID 12245-style document titles of echo reports
    (DCM, "125200"): "Adult Echocardiography Procedure Report",
    (DCM, "125197"): "Adult Congenital Cardiac Ultrasound Report",
}
PATIENT_CHARACTERISTICS = (DCM, "121118")  # TID 5201 container

# --- concept modifier names -----------------------------------------------------------
FINDING_SITE = (SCT, "363698007")
MEASUREMENT_METHOD = (SCT, "370129005")
DIRECTION_OF_FLOW = (SCT, "260674002")
IMAGE_MODE = (SCT, "399264008")
DERIVATION = (DCM, "121401")
SELECTION_STATUS = (DCM, "121404")
MODIFIER_NAMES = {
    FINDING_SITE: "finding site",
    MEASUREMENT_METHOD: "method",
    DIRECTION_OF_FLOW: "flow direction",
    IMAGE_MODE: "image mode",
    DERIVATION: "derivation",
    SELECTION_STATUS: "selection",
}
# A modifier value that changes the quantity itself (mL -> mL/m2).
INDEXED = (DCM, "125313")

# --- anatomic sites and flow directions -----------------------------------------------
MITRAL_VALVE = (SCT, "91134007")
LVOT = (SCT, "13418002")
REGURGITANT_FLOW = (SCT, "397417004")
ANTEGRADE_FLOW = (SCT, "263677008")


@dataclass(frozen=True)
class Mapping:
    """Where one coded measurement goes: the input field and how it was measured."""

    field: str  # dotted path in guidelines.vocabulary.INPUT_FIELDS
    method: str = ""  # method named by the code itself (pre-coordinated)
    warning: str = ""  # a caveat the clinician should read with the value


PRE_COORDINATED: dict[Code, Mapping] = {
    # MR quantitation
    (LN, "80071-4"): Mapping("echo.eroa_cm2", "PISA"),
    (LN, "29448-8"): Mapping("echo.eroa_cm2"),
    (LN, "77914-0"): Mapping("echo.eroa_cm2", "volumetric"),
    (LN, "80064-9"): Mapping("echo.regurgitant_volume_ml", "PISA"),
    (LN, "80063-1"): Mapping("echo.regurgitant_volume_ml", "continuity VTI"),
    (LN, "80056-5"): Mapping("echo.regurgitant_fraction_pct", "PISA"),
    (LN, "80055-7"): Mapping("echo.regurgitant_fraction_pct", "continuity VTI"),
    (LN, "80061-5"): Mapping("echo.vena_contracta_cm"),
    (LN, "77913-2"): Mapping("echo.vena_contracta_cm"),
    (LN, "80059-9"): Mapping("echo.pisa_radius_cm"),
    (LN, "80060-7"): Mapping("echo.aliasing_velocity_cm_s"),
    (LN, "80062-3"): Mapping("echo.mr_peak_velocity_cm_s"),
    (LN, "80028-4"): Mapping("echo.lvot_diameter_cm", "2D"),
    (LN, "80030-0"): Mapping("echo.lvot_vti_cm"),
    (LN, "93632-8"): Mapping("echo.lvot_vti_cm"),
    # left ventricle
    (LN, "18043-0"): Mapping("echo.lvef_pct"),
    (SCT, "250908004"): Mapping("echo.lvef_pct"),
    (LN, "10230-1"): Mapping("echo.lvef_pct"),
    (LN, "79991-6"): Mapping("echo.lvef_pct", "biplane method of disks"),
    (LN, "79990-8"): Mapping("echo.lvef_pct", "3D"),
    (LN, "79992-4"): Mapping("echo.lvef_pct", "single plane (A4C)"),
    (LN, "79993-2"): Mapping("echo.lvef_pct", "single plane (A2C)"),
    **{
        (LN, code): Mapping(
            "echo.lvef_pct",
            "Teichholz",
            "LVEF by Teichholz (M-mode) is a poor estimate in MR; prefer biplane.",
        )
        for code in ("77891-0", "18049-7")
    },
    (LN, "29438-9"): Mapping("echo.lvesd_mm"),
    (LN, "80011-0"): Mapping("echo.lvesd_mm", "2D"),
    (LN, "80012-8"): Mapping("echo.lvesd_mm", "M-mode"),
    (LN, "29436-3"): Mapping("echo.lvedd_mm"),
    (LN, "80007-8"): Mapping("echo.lvedd_mm", "2D"),
    (LN, "80008-6"): Mapping("echo.lvedd_mm", "M-mode"),
    # left atrium
    (LN, "79984-1"): Mapping("echo.la_volume_index_ml_m2", "biplane method of disks"),
    (LN, "79982-5"): Mapping("echo.la_volume_index_ml_m2", "biplane area-length"),
    (LN, "79975-9"): Mapping("echo.la_diameter_mm", "2D"),
    (LN, "79977-5"): Mapping("echo.la_diameter_mm", "M-mode"),
    (LN, "29469-4"): Mapping("echo.la_diameter_mm"),
    # pressures
    **{
        code: Mapping(
            "echo.pasp_mmhg",
            "RVSP",
            "The report gives RV systolic pressure: it equals PASP only without "
            "RVOT or pulmonic obstruction.",
        )
        for code in ((LN, "82341-9"), (SCT, "399023006"))
    },
    (SCT, "250768007"): Mapping("echo.pasp_mmhg"),
    # mitral inflow, annuli, stenosis
    (LN, "80070-6"): Mapping("echo.mitral_e_wave_m_s"),
    (LN, "18037-2"): Mapping("echo.mitral_e_wave_m_s"),
    (LN, "80052-4"): Mapping("echo.mitral_annulus_ap_mm", "PLAX"),
    (LN, "18017-4"): Mapping("echo.mitral_annulus_ap_mm"),
    (LN, "80050-8"): Mapping("echo.mitral_annulus_ap_mm", "A2C"),
    (LN, "80051-6"): Mapping("echo.mitral_annulus_ap_mm", "A4C"),
    (LN, "80091-2"): Mapping("echo.tricuspid_annulus_mm"),
    (LN, "18023-2"): Mapping("echo.tricuspid_annulus_mm"),
    (LN, "80068-0"): Mapping("echo.mitral_valve_area_cm2", "planimetry"),
    (LN, "80069-8"): Mapping("echo.mitral_valve_area_cm2", "pressure half-time"),
    (LN, "80067-2"): Mapping("echo.mitral_valve_area_cm2", "PISA"),
    (LN, "80073-0"): Mapping("echo.mitral_mean_gradient_mmhg"),
}

# TID 5201 Patient Characteristics.
PATIENT_CODES: dict[Code, Mapping] = {
    (LN, "8302-2"): Mapping("patient.height_cm"),
    (LN, "29463-7"): Mapping("patient.weight_kg"),
}

# Post-coordinated: (concept, finding site, flow direction) -> field. ``None`` as flow
# direction means "not given"; a measurement whose modifiers match no row is unmapped.
ORIFICE_AREA = (SCT, "399367004")
ORIFICE_DIAMETER = (SCT, "399027007")
STROKE_VOLUME = (SCT, "90096001")
REGURGITANT_FRACTION = (SCT, "399301000")
PEAK_VELOCITY = (LN, "20355-4")
PEAK_SYSTOLIC_VELOCITY = (LN, "11726-7")
VTI = (LN, "20354-7")
FLOW_RADIUS = (LN, "59102-4")
PISA_RADIUS = (DCM, "125331")
ALIAS_VELOCITY = (LN, "59130-5")
VENA_CONTRACTA_WIDTH = (DCM, "125334")
E_WAVE_PEAK_VELOCITY = (LN, "59080-2")
MEAN_GRADIENT = (LN, "20256-4")
LA_SYSTOLIC_VOLUME = (SCT, "399235004")

POST_COORDINATED: dict[tuple[Code, Code, Code | None], str] = {
    (ORIFICE_AREA, MITRAL_VALVE, REGURGITANT_FLOW): "echo.eroa_cm2",
    (ORIFICE_AREA, MITRAL_VALVE, ANTEGRADE_FLOW): "echo.mitral_valve_area_cm2",
    (STROKE_VOLUME, MITRAL_VALVE, REGURGITANT_FLOW): "echo.regurgitant_volume_ml",
    (
        REGURGITANT_FRACTION,
        MITRAL_VALVE,
        REGURGITANT_FLOW,
    ): "echo.regurgitant_fraction_pct",
    (REGURGITANT_FRACTION, MITRAL_VALVE, None): "echo.regurgitant_fraction_pct",
    (ORIFICE_DIAMETER, MITRAL_VALVE, REGURGITANT_FLOW): "echo.vena_contracta_cm",
    (VENA_CONTRACTA_WIDTH, MITRAL_VALVE, REGURGITANT_FLOW): "echo.vena_contracta_cm",
    (VENA_CONTRACTA_WIDTH, MITRAL_VALVE, None): "echo.vena_contracta_cm",
    (FLOW_RADIUS, MITRAL_VALVE, REGURGITANT_FLOW): "echo.pisa_radius_cm",
    (PISA_RADIUS, MITRAL_VALVE, REGURGITANT_FLOW): "echo.pisa_radius_cm",
    (PISA_RADIUS, MITRAL_VALVE, None): "echo.pisa_radius_cm",
    (ALIAS_VELOCITY, MITRAL_VALVE, REGURGITANT_FLOW): "echo.aliasing_velocity_cm_s",
    (PEAK_VELOCITY, MITRAL_VALVE, REGURGITANT_FLOW): "echo.mr_peak_velocity_cm_s",
    (
        PEAK_SYSTOLIC_VELOCITY,
        MITRAL_VALVE,
        REGURGITANT_FLOW,
    ): "echo.mr_peak_velocity_cm_s",
    (VTI, MITRAL_VALVE, REGURGITANT_FLOW): "echo.mr_vti_cm",
    (ORIFICE_DIAMETER, LVOT, None): "echo.lvot_diameter_cm",
    (VTI, LVOT, None): "echo.lvot_vti_cm",
    (VTI, LVOT, ANTEGRADE_FLOW): "echo.lvot_vti_cm",
    (E_WAVE_PEAK_VELOCITY, MITRAL_VALVE, None): "echo.mitral_e_wave_m_s",
    (E_WAVE_PEAK_VELOCITY, MITRAL_VALVE, ANTEGRADE_FLOW): "echo.mitral_e_wave_m_s",
    (MEAN_GRADIENT, MITRAL_VALVE, ANTEGRADE_FLOW): "echo.mitral_mean_gradient_mmhg",
    (MEAN_GRADIENT, MITRAL_VALVE, None): "echo.mitral_mean_gradient_mmhg",
}
# Concepts that need the "indexed" modifier to be the indexed quantity of the contract.
POST_COORDINATED_INDEXED: dict[Code, str] = {
    LA_SYSTOLIC_VOLUME: "echo.la_volume_index_ml_m2",
}

# --- units ----------------------------------------------------------------------------
# The vocabulary writes units for people ("cm²"); UCUM writes "cm2". This maps the
# first to the second; the unit itself stays declared in the vocabulary.
UCUM_OF_CONTRACT_UNIT = {
    "cm": "cm",
    "mm": "mm",
    "cm²": "cm2",
    "mL": "mL",
    "%": "%",
    "% of LA": "%",
    "cm/s": "cm/s",
    "m/s": "m/s",
    "mL/m²": "mL/m2",
    "mmHg": "mm[Hg]",
    "kg": "kg",
    "cm²/m²": "cm2/m2",
}
# Spelling variants of the same UCUM unit (UCUM's liter is "l" or "L").
UCUM_SYNONYMS = {"ml": "mL", "ml/m2": "mL/m2", "mmHg": "mm[Hg]"}
# (from, to) -> factor: value_in_to = value_in_from * factor. Exact decimal factors.
UNIT_FACTORS: dict[tuple[str, str], Decimal] = {
    ("mm", "cm"): Decimal("0.1"),
    ("cm", "mm"): Decimal("10"),
    ("m", "cm"): Decimal("100"),
    ("m", "mm"): Decimal("1000"),
    ("mm2", "cm2"): Decimal("0.01"),
    ("m/s", "cm/s"): Decimal("100"),
    ("mm/s", "cm/s"): Decimal("0.1"),
    ("cm/s", "m/s"): Decimal("0.01"),
    ("L", "mL"): Decimal("1000"),
    ("g", "kg"): Decimal("0.001"),
    ("[in_i]", "cm"): Decimal("2.54"),
    ("[lb_av]", "kg"): Decimal("0.45359237"),
}
