"""Terminology of the FHIR and CDS Hooks adapters, transcribed from docs/CODES.md.

Which LOINC codes identify each contract input field (every synonym CODES.md lists, in
the order they are preferred), the UCUM units accepted for each field with their exact
conversion factors to the contract's unit, the SNOMED CT codes read from Conditions, the
SNOMED values of DICOM CID 3716 for the output grade, and MR-CDS's own CodeSystems
(canonical URLs) for what no standard code covers (stage, MR type, qualitative signs).

The vocabulary (``guidelines/vocabulary.py``) stays the one declaration of the fields;
this table only says which codes map to which of its paths. Pure data, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

# MR-CDS's own CodeSystems (CODES.md: "use local CodeSystems with canonical URLs under
# the project's domain"). Canonical URLs are identifiers, never fetched.
CANONICAL_BASE = "https://mr-cds.org/fhir"
INPUT_FIELD_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/input-field"  # code = contract path
STAGE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/acc-aha-mr-stage"
MR_TYPE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/mr-type"
RESULT_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/result"
RECOMMENDATION_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/recommendation"
OVERRIDE_REASON_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/override-reason"
RULE_SET_URI = f"{CANONICAL_BASE}/rule-sets"  # + "/<code>|<version>"


@dataclass(frozen=True)
class ObservationCode:
    """One LOINC code that carries one contract field, measured by ``method``."""

    code: str
    display: str
    path: str
    method: str = ""
    caution: str = ""  # said in the warnings when this code's value is used


def _codes(path: str, *entries: tuple) -> tuple[ObservationCode, ...]:
    return tuple(
        ObservationCode(code, display, path, *rest) for code, display, *rest in entries
    )


# Per field, the codes in order of preference: the first one present is used and every
# other one is reported beside it, never averaged (CODES.md "One field, several codes").
OBSERVATION_CODES: tuple[ObservationCode, ...] = (
    *_codes(
        "echo.eroa_cm2",
        ("80071-4", "Mitral valve effective regurgitant orifice area (PISA)", "PISA"),
        ("29448-8", "Mitral valve effective regurgitant orifice area", "PISA"),
        ("77914-0", "Mitral valve EROA (volumetric)", "volumetric"),
    ),
    *_codes(
        "echo.regurgitant_volume_ml",
        ("80064-9", "Mitral regurgitation volume (PISA)", "PISA"),
        ("80063-1", "Mitral regurgitation volume (Continuity VTI)", "continuity VTI"),
    ),
    *_codes(
        "echo.regurgitant_fraction_pct",
        ("80056-5", "Mitral regurgitant fraction (PISA)", "PISA"),
        ("80055-7", "Mitral regurgitant fraction (Continuity VTI)", "continuity VTI"),
    ),
    *_codes(
        "echo.vena_contracta_cm",
        ("80061-5", "Mitral regurgitation vena contracta width"),
        ("77913-2", "Mitral valve vena contracta diameter"),
    ),
    *_codes("echo.pisa_radius_cm", ("80059-9", "Mitral regurgitation PISA radius")),
    *_codes(
        "echo.aliasing_velocity_cm_s", ("80060-7", "Mitral regurgitation PISA velocity")
    ),
    *_codes("echo.mr_peak_velocity_cm_s", ("80062-3", "Mitral regurgitation Vmax")),
    *_codes(
        "echo.lvot_diameter_cm",
        ("80028-4", "Left ventricular outflow tract dimension (2D)"),
    ),
    *_codes(
        "echo.lvot_vti_cm",
        ("80030-0", "Left ventricular outflow tract VTI"),
        ("93632-8", "LVOT/Aortic valve VTI"),
    ),
    *_codes(
        "echo.lvef_pct",
        ("18043-0", "Left ventricular ejection fraction by US"),
        (
            "79991-6",
            "Left ventricular ejection fraction by US biplane (MOD)",
            "biplane",
        ),
        ("79990-8", "Left ventricular ejection fraction by US 3D", "3D"),
        ("10230-1", "Left ventricular ejection fraction", "method not stated"),
        (
            "79992-4",
            "Left ventricular ejection fraction by US single plane",
            "single plane",
        ),
        (
            "79993-2",
            "Left ventricular ejection fraction by US single plane",
            "single plane",
        ),
        (
            "77891-0",
            "Left ventricular ejection fraction by US Teichholz",
            "Teichholz",
            "LVEF by Teichholz is a poor choice in MR (CODES.md)",
        ),
        (
            "18049-7",
            "Left ventricular ejection fraction by US Teichholz",
            "Teichholz",
            "LVEF by Teichholz is a poor choice in MR (CODES.md)",
        ),
    ),
    *_codes(
        "echo.lvesd_mm",
        ("29438-9", "Left ventricle internal systolic dimension"),
        ("80011-0", "Left ventricle internal systolic dimension (2D)", "2D"),
        ("80012-8", "Left ventricle internal systolic dimension (M-mode)", "M-mode"),
    ),
    *_codes(
        "echo.lvedd_mm",
        ("29436-3", "Left ventricle internal end diastolic dimension"),
        ("80007-8", "Left ventricle internal end diastolic dimension (2D)", "2D"),
        (
            "80008-6",
            "Left ventricle internal end diastolic dimension (M-mode)",
            "M-mode",
        ),
    ),
    *_codes(
        "echo.la_volume_index_ml_m2",
        (
            "79984-1",
            "Left atrial end systolic volume biplane (MOD) / BSA",
            "biplane MOD",
        ),
        (
            "79982-5",
            "Left atrial end systolic volume biplane (area-length) / BSA",
            "biplane area-length",
        ),
    ),
    *_codes(
        "echo.la_diameter_mm",
        ("79975-9", "Left atrial end systolic diameter (AP) 2D", "2D"),
        ("79977-5", "Left atrial end systolic diameter (AP) M-mode", "M-mode"),
        ("29469-4", "Left atrium antero-posterior systolic dimension"),
    ),
    *_codes(
        "echo.pasp_mmhg",
        (
            "82341-9",
            "Right ventricular intrachamber systolic pressure",
            "RVSP",
            "RVSP stands for PASP only without RVOT or pulmonic obstruction (CODES.md)",
        ),
    ),
    *_codes(
        "echo.mitral_e_wave_m_s",
        ("80070-6", "Mitral valve E-wave Vmax"),
        ("18037-2", "Mitral valve E-wave peak velocity"),
    ),
    *_codes(
        "echo.mitral_annulus_ap_mm",
        ("80052-4", "Mitral annulus diastolic diameter - PLAX", "PLAX"),
        ("18017-4", "Mitral valve annulus diameter"),
        ("80050-8", "Mitral annulus diastolic diameter - A2C", "A2C"),
        ("80051-6", "Mitral annulus diastolic diameter - A4C", "A4C"),
    ),
    *_codes(
        "echo.tricuspid_annulus_mm",
        ("80091-2", "Tricuspid annulus diameter"),
        ("18023-2", "Tricuspid annulus diameter"),
    ),
    *_codes(
        "echo.mitral_valve_area_cm2",
        ("80068-0", "Mitral valve area (Planimetry)", "planimetry"),
        ("80069-8", "Mitral valve area (PHT)", "pressure half-time"),
        ("80067-2", "Mitral valve area (PISA)", "PISA"),
    ),
    *_codes(
        "echo.mitral_mean_gradient_mmhg", ("80073-0", "Mitral valve mean gradient")
    ),
    *_codes("patient.height_cm", ("8302-2", "Body height")),
    *_codes("patient.weight_kg", ("29463-7", "Body weight")),
)

# SNOMED codes CODES.md gives for an Observation's code (PASP from the TID 5200 concept).
SNOMED_OBSERVATION_CODES: tuple[ObservationCode, ...] = (
    ObservationCode(
        "399023006",
        "Right ventricular peak systolic pressure",
        "echo.pasp_mmhg",
        "RVSP",
    ),
    ObservationCode(
        "250768007", "Pulmonary artery systolic pressure", "echo.pasp_mmhg"
    ),
    ObservationCode("250908004", "Left ventricular ejection fraction", "echo.lvef_pct"),
)

CODES_BY_LOINC = {c.code: c for c in OBSERVATION_CODES}
CODES_BY_SNOMED = {c.code: c for c in SNOMED_OBSERVATION_CODES}
ALL_CODES = OBSERVATION_CODES + SNOMED_OBSERVATION_CODES


def preference(code: ObservationCode) -> int:
    """Lower is preferred: the position among the codes of the same field."""
    same_field = [c for c in ALL_CODES if c.path == code.path]
    return same_field.index(code)


# The LOINC codes of echo measurements (prefetch and FHIR searches ask for these).
ECHO_LOINC_CODES = tuple(
    c.code for c in OBSERVATION_CODES if c.path.startswith("echo.")
)
HEIGHT_LOINC, WEIGHT_LOINC = "8302-2", "29463-7"

# --- units -----------------------------------------------------------------------------

# UCUM code of each contract unit (the vocabulary writes mmHg; UCUM spells it mm[Hg]).
CONTRACT_UCUM = {
    "cm²": "cm2",
    "cm": "cm",
    "mm": "mm",
    "mL": "mL",
    "%": "%",
    "cm/s": "cm/s",
    "m/s": "m/s",
    "mL/m²": "mL/m2",
    "mmHg": "mm[Hg]",
    "kg": "kg",
}

# Exact factors: value in the contract unit = value in the given unit × factor. Each is
# a UCUM definition (mm = 10^-3 m, cm = 10^-2 m, [in_i] = 2.54 cm, [lb_av] =
# 0.45359237 kg, L = dm3, cm3 = mL), tested in tests/interop/test_codes.py.
UNIT_FACTORS: dict[str, dict[str, Decimal]] = {
    "cm2": {"cm2": Decimal(1), "mm2": Decimal("0.01")},
    "cm": {
        "cm": Decimal(1),
        "mm": Decimal("0.1"),
        "m": Decimal(100),
        "[in_i]": Decimal("2.54"),
    },
    "mm": {"mm": Decimal(1), "cm": Decimal(10), "m": Decimal(1000)},
    "mL": {"mL": Decimal(1), "cm3": Decimal(1), "L": Decimal(1000)},
    "%": {"%": Decimal(1)},
    "cm/s": {"cm/s": Decimal(1), "m/s": Decimal(100), "mm/s": Decimal("0.1")},
    "m/s": {"m/s": Decimal(1), "cm/s": Decimal("0.01")},
    "mL/m2": {"mL/m2": Decimal(1)},
    "mm[Hg]": {"mm[Hg]": Decimal(1)},
    "kg": {"kg": Decimal(1), "g": Decimal("0.001"), "[lb_av]": Decimal("0.45359237")},
}

# Common non-UCUM spellings, refused with the right UCUM code named.
NOT_UCUM = {
    "mmHg": "mm[Hg]",
    "cm^2": "cm2",
    "cm²": "cm2",
    "ml": "mL",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "in": "[in_i]",
    "mm^2": "mm2",
}

# --- Conditions (SNOMED CT) -----------------------------------------------------------

MR_DISORDER = ("48724000", "Mitral valve regurgitation (disorder)")
ACUTE_MR = ("373116009", "Acute mitral regurgitation")

# What a Condition code tells: (contract path, value). Only codes seen in CODES.md or a
# published value set; any other Condition code is listed as unknown, never guessed.
CONDITION_CODES: dict[str, tuple[str, object, str]] = {
    "48724000": ("", None, "Mitral valve regurgitation"),  # the diagnosis itself
    "373116009": ("presentation", "acute", "Acute mitral regurgitation"),
    "409712001": ("etiology", "degenerative_prolapse", "Mitral valve prolapse"),
    "38341003": ("risk_factors.hypertension", True, "Hypertensive disorder"),
    "22298006": (
        "risk_factors.prior_myocardial_infarction",
        True,
        "Myocardial infarction",
    ),
}

# --- output: the grade (DICOM CID 3716 "Severity", SNOMED values) ---------------------

GRADE_CODES = {
    "none_trivial": ("260413007", "None"),
    "mild": ("255604002", "Mild"),
    "mild_to_moderate": ("371923003", "Mild to moderate"),
    "moderate": ("6736007", "Moderate"),
    "moderate_to_severe": ("371924009", "Moderate to severe"),
    "severe": ("24484000", "Severe"),
}
TTE_PROCEDURE = ("433236007", "Transthoracic echocardiography")
TEE_PROCEDURE = ("105376000", "Transesophageal echocardiography")
ECHO_PANEL = ("34552-0", "Cardiac 2D echo panel")
