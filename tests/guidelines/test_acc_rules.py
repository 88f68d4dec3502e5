"""ACC/AHA 2020 rule rows against the guideline text (SPEC 0.14 b, e, f, g, j, l, n, o).

Each case names the recommendation it comes from and states what that text requires; the
expected codes are read from the guideline, never from the engine's output. Boundary cases
sit on each threshold these rows use (QRS 119/120/149/150 ms, LVEF 35/36 %, MVA 2.9/3.0/
3.9/4.0 cm², mean gradient 4.9/5.0 mmHg, LVEF 60/61 %, LVESD 39/40 mm).
"""

from copy import deepcopy

import pytest

from guidelines.engine import evaluate
from guidelines.loaders import document_read, ruleset_load
from guidelines.validation import input_parse

RULE_SET = ruleset_load("acc_aha_2020")
SURVEILLANCE = {
    "surveillance_echo_3_5y",
    "surveillance_echo_1_2y",
    "surveillance_echo_6_12m",
}
PATIENT = {"age_years": 70, "sex": "male", "height_cm": 175, "weight_kg": 80}
SEVERE_QUANT = {
    "eroa_cm2": 0.5,
    "regurgitant_volume_ml": 70,
    "regurgitant_fraction_pct": 55,
    "vena_contracta_cm": 0.8,
}


def merge(base: dict, changes: dict) -> dict:
    out = deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def result(data: dict) -> dict:
    return evaluate(input_parse(data), RULE_SET)


def codes(res: dict) -> list[str]:
    return [r["code"] for r in res["recommendations"]]


def rule_of(res: dict, code: str) -> dict:
    return next(r for r in res["recommendations"] if r["code"] == code)


def caution_rules(res: dict) -> list[str]:
    return [c["rule"] for c in res["cautions"]]


# --- a patient for each recommendation, every criterion of its text met ----------------
# P6: severely symptomatic (NYHA III-IV) severe primary MR, high or prohibitive surgical
# risk, favourable anatomy, life expectancy >= 1 year -> TEER reasonable (2a).
P6_CANDIDATE = {
    "presentation": "chronic",
    "etiology": "degenerative_prolapse",
    "patient": {"age_years": 84, "sex": "female", "height_cm": 158, "weight_kg": 55},
    "symptoms": {"nyha_class": 3},
    "ecg": {"rhythm": "sinus"},
    "echo": {**SEVERE_QUANT, "lvef_pct": 58, "lvesd_mm": 38, "pasp_mmhg": 45},
    "management": {
        "surgical_risk": "high",
        "teer_anatomy": "suitable",
        "life_expectancy_over_1y": True,
    },
}

# S3: severe secondary MR, LVEF 20-50 %, LVESD <= 70 mm, PASP <= 70 mmHg, NYHA II-IV on
# optimal GDMT (stage D), appropriate anatomy -> TEER reasonable (2a B-R). CRT implanted.
S3_CANDIDATE = {
    "presentation": "chronic",
    "etiology": "secondary_nonischemic",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 3},
    "ecg": {"rhythm": "sinus", "lbbb": True, "qrs_ms": 160},
    "echo": {**SEVERE_QUANT, "lvef_pct": 30, "lvesd_mm": 55, "pasp_mmhg": 45},
    "management": {
        "surgical_risk": "intermediate",
        "gdmt_optimized": True,
        "months_on_gdmt": 6,
        "crt_implanted": True,
        "teer_anatomy": "suitable",
        "cad_requiring_revascularization": False,
    },
}

# 2022 HF §7.4.1: LVEF <= 35 %, sinus rhythm, symptomatic on >= 3 months of GDMT.
CRT_CANDIDATE = merge(
    S3_CANDIDATE,
    {
        "management": {"crt_implanted": False, "months_on_gdmt": 4},
        "ecg": {"lbbb": True, "qrs_ms": 150},
    },
)

