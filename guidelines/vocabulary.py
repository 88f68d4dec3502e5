"""The closed vocabulary of MR-CDS: every assessment input field, declared once.

Each ``InputField`` below is one field of the assessment input of the interface contract
(``CONTRACT.md`` section 1). The declaration carries its dotted path, type, unit, plausible
range or allowed values, label and help text. It drives:

- the database columns and check constraints of ``assessments.models.Assessment``,
- the input validation used by the API, the forms, and ``manage.py evaluate``,
- the OpenAPI schema of the input,
- the parameters that guideline rule conditions may reference (``Parameter``).

Adding a field is one change here, then ``makemigrations``.

The values a result can take (severity, subgrade, band, MR type, stage, symptom status,
surgical risk) are declared here too, each with its label (standalone, "Severe MR") and
its words inside a sentence ("Severe primary MR"): the engine's output values, the
serializers, the pages, the PDF, the charts, the CDS Hooks card and the admin use these.

This module is pure Python: it imports nothing from Django's ORM or settings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property


class Kind(enum.StrEnum):
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"


@dataclass(frozen=True)
class InputField:
    """One contract input field: ``path`` is the dotted JSON path, e.g. ``echo.eroa_cm2``."""

    path: str
    kind: Kind
    label: str
    unit: str = ""
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    code: str = ""  # terminology code where a verified one is known (SPEC section 5)
    required: bool = False
    default: str | None = None

    @cached_property  # read hundreds of times per request
    def section(self) -> str:
        return self.path.split(".")[0] if "." in self.path else ""

    @cached_property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @cached_property
    def column(self) -> str:
        """Database column / form field name: ``echo.eroa_cm2`` -> ``echo_eroa_cm2``."""
        return self.path.replace(".", "_")

    @cached_property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    @property
    def range_text(self) -> str:
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(f'"{v}"' for v in self.choice_values)
        if self.kind is Kind.BOOLEAN:
            return "true or false"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.minimum}..{self.maximum}{unit}"


# Decimal columns all have this precision; finer input is refused, never rounded,
# because rounding could move a value across a guideline threshold.
DECIMAL_MAX_DIGITS = 9
DECIMAL_PLACES = 3


def _num(path, label, unit, lo, hi, *, help="", code="", required=False):
    return InputField(
        path,
        Kind.DECIMAL,
        label,
        unit,
        Decimal(str(lo)),
        Decimal(str(hi)),
        help=help,
        code=code,
        required=required,
    )


def _int(path, label, unit, lo, hi, *, help="", code="", required=False):
    return InputField(
        path,
        Kind.INTEGER,
        label,
        unit,
        Decimal(lo),
        Decimal(hi),
        help=help,
        code=code,
        required=required,
    )


def _bool(path, label, *, help=""):
    return InputField(path, Kind.BOOLEAN, label, help=help)


def _choice(path, label, choices, *, help="", required=False, default=None):
    return InputField(
        path,
        Kind.CHOICE,
        label,
        choices=tuple(choices),
        help=help,
        required=required,
        default=default,
    )


SEVERITY_WORDS = (
    ("none", "None"),
    ("mild", "Mild"),
    ("moderate", "Moderate"),
    ("severe", "Severe"),
)

PRIMARY_ETIOLOGIES = (
    "degenerative_prolapse",
    "flail_leaflet",
    "mitral_annular_calcification",
    "rheumatic",
    "infective_endocarditis",
    "papillary_muscle_rupture",
    "congenital",
    "radiation_or_drug",
)
SECONDARY_VENTRICULAR_ETIOLOGIES = ("secondary_ischemic", "secondary_nonischemic")
SECONDARY_ATRIAL_ETIOLOGIES = ("secondary_atrial",)

ETIOLOGY_CHOICES = (
    ("degenerative_prolapse", "Primary: degenerative / prolapse"),
    ("flail_leaflet", "Primary: flail leaflet"),
    ("mitral_annular_calcification", "Primary: mitral annular calcification"),
    ("rheumatic", "Primary: rheumatic"),
    ("infective_endocarditis", "Primary: infective endocarditis"),
    ("papillary_muscle_rupture", "Primary: papillary muscle rupture (post-MI)"),
    ("congenital", "Primary: congenital"),
    ("radiation_or_drug", "Primary: radiation or drug induced"),
    ("secondary_ischemic", "Secondary ventricular: ischemic"),
    ("secondary_nonischemic", "Secondary ventricular: non-ischemic"),
    ("secondary_atrial", "Secondary atrial"),
    ("structurally_normal", "Structurally normal valve"),
    ("unknown", "Unknown"),
)

GUIDELINE_CHOICES = (
    ("acc_aha_2020", "ACC/AHA 2020"),
    ("esc_eacts_2025", "ESC/EACTS 2025"),
)


INPUT_FIELDS: tuple[InputField, ...] = (
    # --- context
    _choice(
        "guideline",
        "Guideline",
        GUIDELINE_CHOICES,
        help="Rule set to apply; default: the active default rule set.",
    ),
    _choice(
        "presentation",
        "Presentation",
        (("chronic", "Chronic"), ("acute", "Acute")),
        default="chronic",
    ),
    _choice("etiology", "Cause (etiology)", ETIOLOGY_CHOICES, default="unknown"),
    # --- patient
    _int("patient.age_years", "Age", "years", 0, 120, required=True),
    _choice(
        "patient.sex", "Sex", (("female", "Female"), ("male", "Male")), required=True
    ),
    _num("patient.height_cm", "Height", "cm", 50, 250),
    _num("patient.weight_kg", "Weight", "kg", 2, 400),
    _bool("patient.pregnancy_planned", "Pregnancy planned"),
    # --- risk factors
    _bool("risk_factors.prior_myocardial_infarction", "Prior myocardial infarction"),
    _bool("risk_factors.prior_mitral_stenosis", "Prior mitral stenosis"),
    _bool("risk_factors.mitral_valve_prolapse", "Mitral valve prolapse"),
    _bool("risk_factors.renal_dysfunction", "Renal dysfunction"),
    _bool("risk_factors.marfan_syndrome", "Marfan syndrome"),
    _bool("risk_factors.ehlers_danlos_syndrome", "Ehlers-Danlos syndrome"),
    _bool("risk_factors.rheumatic_fever", "Rheumatic fever"),
    _bool(
        "risk_factors.infective_endocarditis_history", "Prior infective endocarditis"
    ),
    _bool("risk_factors.chest_radiation", "Chest radiation"),
    _bool("risk_factors.hypertension", "Hypertension"),
    # --- symptoms
    _int("symptoms.nyha_class", "NYHA class", "", 1, 4),
    _bool("symptoms.dyspnea", "Dyspnea"),
    _bool("symptoms.fatigue", "Fatigue"),
    _bool("symptoms.edema", "Edema"),
    _bool("symptoms.orthopnea", "Orthopnea"),
    _bool("symptoms.palpitations", "Palpitations"),
    _bool("symptoms.reduced_exercise_tolerance", "Reduced exercise tolerance"),
    _bool(
        "symptoms.equivocal",
        "Symptom status equivocal",
        help="Symptom status unclear (exercise testing may clarify it).",
    ),
    # --- signs
    _bool("signs.pansystolic_murmur_apex", "Pansystolic blowing apical murmur"),
    _bool("signs.murmur_radiates_axilla", "Murmur radiates to the axilla"),
    _bool("signs.soft_s1", "Soft S1"),
    _bool("signs.widely_split_s2", "Widely split S2"),
    _bool("signs.s3", "S3"),
    _bool("signs.displaced_apex", "Displaced apex beat"),
    _bool("signs.fever", "Fever"),
    # --- hemodynamics
    _bool("hemodynamics.cardiogenic_shock", "Cardiogenic shock"),
    _bool("hemodynamics.hypotension", "Hypotension"),
    _bool("hemodynamics.pulmonary_edema", "Pulmonary edema"),
    _bool("hemodynamics.vasopressors", "On vasopressors"),
    _bool("hemodynamics.mechanical_support", "On mechanical circulatory support"),
    # --- ECG
    _choice(
        "ecg.rhythm",
        "Rhythm",
        (("sinus", "Sinus"), ("atrial_fibrillation", "Atrial fibrillation")),
    ),
    _bool("ecg.broad_p_wave", "Broad P wave (P mitrale)"),
    _bool("ecg.lbbb", "Left bundle branch block"),
    _num("ecg.qrs_ms", "QRS duration", "ms", 40, 300),
    _choice(
        "ecg.af_pattern",
        "AF pattern",
        (
            ("paroxysmal", "Paroxysmal"),
            ("persistent", "Persistent"),
            ("permanent", "Permanent"),
        ),
    ),
    # --- chest X-ray
    _bool("chest_xray.cardiomegaly", "Cardiomegaly"),
    _bool("chest_xray.left_atrial_enlargement", "Left atrial enlargement"),
    _bool("chest_xray.pulmonary_edema", "Pulmonary edema on X-ray"),
    # --- labs
    _num("labs.egfr_ml_min_1_73m2", "eGFR", "mL/min/1.73 m²", 0, 200),
    _num("labs.bnp_pg_ml", "BNP", "pg/mL", 0, 50000),
    _num("labs.nt_probnp_pg_ml", "NT-proBNP", "pg/mL", 0, 100000),
    # --- echo: study
    _choice(
        "echo.modality",
        "Echo modality",
        (("tte", "Transthoracic (TTE)"), ("tee", "Transesophageal (TEE)")),
    ),
    _choice(
        "echo.image_quality",
        "Image quality",
        (("adequate", "Adequate"), ("poor", "Poor")),
    ),
    # --- echo: quantitative
    _num(
        "echo.eroa_cm2",
        "EROA",
        "cm²",
        0,
        2,
        help="Effective regurgitant orifice area (PISA).",
    ),
    _num("echo.regurgitant_volume_ml", "Regurgitant volume", "mL", 0, 300),
    _num("echo.regurgitant_fraction_pct", "Regurgitant fraction", "%", 0, 100),
    _num("echo.vena_contracta_cm", "Vena contracta width", "cm", 0, 2),
    _num("echo.pisa_radius_cm", "PISA radius", "cm", 0, 3),
    _num("echo.aliasing_velocity_cm_s", "Aliasing (Nyquist) velocity", "cm/s", 10, 100),
    _num("echo.mr_peak_velocity_cm_s", "MR peak velocity", "cm/s", 100, 900),
    _num("echo.mr_vti_cm", "MR VTI", "cm", 10, 400),
    _num("echo.lvot_diameter_cm", "LVOT diameter", "cm", 1, 4),
    _num("echo.lvot_vti_cm", "LVOT VTI", "cm", 5, 60),
    # --- echo: qualitative
    _num("echo.jet_area_pct_la", "Jet area", "% of LA", 0, 100),
    _choice(
        "echo.jet_type",
        "Jet type",
        (
            ("central", "Central"),
            ("eccentric_wall_impinging", "Eccentric, wall-impinging"),
        ),
    ),
    _choice(
        "echo.flow_convergence",
        "Flow convergence",
        (
            ("none_or_small", "None or small"),
            ("intermediate", "Intermediate"),
            ("large", "Large throughout systole"),
        ),
    ),
    _choice(
        "echo.cw_jet",
        "CW Doppler jet",
        (
            ("faint_partial", "Faint, partial or parabolic"),
            ("dense_partial", "Dense but partial or parabolic"),
            ("dense_holosystolic_triangular", "Dense, holosystolic, triangular"),
        ),
    ),
    _choice(
        "echo.pulmonary_vein_flow",
        "Pulmonary vein flow",
        (
            ("systolic_dominant", "Systolic dominance"),
            ("systolic_blunting", "Systolic blunting"),
            ("systolic_reversal", "Systolic flow reversal"),
        ),
    ),
    _choice(
        "echo.mitral_inflow",
        "Mitral inflow",
        (
            ("a_wave_dominant", "A-wave dominant"),
            ("e_wave_dominant", "E-wave dominant"),
        ),
    ),
    _num("echo.mitral_e_wave_m_s", "Mitral E-wave velocity", "m/s", 0, 3),
    _choice(
        "echo.leaflet_lesion",
        "Leaflet lesion",
        SEVERITY_WORDS,
        help="Severe: flail, ruptured papillary muscle, severe retraction, "
        "large perforation.",
    ),
    _bool("echo.flail_leaflet", "Flail leaflet"),
    _choice(
        "echo.leaflet_calcification",
        "Leaflet or annular calcification",
        SEVERITY_WORDS,
        help="Severe calcification in the grasping zone excludes TEER (SPEC 0.14 e).",
    ),
    _bool(
        "echo.elliptical_orifice",
        "Elliptical regurgitant orifice",
        help="Secondary MR: lower EROA / RVol may still be severe.",
    ),
    # --- echo: ventricle, atrium, pressures, other valves
    _num("echo.lvef_pct", "LVEF", "%", 5, 90, code="LOINC 18043-0"),
    _num("echo.lvesd_mm", "LV end-systolic diameter", "mm", 15, 100),
    _num("echo.lvedd_mm", "LV end-diastolic diameter", "mm", 20, 120),
    _num("echo.la_volume_index_ml_m2", "LA volume index", "mL/m²", 5, 300),
    _num("echo.la_diameter_mm", "LA diameter", "mm", 20, 120),
    _num("echo.pasp_mmhg", "Pulmonary artery systolic pressure", "mmHg", 10, 150),
    _num("echo.tenting_area_cm2_m2", "Tenting area (indexed)", "cm²/m²", 0, 5),
    _choice(
        "echo.tr_grade",
        "Tricuspid regurgitation",
        SEVERITY_WORDS,
        help="",
    ),
    _choice("echo.aortic_valve_disease", "Aortic valve disease", SEVERITY_WORDS),
    _choice(
        "echo.jet_timing",
        "Jet timing",
        (
            ("brief", "Brief"),
            ("late_systolic", "Late systolic"),
            ("holosystolic", "Holosystolic"),
        ),
    ),
    _num("echo.mitral_annulus_ap_mm", "Mitral annulus AP diameter", "mm", 15, 80),
    _num("echo.tricuspid_annulus_mm", "Tricuspid annulus diameter", "mm", 15, 80),
    _num("echo.mitral_valve_area_cm2", "Mitral valve area", "cm²", "0.3", 8),
    _num("echo.mitral_mean_gradient_mmhg", "Mitral mean gradient", "mmHg", 0, 40),
    _num("echo.vegetation_mm", "Vegetation length", "mm", 0, 60),
    _choice("echo.rv_dysfunction", "RV dysfunction", SEVERITY_WORDS),
    # --- management context
    _choice(
        "management.surgical_risk",
        "Surgical risk (Heart Team)",
        (
            ("low", "Low"),
            ("intermediate", "Intermediate"),
            ("high", "High"),
            ("prohibitive", "Prohibitive"),
        ),
    ),
    _num("management.sts_prom_pct", "STS-PROM", "%", 0, 100),
    _bool("management.gdmt_optimized", "GDMT optimized"),
    _bool("management.crt_implanted", "CRT implanted"),
    _bool("management.cabg_planned", "CABG planned"),
    _bool("management.other_cardiac_surgery_planned", "Other cardiac surgery planned"),
    _bool(
        "management.cad_requiring_revascularization", "CAD requiring revascularization"
    ),
    _bool("management.life_expectancy_over_1y", "Life expectancy over 1 year"),
    _bool("management.valve_center", "At a Primary/Comprehensive Valve Center"),
    _bool("management.advanced_heart_failure", "Advanced (stage D) heart failure"),
    _bool(
        "management.posterior_leaflet_limited_lesion",
        "Lesion limited to < half of the posterior leaflet",
    ),
    _bool("management.af_secondary_to_mr", "AF secondary to MR"),
    _int(
        "management.hf_hospitalizations_12m",
        "HF hospitalizations (12 months)",
        "",
        0,
        50,
    ),
    _int("management.months_on_gdmt", "Months on GDMT", "months", 0, 600),
    _choice(
        "management.heart_failure_phenotype",
        "Heart failure phenotype",
        (("hfref", "HFrEF"), ("hfmref", "HFmrEF"), ("hfpef", "HFpEF")),
    ),
    _choice(
        "management.cad_complexity",
        "CAD complexity",
        (("none", "None"), ("non_complex", "Non-complex"), ("complex", "Complex")),
    ),
    _choice("management.frailty", "Frailty", SEVERITY_WORDS),
    _choice(
        "management.repair_likelihood",
        "Likelihood of durable repair",
        (("high", "High (>95%)"), ("uncertain", "Uncertain"), ("low", "Low")),
    ),
    _choice(
        "management.cardiomyopathy",
        "Cardiomyopathy",
        (
            ("none", "None"),
            ("hypertrophic", "Hypertrophic"),
            ("restrictive", "Restrictive"),
            ("infiltrative", "Infiltrative"),
        ),
        help="Hypertrophic, restrictive or infiltrative cardiomyopathy excludes "
        "TEER for secondary MR (ESC 2025 Rec. Table 7).",
    ),
    _choice(
        "management.teer_anatomy",
        "Anatomy for TEER",
        (
            ("suitable", "Suitable"),
            ("unsuitable", "Unsuitable"),
            ("unknown", "Unknown"),
        ),
    ),
)

# Serial LV studies: ``prior_echos`` is a list of these objects.
PRIOR_ECHO_FIELDS: tuple[InputField, ...] = (
    _int("months_ago", "Months ago", "months", 0, 600, required=True),
    _num("lvef_pct", "LVEF", "%", 5, 90),
    _num("lvesd_mm", "LV end-systolic diameter", "mm", 15, 100),
)
PRIOR_ECHOS_MAX = 50

FIELDS_BY_PATH: dict[str, InputField] = {f.path: f for f in INPUT_FIELDS}
SECTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(f.section for f in INPUT_FIELDS if f.section)
)
TOP_LEVEL_FIELDS: tuple[str, ...] = tuple(f.path for f in INPUT_FIELDS if not f.section)


@dataclass(frozen=True)
class SectionInfo:
    key: str
    title: str
    fields: tuple[InputField, ...] = field(default=())


SECTION_TITLES = {
    "": "Presentation and cause",
    "patient": "Patient",
    "risk_factors": "Risk factors",
    "symptoms": "Symptoms",
    "signs": "Signs",
    "hemodynamics": "Hemodynamics",
    "ecg": "ECG",
    "chest_xray": "Chest X-ray",
    "labs": "Labs",
    "echo": "Echocardiography",
    "management": "Management context",
}


def sections() -> tuple[SectionInfo, ...]:
    """The input fields grouped in the order a clinician works."""
    order = (
        "",
        "patient",
        "risk_factors",
        "symptoms",
        "signs",
        "hemodynamics",
        "ecg",
        "chest_xray",
        "labs",
        "echo",
        "management",
    )
    return tuple(
        SectionInfo(
            key, SECTION_TITLES[key], tuple(f for f in INPUT_FIELDS if f.section == key)
        )
        for key in order
    )


# --- the result vocabulary (CONTRACT section 2) ----------------------------------------


@dataclass(frozen=True)
class ResultValue:
    code: str
    label: str  # standalone: "Severe MR", "Stage C2 (...)"
    words: str = ""  # inside a sentence ("Severe primary MR"); "" when never so used


@dataclass(frozen=True)
class ResultVocabulary:
    """The values one result field can take, in order, with their words."""

    name: str
    title: str
    values: tuple[ResultValue, ...]

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.values)

    @cached_property
    def labels(self) -> dict[str, str]:
        return {v.code: v.label for v in self.values}

    @cached_property
    def words(self) -> dict[str, str]:
        return {v.code: v.words for v in self.values if v.words}

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(v.code, v.label) for v in self.values]


def _values(*rows: tuple[str, ...]) -> tuple[ResultValue, ...]:
    return tuple(ResultValue(*row) for row in rows)


SEVERITY = ResultVocabulary(
    "severity",
    "MR severity",
    _values(
        ("none_trivial", "No or trivial MR", "No or trivial"),
        ("mild", "Mild MR", "Mild"),
        ("moderate", "Moderate MR", "Moderate"),
        ("severe", "Severe MR", "Severe"),
        ("indeterminate", "Severity indeterminate", "Indeterminate"),
    ),
)
SUBGRADE = ResultVocabulary(
    "severity_subgrade",
    "Moderate subgrade",
    _values(
        ("mild_to_moderate", "mild to moderate", "Mild-to-moderate"),
        ("moderate_to_severe", "moderate to severe", "Moderate-to-severe"),
    ),
)
# The bands a severity criterion row grades into (``SeverityCriterionRow.band``).
BAND = ResultVocabulary(
    "band",
    "Severity band",
    _values(
        ("mild", "Mild"),
        ("mild_to_moderate", "Mild to moderate"),
        ("moderate_to_severe", "Moderate to severe"),
        ("severe", "Severe"),
    ),
)
MR_TYPE = ResultVocabulary(
    "mr_type",
    "MR type",
    _values(
        ("primary", "Primary MR", "primary"),
        (
            "secondary_ventricular",
            "Secondary (ventricular) MR",
            "secondary (ventricular)",
        ),
        ("secondary_atrial", "Secondary (atrial) MR", "secondary (atrial)"),
        ("not_applicable", "MR type not applicable"),
        ("undetermined", "MR type undetermined"),
    ),
)
# ACC/AHA 2020 stages of MR: Tables 15 (primary) and 19 (secondary); C1/C2 are primary MR.
STAGE = ResultVocabulary(
    "stage",
    "ACC/AHA stage",
    _values(
        ("A", "Stage A (at risk of MR)", "A"),
        ("B", "Stage B (progressive MR)", "B"),
        ("C", "Stage C (asymptomatic severe MR)", "C"),
        ("C1", "Stage C1 (asymptomatic severe MR, LV function preserved)", "C1"),
        ("C2", "Stage C2 (asymptomatic severe MR with LV dysfunction)", "C2"),
        ("D", "Stage D (symptomatic severe MR)", "D"),
        ("not_applicable", "Stage not applicable"),
        ("undetermined", "Stage undetermined"),
    ),
)
SYMPTOM_STATUS = ResultVocabulary(
    "symptom_status",
    "Symptom status",
    _values(
        ("symptomatic", "Symptomatic"),
        ("asymptomatic", "Asymptomatic"),
        ("equivocal", "Symptoms equivocal"),
        ("unknown", "Symptom status not recorded"),
    ),
)
SURGICAL_RISK = ResultVocabulary(
    "surgical_risk",
    "Surgical risk",
    _values(
        ("low", "Low"),
        ("intermediate", "Intermediate"),
        ("high", "High"),
        ("prohibitive", "Prohibitive"),
    ),
)
RESULT_VOCABULARIES: dict[str, ResultVocabulary] = {
    v.name: v
    for v in (SEVERITY, SUBGRADE, BAND, MR_TYPE, STAGE, SYMPTOM_STATUS, SURGICAL_RISK)
}

SEVERITIES = SEVERITY.codes
SUBGRADES = SUBGRADE.codes
BANDS = BAND.codes
MR_TYPES = MR_TYPE.codes
STAGES = STAGE.codes
SYMPTOM_STATUSES = SYMPTOM_STATUS.codes
RISK_CATEGORIES = SURGICAL_RISK.codes


# Closed vocabulary of recommendation codes (CONTRACT section 2). A rule set may add
# codes (listed in its data file); these may never be renamed.
CONTRACT_CODES = (
    "no_treatment",
    "surveillance_echo_3_5y",
    "surveillance_echo_1_2y",
    "surveillance_echo_6_12m",
    "surgery_mv",
    "repair_preferred",
    "replacement",
    "teer",
    "gdmt",
    "crt",
    "acute_stabilization",
    "symptomatic_diuretics",
    "further_imaging_tee_cmr",
    "exercise_testing",
    "heart_team_review",
    "coronary_revascularization",
    "prosthesis_shared_decision",
    "af_ablation_laao",
    "anticoagulation_doac",
    "advanced_hf_evaluation",
    "endocarditis_management",
    "rheumatic_secondary_prophylaxis",
    "preconception_counseling",
    "tv_repair_concomitant",
    "palliative_care",
    "tmvi_evaluation",
    "tte_baseline",
)
# Codes MR-CDS adds (CONTRACT allows additions).
EXTRA_CODES = (
    "prosthesis_mechanical",
    "prosthesis_bioprosthetic",
    "coronary_assessment",
)
# Codes that are an intervention or a treatment; never listed with ``no_treatment``.
INTERVENTION_CODES = frozenset(
    {
        "surgery_mv",
        "repair_preferred",
        "replacement",
        "teer",
        "gdmt",
        "crt",
        "acute_stabilization",
        "symptomatic_diuretics",
        "coronary_revascularization",
        "af_ablation_laao",
        "anticoagulation_doac",
        "tv_repair_concomitant",
        "tmvi_evaluation",
        "prosthesis_mechanical",
        "prosthesis_bioprosthetic",
    }
)


# Words for result values (every clinician surface shows these, never the codes).
VALUE_LABELS: dict[str, dict[str, str]] = {
    **{name: v.labels for name, v in RESULT_VOCABULARIES.items() if name != "band"},
    "risk_factors": {
        "female_sex": "Female sex",
        "older_age": "Age 65 years or more",
        "low_body_mass": "Low body mass (BMI < 18.5 kg/m²)",
        "prior_myocardial_infarction": "Prior myocardial infarction",
        "prior_mitral_stenosis": "Prior mitral stenosis",
        "mitral_valve_prolapse": "Mitral valve prolapse",
        "renal_dysfunction": "Renal dysfunction",
        "marfan_syndrome": "Marfan syndrome",
        "ehlers_danlos_syndrome": "Ehlers-Danlos syndrome",
        "rheumatic_fever": "Rheumatic fever",
        "infective_endocarditis_history": "Prior infective endocarditis",
        "chest_radiation": "Chest radiation",
        "hypertension": "Hypertension",
    },
    # Recommendation codes (CONTRACT section 2 and the codes MR-CDS adds), as the replay
    # and comparison tables name them; a version's own codes carry their own titles.
    "recommendation": {
        "no_treatment": "No MR-specific treatment",
        "surveillance_echo_3_5y": "Surveillance echo every 3-5 years",
        "surveillance_echo_1_2y": "Surveillance echo every 1-2 years",
        "surveillance_echo_6_12m": "Surveillance echo every 6-12 months",
        "surgery_mv": "Mitral valve surgery",
        "repair_preferred": "Mitral valve repair preferred over replacement",
        "replacement": "Mitral valve replacement",
        "teer": "Transcatheter edge-to-edge repair (TEER)",
        "gdmt": "Guideline-directed medical therapy for heart failure",
        "crt": "Cardiac resynchronization therapy",
        "acute_stabilization": "Acute stabilization",
        "symptomatic_diuretics": "Diuretics for symptoms",
        "further_imaging_tee_cmr": "Further imaging (TEE or cardiac MR)",
        "exercise_testing": "Exercise testing",
        "heart_team_review": "Heart Team review",
        "coronary_revascularization": "Coronary revascularization",
        "prosthesis_shared_decision": "Prosthesis choice by shared decision",
        "af_ablation_laao": "AF ablation or left atrial appendage occlusion",
        "anticoagulation_doac": "Anticoagulation (DOAC)",
        "advanced_hf_evaluation": "Advanced heart-failure evaluation",
        "endocarditis_management": "Endocarditis management",
        "rheumatic_secondary_prophylaxis": "Secondary prophylaxis of rheumatic fever",
        "preconception_counseling": "Pre-pregnancy counselling",
        "tv_repair_concomitant": "Concomitant tricuspid repair",
        "palliative_care": "Palliative care",
        "tmvi_evaluation": "Evaluation for transcatheter mitral valve implantation",
        "tte_baseline": "Baseline transthoracic echo",
        "prosthesis_mechanical": "Mechanical prosthesis",
        "prosthesis_bioprosthetic": "Bioprosthesis",
        "coronary_assessment": "Coronary and viability assessment",
    },
    # Evidence tags of a rule row's source (SPEC 0.9; guidelines.models.EvidenceTag).
    "evidence": {
        "V": "verified against the guideline text",
        "S": "secondary source only, pending clinical verification",
        "M": "from memory, unverified, pending clinical verification",
        "J": "design judgement",
    },
}

# Classes of recommendation, in both notations (ACC/AHA: 1, 2a, 2b, 3; ESC: I, IIa, IIb,
# III). ``class_rank`` puts them on one scale: 1 = I, 2a = IIa, 2b = IIb, 3 = III.
CLASS_RANKS = {
    "1": 1,
    "i": 1,
    "2a": 2,
    "iia": 2,
    "2b": 3,
    "iib": 3,
    "3": 4,
    "iii": 4,
    "3: no benefit": 4,
    "3: harm": 5,
}
CLASS_MEANINGS = {
    1: "strong: is recommended",
    2: "moderate: is reasonable / should be considered",
    3: "weak: may be considered",
    4: "no benefit / not recommended",
    5: "harm: not recommended",
}


def class_rank(value: str | None) -> int | None:
    """The strength of a class of recommendation on one scale (1 strongest), whatever
    the notation; ``None`` when there is no class."""
    if not value:
        return None
    return CLASS_RANKS.get(str(value).strip().lower())


def value_label(kind: str, value) -> str:
    """The clinical words for a result value (``value_label("mr_type", "primary")``)."""
    if value is None or value == "":
        return "not recorded"
    return VALUE_LABELS.get(kind, {}).get(str(value), str(value).replace("_", " "))