# P2: asymptomatic severe primary MR with LVEF <= 60 % or LVESD >= 40 mm (C2).
C2_CANDIDATE = {
    "presentation": "chronic",
    "etiology": "degenerative_prolapse",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 1},
    "ecg": {"rhythm": "sinus"},
    "echo": {**SEVERE_QUANT, "lvef_pct": 60, "lvesd_mm": 36},
    "management": {"surgical_risk": "low"},
}

ACUTE_FLAIL = {
    "presentation": "acute",
    "etiology": "flail_leaflet",
    "patient": PATIENT,
    "hemodynamics": {"pulmonary_edema": True},
    "echo": {
        "flail_leaflet": True,
        "jet_timing": "brief",
        "vena_contracta_cm": 0.3,
        "lvef_pct": 68,
        "lvesd_mm": 30,
    },
    "management": {"surgical_risk": "intermediate"},
}

ACUTE_PMR_SHOCK = {
    "presentation": "acute",
    "etiology": "papillary_muscle_rupture",
    "patient": {"age_years": 66, "sex": "male", "height_cm": 178, "weight_kg": 85},
    "risk_factors": {"prior_myocardial_infarction": True},
    "hemodynamics": {
        "cardiogenic_shock": True,
        "vasopressors": True,
        "mechanical_support": True,
        "pulmonary_edema": True,
    },
    "echo": {"jet_type": "eccentric_wall_impinging", "lvef_pct": 60},
    "management": {"surgical_risk": "high"},
}

AF_MODERATE = {
    "presentation": "chronic",
    "etiology": "degenerative_prolapse",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 1},
    "ecg": {"rhythm": "atrial_fibrillation"},
    "echo": {
        "eroa_cm2": 0.3,
        "regurgitant_volume_ml": 45,
        "regurgitant_fraction_pct": 40,
        "vena_contracta_cm": 0.5,
        "lvef_pct": 62,
        "lvesd_mm": 35,
    },
    "management": {"surgical_risk": "low"},
}


def case(source, data, required=(), must_not=(), *, rule=None, cautions=(), id=None):
    """``rule`` = {code: (rule key, class, level)} for what the text says of that code."""
    return pytest.param(
        data,
        tuple(required),
        tuple(must_not),
        rule or {},
        tuple(cautions),
        id=id or source,
    )


CASES = [
    # ---- SPEC 0.14 b / ACC/AHA 2020 §7.1: acute MR -----------------------------------
    case(
        "7.1 acute flail + pulmonary oedema, brief jet: stabilize, urgent surgery, repair",
        ACUTE_FLAIL,
        ["acute_stabilization", "surgery_mv", "heart_team_review", "repair_preferred"],
        ["no_treatment", "gdmt", *SURVEILLANCE],
        rule={
            "surgery_mv": ("acute_surgery", None, None),
            "acute_stabilization": ("acute_stabilization", None, None),
        },
    ),
    case(
        "7.1 acute papillary-muscle rupture in shock on vasopressors and support",
        ACUTE_PMR_SHOCK,
        ["acute_stabilization", "surgery_mv", "heart_team_review", "replacement"],
        ["gdmt", "teer", "no_treatment", *SURVEILLANCE],
        rule={
            "acute_stabilization": ("acute_stabilization_hypotensive", None, None),
            "surgery_mv": ("acute_surgery", None, None),
        },
    ),
    case(
        "7.1 isolated papillary-muscle rupture, nothing quantified, no compromise",
        {
            "presentation": "acute",
            "etiology": "papillary_muscle_rupture",
            "patient": PATIENT,
            "echo": {"lvef_pct": 60},
            "management": {"surgical_risk": "intermediate"},
        },
        ["acute_stabilization", "surgery_mv", "replacement"],
        ["gdmt", *SURVEILLANCE],
    ),
    case(
        "0.14 b hypotension whatever the grade: stabilization without vasodilators",
        {
            "presentation": "acute",
            "etiology": "structurally_normal",
            "patient": PATIENT,
            "hemodynamics": {"hypotension": True},
            "echo": {"vena_contracta_cm": 0.1},
        },
        ["acute_stabilization"],
        ["surgery_mv", "gdmt", "no_treatment", *SURVEILLANCE],
        rule={"acute_stabilization": ("acute_stabilization_hypotensive", None, None)},
    ),
    case(
        "0.14 b mechanical support alone is haemodynamic compromise",
        {
            "presentation": "acute",
            "etiology": "secondary_ischemic",
            "patient": PATIENT,
            "hemodynamics": {"mechanical_support": True},
            "echo": {"lvef_pct": 40},
        },
        ["acute_stabilization"],
        ["gdmt", *SURVEILLANCE],
    ),
    case(
        "0.14 b severe leaflet lesion alone is a structural severe sign",
        {
            "presentation": "acute",
            "etiology": "degenerative_prolapse",
            "patient": PATIENT,
            "echo": {"leaflet_lesion": "severe", "lvef_pct": 65},
            "management": {"surgical_risk": "low"},
        },
        ["surgery_mv", "heart_team_review", "acute_stabilization"],
        ["teer"],
    ),
    case(
        "0.14 b TEER for acute degenerative MR only at high surgical risk (high)",
        merge(
            ACUTE_FLAIL,
            {"management": {"surgical_risk": "high", "teer_anatomy": "suitable"}},
        ),
        ["teer", "surgery_mv", "acute_stabilization"],
        rule={"teer": ("acute_teer_high_risk", None, None)},
    ),
    case(
        "0.14 b TEER for acute degenerative MR only at high surgical risk (intermediate)",
        merge(ACUTE_FLAIL, {"management": {"teer_anatomy": "suitable"}}),
        ["surgery_mv"],
        ["teer"],
    ),
    case(
        "0.14 b/e acute high-risk TEER blocked by severe calcification",
        merge(
            ACUTE_FLAIL,
            {
                "management": {"surgical_risk": "high", "teer_anatomy": "suitable"},
                "echo": {"leaflet_calcification": "severe"},
            },
        ),
        ["surgery_mv"],
        ["teer"],
        cautions=["acute_teer_excluded"],
    ),
    case(
        "12 acute endocarditis with severe MR: early surgery, no TEER, no surveillance",
        {
            "presentation": "acute",
            "etiology": "infective_endocarditis",
            "patient": PATIENT,
            "symptoms": {"nyha_class": 3},
            "signs": {"fever": True},
            "echo": {**SEVERE_QUANT, "vegetation_mm": 12, "lvef_pct": 60},
            "management": {"surgical_risk": "intermediate", "teer_anatomy": "suitable"},
        },
        ["endocarditis_management", "surgery_mv", "replacement"],
        ["teer", "no_treatment", *SURVEILLANCE],
    ),
    # ---- SPEC 0.14 e: TEER exclusions on P6 and S3 -----------------------------------
    case(
        "P6 TEER 2a B-NR, every criterion met",
        P6_CANDIDATE,
        ["teer"],
        rule={"teer": ("P6", "2a", "B-NR")},
    ),
    case(
        "P6 + 0.14 e: active endocarditis excludes TEER",
        merge(P6_CANDIDATE, {"etiology": "infective_endocarditis"}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6 + 0.14 e: rheumatic leaflets exclude TEER",
        merge(P6_CANDIDATE, {"etiology": "rheumatic"}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6 + 0.14 e: a vegetation excludes TEER",
        merge(P6_CANDIDATE, {"echo": {"vegetation_mm": 6}}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6 + 0.14 e: severe calcification excludes TEER (anatomy 'suitable' no matter)",
        merge(P6_CANDIDATE, {"echo": {"leaflet_calcification": "severe"}}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6 + 0.14 e: moderate calcification is not an exclusion",
        merge(P6_CANDIDATE, {"echo": {"leaflet_calcification": "moderate"}}),
        ["teer"],
    ),
    case(
        "P6 + 0.14 e: MVA 2.9 cm² unsuitable",
        merge(P6_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 2.9}}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6 + 0.14 e: MVA 3.0 cm² conditional, Heart Team",
        merge(P6_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 3.0}}),
        ["teer", "heart_team_review"],
        rule={"heart_team_review": ("teer_mva_heart_team", None, None)},
    ),
    case(
        "P6 + 0.14 e: MVA 3.9 cm² conditional, Heart Team",
        merge(P6_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 3.9}}),
        ["teer", "heart_team_review"],
        rule={"heart_team_review": ("teer_mva_heart_team", None, None)},
    ),
    case(
        "P6 + 0.14 e: MVA 4.0 cm² suitable (EVEREST II excluded < 4.0 only)",
        merge(P6_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 4.0}}),
        ["teer"],
        rule={"heart_team_review": ("heart_team_high_risk", None, None)},
    ),
    case(
        "P6 + 0.14 e: mean gradient 4.9 mmHg suitable",
        merge(P6_CANDIDATE, {"echo": {"mitral_mean_gradient_mmhg": 4.9}}),
        ["teer"],
    ),
    case(
        "P6 + 0.14 e: mean gradient 5.0 mmHg unsuitable",
        merge(P6_CANDIDATE, {"echo": {"mitral_mean_gradient_mmhg": 5.0}}),
        [],
        ["teer"],
        cautions=["P6_excluded"],
    ),
    case(
        "P6: intermediate surgical risk is not a TEER indication",
        merge(P6_CANDIDATE, {"management": {"surgical_risk": "intermediate"}}),
        ["surgery_mv"],
        ["teer"],
    ),
    case(
        "S3 TEER 2a B-R, every criterion met (CRT implanted)",
        S3_CANDIDATE,
        ["teer"],
        rule={"teer": ("S3", "2a", "B-R")},
    ),
    case(
        "S3 + 0.14 e: severe calcification excludes TEER",
        merge(S3_CANDIDATE, {"echo": {"leaflet_calcification": "severe"}}),
        [],
        ["teer"],
        cautions=["S3_excluded"],
    ),
    case(
        "S3 + 0.14 e: MVA 2.9 cm² unsuitable",
        merge(S3_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 2.9}}),
        [],
        ["teer"],
        cautions=["S3_excluded"],
    ),
    case(
        "S3 + 0.14 e: mean gradient 5.0 mmHg unsuitable",
        merge(S3_CANDIDATE, {"echo": {"mitral_mean_gradient_mmhg": 5.0}}),
        [],
        ["teer"],
        cautions=["S3_excluded"],
    ),
    # ---- SPEC 0.14 f: CRT before TEER (S3) and before surgery without CABG (S6) ------
    case(
        "S3/S6 + 0.14 f: CRT indicated (LBBB 150) and not implanted -> CRT, no TEER",
        CRT_CANDIDATE,
        ["crt", "gdmt"],
        ["teer", "surgery_mv"],
        cautions=["conditional:teer", "conditional:surgery_mv"],
    ),
    case(
        "S3 + 0.14 f: CRT criteria met but < 3 months of GDMT: still no TEER",
        merge(CRT_CANDIDATE, {"management": {"months_on_gdmt": 2}}),
        ["gdmt"],
        ["teer", "crt"],
        cautions=["conditional:teer"],
    ),
    case(
        "S3 + 0.14 f: LVEF 36 % -> CRT not indicated -> TEER",
        merge(CRT_CANDIDATE, {"echo": {"lvef_pct": 36}}),
        ["teer"],
        ["crt"],
    ),
    case(
        "S3 + 0.14 f: non-LBBB 140 ms, NYHA II -> CRT not indicated -> TEER",
        merge(
            CRT_CANDIDATE,
            {"ecg": {"lbbb": False, "qrs_ms": 140}, "symptoms": {"nyha_class": 2}},
        ),
        ["teer"],
        ["crt"],
    ),
    case(
        "S3 + 0.14 f: non-LBBB 140 ms, NYHA III -> CRT 2b -> no TEER yet",
        merge(CRT_CANDIDATE, {"ecg": {"lbbb": False, "qrs_ms": 140}}),
        ["crt"],
        ["teer", "surgery_mv"],
    ),
    case(
        "S3 + 0.14 f: atrial fibrillation -> sinus-rhythm CRT bands do not apply -> TEER",
        merge(CRT_CANDIDATE, {"ecg": {"rhythm": "atrial_fibrillation"}}),
        ["teer"],
        ["crt"],
    ),
    case(
        "S4: surgery with CABG is not held back by CRT (S6 only is 'without CABG')",
        merge(CRT_CANDIDATE, {"management": {"cabg_planned": True}}),
        ["surgery_mv", "crt"],
        ["teer"],
        rule={"surgery_mv": ("S4", "2a", "B-NR")},
    ),
    # ---- SPEC 0.14 g: CRT bands, 2022 AHA/ACC/HFSA HF §7.4.1 --------------------------
    case(
        "HF 7.4.1: LBBB QRS 150 ms -> CRT 1 B-R",
        CRT_CANDIDATE,
        ["crt"],
        rule={"crt": ("crt_lbbb_150", "1", "B-R")},
    ),
    case(
        "HF 7.4.1: LBBB QRS 149 ms -> CRT 2a B-NR",
        merge(CRT_CANDIDATE, {"ecg": {"qrs_ms": 149}}),
        ["crt"],
        rule={"crt": ("crt_lbbb_120_149", "2a", "B-NR")},
    ),
    case(
        "HF 7.4.1: LBBB QRS 120 ms -> CRT 2a B-NR",
        merge(CRT_CANDIDATE, {"ecg": {"qrs_ms": 120}}),
        ["crt"],
        rule={"crt": ("crt_lbbb_120_149", "2a", "B-NR")},
    ),
    case(
        "HF 7.4.1: LBBB QRS 119 ms -> no CRT",
        merge(CRT_CANDIDATE, {"ecg": {"qrs_ms": 119}}),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: non-LBBB QRS 150 ms -> CRT 2a B-NR",
        merge(CRT_CANDIDATE, {"ecg": {"lbbb": False, "qrs_ms": 150}}),
        ["crt"],
        rule={"crt": ("crt_non_lbbb_150", "2a", "B-NR")},
    ),
    case(
        "HF 7.4.1: non-LBBB QRS 149 ms, NYHA III -> CRT 2b B-NR",
        merge(CRT_CANDIDATE, {"ecg": {"lbbb": False, "qrs_ms": 149}}),
        ["crt"],
        rule={"crt": ("crt_non_lbbb_120_149", "2b", "B-NR")},
    ),
    case(
        "HF 7.4.1: non-LBBB QRS 120 ms, NYHA IV -> CRT 2b B-NR",
        merge(
            CRT_CANDIDATE,
            {"ecg": {"lbbb": False, "qrs_ms": 120}, "symptoms": {"nyha_class": 4}},
        ),
        ["crt"],
        rule={"crt": ("crt_non_lbbb_120_149", "2b", "B-NR")},
    ),
    case(
        "HF 7.4.1: non-LBBB QRS 149 ms, NYHA II -> no CRT",
        merge(
            CRT_CANDIDATE,
            {"ecg": {"lbbb": False, "qrs_ms": 149}, "symptoms": {"nyha_class": 2}},
        ),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: non-LBBB QRS 119 ms -> no CRT",
        merge(CRT_CANDIDATE, {"ecg": {"lbbb": False, "qrs_ms": 119}}),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: LVEF 35 % -> CRT",
        merge(CRT_CANDIDATE, {"echo": {"lvef_pct": 35}}),
        ["crt"],
    ),
    case(
        "HF 7.4.1: LVEF 36 % -> no CRT",
        merge(CRT_CANDIDATE, {"echo": {"lvef_pct": 36}}),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: 3 months on GDMT -> CRT",
        merge(CRT_CANDIDATE, {"management": {"months_on_gdmt": 3}}),
        ["crt"],
    ),
    case(
        "HF 7.4.1: 2 months on GDMT -> not yet",
        merge(CRT_CANDIDATE, {"management": {"months_on_gdmt": 2}}),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: NYHA I is not symptomatic -> no CRT",
        merge(CRT_CANDIDATE, {"symptoms": {"nyha_class": 1}}),
        [],
        ["crt"],
    ),
    case(
        "HF 7.4.1: CRT already implanted -> not recommended again",
        merge(CRT_CANDIDATE, {"management": {"crt_implanted": True}}),
        [],
        ["crt"],
    ),
    # ---- P2 (stage C2) at low or intermediate surgical risk -------------------------
    case(
        "P2: LVEF 60 % (C2, inclusive) at low risk -> surgery 1 B-NR",
        C2_CANDIDATE,
        ["surgery_mv"],
        ["teer", "no_treatment"],
        rule={"surgery_mv": ("P2", "1", "B-NR")},
    ),
    case(
        "P2: LVESD 40 mm (C2, inclusive) at intermediate risk -> surgery",
        merge(
            C2_CANDIDATE,
            {
                "echo": {"lvef_pct": 65, "lvesd_mm": 40},
                "management": {"surgical_risk": "intermediate"},
            },
        ),
        ["surgery_mv"],
        rule={"surgery_mv": ("P2", "1", "B-NR")},
    ),
    case(
        "P10 (2014 I, B): C1 with CABG planned -> concomitant surgery, no echo interval",
        merge(
            C2_CANDIDATE,
            {
                "echo": {"lvef_pct": 63, "lvesd_mm": 35},
                "management": {"cabg_planned": True},
            },
        ),
        ["surgery_mv"],
        ["surveillance_echo_6_12m", "teer"],
        rule={"surgery_mv": ("P10", "I", "B")},
        cautions=["surveillance_at_planned_surgery"],
    ),
    case(
        "P2: LVEF 61 % and LVESD 39 mm is C1 -> no P2, echo every 6-12 months",
        merge(C2_CANDIDATE, {"echo": {"lvef_pct": 61, "lvesd_mm": 39}}),
        ["surveillance_echo_6_12m"],
        ["surgery_mv"],
    ),
    # ---- SPEC 0.14 j / 2020 §2.4.2: DOAC in AF with native valve disease -------------
    case(
        "2.4.2 AF with native MR -> DOAC alternative to VKA 1 A",
        AF_MODERATE,
        ["anticoagulation_doac"],
        rule={"anticoagulation_doac": ("doac_af_native_valve", "1", "A")},
    ),
    case(
        "2.4.2 paroxysmal AF in the history counts",
        merge(AF_MODERATE, {"ecg": {"rhythm": "sinus", "af_pattern": "paroxysmal"}}),
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 rheumatic MR with mitral stenosis -> no DOAC (VKA)",
        merge(
            AF_MODERATE,
            {"etiology": "rheumatic", "risk_factors": {"prior_mitral_stenosis": True}},
        ),
        [],
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 rheumatic MR, stenosis excluded -> DOAC",
        merge(
            AF_MODERATE,
            {"etiology": "rheumatic", "risk_factors": {"prior_mitral_stenosis": False}},
        ),
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 rheumatic MR, mean gradient 3.9 mmHg (no MS) -> DOAC",
        merge(
            AF_MODERATE,
            {"etiology": "rheumatic", "echo": {"mitral_mean_gradient_mmhg": 3.9}},
        ),
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 rheumatic MR, mean gradient 4.0 mmHg (MS by WHF criteria) -> no DOAC",
        merge(
            AF_MODERATE,
            {"etiology": "rheumatic", "echo": {"mitral_mean_gradient_mmhg": 4.0}},
        ),
        [],
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 mechanical prosthesis recommended -> no DOAC",
        merge(
            C2_CANDIDATE,
            {
                "patient": {"age_years": 50},
                "ecg": {"rhythm": "atrial_fibrillation"},
                "management": {"repair_likelihood": "low"},
            },
        ),
        ["replacement", "prosthesis_mechanical"],
        ["anticoagulation_doac"],
    ),
    case(
        "2.4.2 sinus rhythm, no AF history -> no anticoagulant",
        merge(AF_MODERATE, {"ecg": {"rhythm": "sinus"}}),
        [],
        ["anticoagulation_doac"],
    ),
    # ---- SPEC 0.14 n: no echo recorded is not a non-diagnostic echo -------------------
    case(
        "2.2 no echo recorded -> baseline TTE 1 B-NR, not TEE/CMR",
        {
            "presentation": "chronic",
            "etiology": "degenerative_prolapse",
            "patient": PATIENT,
            "symptoms": {"nyha_class": 2},
        },
        ["tte_baseline"],
        ["further_imaging_tee_cmr", "surgery_mv", "teer"],
        rule={"tte_baseline": ("tte_baseline", "1", "B-NR")},
    ),
    case(
        "7.2 poor-quality study done -> TEE/CMR, not a baseline TTE",
        {
            "presentation": "chronic",
            "etiology": "unknown",
            "patient": PATIENT,
            "symptoms": {"nyha_class": 1},
            "echo": {"image_quality": "poor", "lvef_pct": 58},
        },
        ["further_imaging_tee_cmr"],
        ["tte_baseline", "surgery_mv"],
    ),
    # ---- SPEC 0.14 o: surveillance only for chronic stable disease --------------------
    case(
        "0.14 o moderate MR with active endocarditis -> no surveillance interval",
        merge(
            AF_MODERATE,
            {
                "etiology": "infective_endocarditis",
                "ecg": {"rhythm": "sinus"},
                "signs": {"fever": True},
            },
        ),
        ["endocarditis_management"],
        [*SURVEILLANCE, "no_treatment"],
    ),
    case(
        "0.14 o acute moderate MR -> no surveillance interval",
        merge(AF_MODERATE, {"presentation": "acute", "ecg": {"rhythm": "sinus"}}),
        [],
        [*SURVEILLANCE, "no_treatment"],
    ),
    case(
        "2.6 chronic asymptomatic moderate MR -> echo every 1-2 years",
        merge(AF_MODERATE, {"ecg": {"rhythm": "sinus"}}),
        ["surveillance_echo_1_2y"],
    ),
]


@pytest.mark.parametrize(("data", "required", "must_not", "rule", "cautions"), CASES)
def test_acc_aha_recommendation(data, required, must_not, rule, cautions):
    res = result(data)
    got = codes(res)
    for code in required:
        assert code in got, f"{code} missing; got {got}"
    for code in must_not:
        assert code not in got, f"{code} must not be recommended; got {got}"
    for code, (key, cor, loe) in rule.items():
        entry = rule_of(res, code)
        assert (entry["rule"], entry["class"], entry["level"]) == (key, cor, loe)
    for key in cautions:
        if key.startswith("conditional:"):  # SPEC 0.14 f: would apply after CRT
            assert key.split(":")[1] in [c["code"] for c in res["conditional"]], key
            continue
        assert key in caution_rules(res), (
            f"caution {key} missing; got {res['cautions']}"
        )


def test_teer_exclusion_is_named_when_teer_is_refused():
    """0.14 e: the reason is shown in the trace, not only the absence of TEER."""
    res = result(merge(P6_CANDIDATE, {"echo": {"mitral_valve_area_cm2": 2.5}}))
    caution = next(c for c in res["cautions"] if c["rule"] == "P6_excluded")
    assert caution["code"] == "teer"
    assert "MVA < 3.0" in caution["title"]
    assert "5 mmHg" in caution["title"]


def test_unrecorded_teer_exclusions_are_listed_for_the_clinician():
    """An exclusion that is not recorded is not assumed absent silently (SPEC 0.5)."""
    res = result(P6_CANDIDATE)
    assert "teer" in codes(res)
    missing = {m["parameter"] for m in res["missing"]}
    assert {
        "echo.mitral_valve_area_cm2",
        "echo.mitral_mean_gradient_mmhg",
        "echo.leaflet_calcification",
    } <= missing


def test_acute_surgery_carries_no_2014_label():
    """0.14 b, l: no formal 2020 class and level; never the 2014 'I, B'."""
    entry = rule_of(result(ACUTE_FLAIL), "surgery_mv")
    assert entry["class"] is None
    assert entry["level"] is None
    assert entry["source"]["guideline"] == "ACC/AHA 2020"
    assert "7.1" in entry["source"]["section"]


def test_doac_detail_says_it_applies_once_anticoagulation_is_indicated():
    entry = rule_of(result(AF_MODERATE), "anticoagulation_doac")
    assert "once anticoagulation is indicated" in entry["detail"]
    assert "mechanical" in entry["detail"]


ACC_2020_CLASSES = {None, "1", "2a", "2b", "3: No Benefit", "3: Harm"}
ACC_2020_LEVELS = {None, "A", "B-R", "B-NR", "C-LD", "C-EO"}
# 2014 labels; its "III: No Benefit" is written with the 2020 spelling "3: No Benefit"
# (same meaning), the form the shared vocabulary checks accept.
AHA_ACC_2014_CLASSES = {"I", "IIa", "IIb", "3: No Benefit", "3: Harm"}
AHA_ACC_2014_LEVELS = {"A", "B", "C"}
# The 2017 focused update writes 2014-style classes with the newer levels (IIb B-R).
AHA_ACC_2017_LEVELS = {"A", "B-R", "B-NR", "C-LD", "C-EO"}


def test_levels_belong_to_the_guideline_the_row_names():
    """0.14 l: ACC/AHA 2020 levels are A, B-R, B-NR, C-LD, C-EO; a 2014 (or 2017) label
    is shown under its own source; a level never stands without a class."""
    for rule in RULE_SET.rules:
        guideline = rule.source.guideline
        if rule.loe is not None:
            assert rule.cor is not None, rule.key
        if guideline == "ACC/AHA 2020":
            assert rule.cor in ACC_2020_CLASSES, rule.key
            assert rule.loe in ACC_2020_LEVELS, rule.key
        elif guideline == "AHA/ACC 2014":
            assert rule.cor in AHA_ACC_2014_CLASSES, rule.key
            assert rule.loe in AHA_ACC_2014_LEVELS, rule.key
            assert "2014" in rule.source.citation
            assert "2014" in rule.source.section
        elif guideline == "AHA/ACC 2017":
            assert rule.cor in AHA_ACC_2014_CLASSES, rule.key
            assert rule.loe in AHA_ACC_2017_LEVELS, rule.key
            assert "2017" in rule.source.citation
            assert "2017" in rule.source.section
        else:
            assert guideline == "AHA/ACC/HFSA 2022", (rule.key, guideline)
            assert rule.cor in ACC_2020_CLASSES
            assert rule.loe in ACC_2020_LEVELS


def test_every_row_links_its_guideline_doi_and_names_what_it_was_read_against():
    """Issue 12: the row URL is the guideline's DOI; a [V] row names its reproduction."""
    doc = document_read("acc_aha_2020")
    for table in ("rule", "stage"):
        for row in doc[table]:
            url = row.get("url", doc["ruleset"]["url"])
            assert url.startswith("https://doi.org/10."), (row["key"], url)
            if row["evidence"] == "V":
                assert row.get("verified_from"), row["key"]


def test_no_teer_row_fires_with_any_exclusion_recorded():
    """0.14 e over every TEER row: each exclusion alone removes TEER."""
    exclusions = [
        {"etiology": "infective_endocarditis"},
        {"echo": {"vegetation_mm": 3}},
        {"echo": {"leaflet_calcification": "severe"}},
        {"echo": {"mitral_valve_area_cm2": 2.0}},
        {"echo": {"mitral_mean_gradient_mmhg": 6}},
    ]
    acute_high_risk = merge(
        ACUTE_FLAIL,
        {"management": {"surgical_risk": "high", "teer_anatomy": "suitable"}},
    )
    for candidate in (P6_CANDIDATE, S3_CANDIDATE, acute_high_risk):
        assert "teer" in codes(result(candidate))
        for exclusion in exclusions:
            if "etiology" in exclusion and candidate is not P6_CANDIDATE:
                continue  # the etiology of a secondary or acute degenerative case
            assert "teer" not in codes(result(merge(candidate, exclusion))), exclusion
