"""ESC/EACTS 2025 rule set against the guideline text (SPEC 0.14, the ESC items).

Every case names the sentence or table it comes from; the expected codes, classes and
levels are read from the text (ESC/EACTS 2025, doi:10.1093/eurheartj/ehaf194; CRT from
ESC HF 2021, doi:10.1093/eurheartj/ehab368), never from the engine's output. Thresholds
that a row tests are checked on both sides (QRS 149/150, MVA 2.9/3.0/4.0, ...).
"""

import copy

import pytest

from guidelines.engine import evaluate
from guidelines.loaders import document_read, ruleset_load
from guidelines.validation import input_parse

ESC = ruleset_load("esc_eacts_2025")
SEVERE = {"eroa_cm2": 0.5, "regurgitant_volume_ml": 70, "regurgitant_fraction_pct": 55}
PATIENT = {"age_years": 70, "sex": "male", "height_cm": 175, "weight_kg": 78}

# Symptomatic severe primary MR at high surgical risk, suitable anatomy: TEER IIa B
# (Recommendation Table 6, "TEER should be considered in symptomatic patients with severe
# PMR who are anatomically suitable and at high surgical risk").
PMR_HIGH_RISK = {
    "etiology": "degenerative_prolapse",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 3},
    "ecg": {"rhythm": "sinus"},
    "echo": {**SEVERE, "lvef_pct": 60, "lvesd_mm": 38, "lvedd_mm": 55},
    "management": {"surgical_risk": "high", "teer_anatomy": "suitable"},
}
# Severe ventricular SMR meeting every Table 7 criterion, CRT already implanted: TEER I A
# (Recommendation Table 7).
SMR_TABLE7 = {
    "etiology": "secondary_ischemic",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 3},
    "ecg": {"rhythm": "sinus", "lbbb": True, "qrs_ms": 160},
    "labs": {"nt_probnp_pg_ml": 3000},
    "echo": {
        **SEVERE,
        "lvef_pct": 30,
        "lvesd_mm": 55,
        "lvedd_mm": 66,
        "pasp_mmhg": 45,
        "rv_dysfunction": "none",
        "aortic_valve_disease": "none",
        "tr_grade": "mild",
    },
    "management": {
        "surgical_risk": "intermediate",
        "gdmt_optimized": True,
        "months_on_gdmt": 6,
        "crt_implanted": True,
        "cad_requiring_revascularization": False,
        "advanced_heart_failure": False,
        "hf_hospitalizations_12m": 1,
        "teer_anatomy": "suitable",
    },
}
# Asymptomatic severe primary MR without LV dysfunction, low risk, durable repair likely.
PMR_ASYMPTOMATIC = {
    "etiology": "degenerative_prolapse",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 1},
    "ecg": {"rhythm": "sinus"},
    "echo": {
        **SEVERE,
        "lvef_pct": 65,
        "lvesd_mm": 35,
        "lvedd_mm": 55,
        "pasp_mmhg": 30,
        "la_volume_index_ml_m2": 40,
        "tr_grade": "mild",
    },
    "management": {"surgical_risk": "low", "repair_likelihood": "high"},
}
ACUTE = {
    "presentation": "acute",
    "etiology": "degenerative_prolapse",
    "patient": PATIENT,
    "symptoms": {"nyha_class": 4},
    "ecg": {"rhythm": "sinus"},
    "echo": {"lvef_pct": 65, "lvesd_mm": 30, "lvedd_mm": 50},
    "management": {"surgical_risk": "intermediate"},
}
DELETE = object()


def build(base, **changes):
    """``base`` with ``section={field: value}`` merged in; DELETE removes a field."""
    data = copy.deepcopy(base)
    for section, value in changes.items():
        if isinstance(value, dict):
            target = data.setdefault(section, {})
            for field, item in value.items():
                if item is DELETE:
                    target.pop(field, None)
                else:
                    target[field] = item
        elif value is DELETE:
            data.pop(section, None)
        else:
            data[section] = value
    return data


def run(data):
    return evaluate(input_parse(data), ESC)


def codes(result):
    return [r["code"] for r in result["recommendations"]]


def by_code(result):
    return {r["code"]: r for r in result["recommendations"]}


def caution_keys(result):
    return [c["rule"] for c in result["cautions"]]


def missing(result):
    return [m["parameter"] for m in result["missing"]]


# (id, source in the text, input, codes present, codes absent, cautions that fire)
CASES = [
    # --- b. acute MR ------------------------------------------------------------------
    (
        "acute shock, vasopressors, support, little quantitation",
        "§9.1.3 inotropes/diuretics, nitroprusside only without hypotension; §6.5",
        build(
            ACUTE,
            hemodynamics={
                "cardiogenic_shock": True,
                "vasopressors": True,
                "mechanical_support": True,
            },
            echo={"jet_area_pct_la": 10},
        ),
        ["acute_stabilization"],
        [
            "gdmt",
            "surveillance_echo_6_12m",
            "surveillance_echo_1_2y",
            "surveillance_echo_3_5y",
            "no_treatment",
        ],
        [],
    ),
    (
        "acute pulmonary oedema, brief central jet",
        "§9.1.3: acute severe PMR poorly tolerated; colour underestimates acute MR (SPEC b)",
        build(
            ACUTE,
            hemodynamics={"pulmonary_edema": True},
            echo={"jet_type": "central", "jet_timing": "brief", "jet_area_pct_la": 10},
        ),
        ["acute_stabilization"],
        ["gdmt", "no_treatment"],
        [],
    ),
    (
        "acute isolated papillary-muscle rupture, nothing quantified",
        "§9.1.4: urgent surgery; papillary muscle rupture → replacement generally required",
        build(
            ACUTE,
            etiology="papillary_muscle_rupture",
            risk_factors={"prior_myocardial_infarction": True},
        ),
        ["acute_stabilization", "surgery_mv", "heart_team_review", "replacement"],
        ["repair_preferred", "teer", "gdmt"],
        [],
    ),
    (
        "acute flail leaflet, no haemodynamic data",
        "§9.1.4: urgent surgery for acute severe PMR; chordal rupture → surgical repair",
        build(ACUTE, echo={"flail_leaflet": True}),
        ["acute_stabilization", "surgery_mv", "heart_team_review", "repair_preferred"],
        ["replacement", "teer"],
        [],
    ),
    (
        "acute severe lesion with indeterminate grade adds TOE/CMR",
        "§9.1.2.1 TOE confirms severity; SPEC b (never in place of surgical evaluation)",
        build(ACUTE, echo={"leaflet_lesion": "severe", "image_quality": "poor"}),
        ["surgery_mv", "heart_team_review", "further_imaging_tee_cmr"],
        [],
        [],
    ),
    (
        "acute chordal rupture at high risk, suitable anatomy: TEER",
        "§9.1.4: 'acute degenerative chordal rupture can be treated with ... TEER in "
        "high-risk patients'",
        build(
            ACUTE,
            echo={"flail_leaflet": True},
            management={"surgical_risk": "high", "teer_anatomy": "suitable"},
        ),
        ["surgery_mv", "repair_preferred", "teer"],
        [],
        [],
    ),
    (
        "acute chordal rupture at intermediate risk: no TEER",
        "§9.1.4: TEER only in high-risk patients",
        build(
            ACUTE, echo={"flail_leaflet": True}, management={"teer_anatomy": "suitable"}
        ),
        ["surgery_mv"],
        ["teer"],
        [],
    ),
    (
        "acute MR mildly graded, no structural sign, no compromise: no surgery",
        "§9.1.4 applies to acute severe MR; SPEC b needs a severe grade or sign",
        build(
            ACUTE,
            echo={
                "eroa_cm2": 0.1,
                "regurgitant_volume_ml": 20,
                "regurgitant_fraction_pct": 20,
            },
        ),
        [],
        ["surgery_mv", "acute_stabilization"],
        [],
    ),
    (
        "chronic HFrEF recorded in cardiogenic shock: no GDMT start",
        "SPEC 0.14 b: no chronic GDMT start while in shock",
        build(SMR_TABLE7, hemodynamics={"cardiogenic_shock": True}),
        [],
        ["gdmt"],
        [],
    ),
    # --- e. TEER exclusions -----------------------------------------------------------
    (
        "primary MR high risk: TEER (control)",
        "Recommendation Table 6, TEER IIa B",
        PMR_HIGH_RISK,
        ["teer"],
        [],
        [],
    ),
    (
        "active endocarditis excludes TEER",
        "SPEC 0.14 e; §9.1.4 endocarditis → replacement",
        build(PMR_HIGH_RISK, etiology="infective_endocarditis", signs={"fever": True}),
        [],
        ["teer"],
        ["teer_excluded_endocarditis"],
    ),
    (
        "rheumatic leaflets exclude TEER, suitable anatomy no override",
        "SPEC 0.14 e",
        build(PMR_HIGH_RISK, etiology="rheumatic"),
        [],
        ["teer"],
        ["teer_excluded_rheumatic"],
    ),
    (
        "severe calcification excludes TEER",
        "SPEC 0.14 e",
        build(PMR_HIGH_RISK, echo={"leaflet_calcification": "severe"}),
        [],
        ["teer"],
        ["teer_excluded_calcification"],
    ),
    (
        "moderate calcification does not exclude TEER",
        "SPEC 0.14 e (severe only)",
        build(PMR_HIGH_RISK, echo={"leaflet_calcification": "moderate"}),
        ["teer"],
        [],
        [],
    ),
    (
        "MVA 2.9 cm² excludes TEER",
        "SPEC 0.14 e: MVA < 3.0 unsuitable",
        build(PMR_HIGH_RISK, echo={"mitral_valve_area_cm2": 2.9}),
        [],
        ["teer"],
        ["teer_excluded_small_mva"],
    ),
    (
        "MVA 3.0 cm²: TEER with Heart Team",
        "SPEC 0.14 e: 3.0-4.0 conditional, Heart Team",
        build(PMR_HIGH_RISK, echo={"mitral_valve_area_cm2": 3.0}),
        ["teer", "heart_team_review"],
        [],
        ["teer_mva_borderline"],
    ),
    (
        "MVA 3.99 cm²: TEER with Heart Team",
        "SPEC 0.14 e: 3.0-4.0 conditional",
        build(PMR_HIGH_RISK, echo={"mitral_valve_area_cm2": 3.99}),
        ["teer"],
        [],
        ["teer_mva_borderline"],
    ),
    (
        "MVA 4.0 cm²: TEER, no caution",
        "SPEC 0.14 e: EVEREST II excluded < 4.0",
        build(PMR_HIGH_RISK, echo={"mitral_valve_area_cm2": 4.0}),
        ["teer"],
        [],
        [],
    ),
    (
        "mean gradient 4.9 mmHg: TEER",
        "SPEC 0.14 e: gradient ≥ 5 unsuitable",
        build(PMR_HIGH_RISK, echo={"mitral_mean_gradient_mmhg": 4.9}),
        ["teer"],
        [],
        [],
    ),
    (
        "mean gradient 5.0 mmHg excludes TEER",
        "SPEC 0.14 e: gradient ≥ 5 unsuitable",
        build(PMR_HIGH_RISK, echo={"mitral_mean_gradient_mmhg": 5.0}),
        [],
        ["teer"],
        ["teer_excluded_gradient"],
    ),
    (
        "secondary MR Table 7 with MVA 2.9: no TEER",
        "SPEC 0.14 e, every TEER row",
        build(SMR_TABLE7, echo={"mitral_valve_area_cm2": 2.9}),
        ["gdmt"],
        ["teer"],
        ["teer_excluded_small_mva"],
    ),
    (
        "atrial SMR at high risk with MVA 2.9: no TEER",
        "Rec. Table 7 atrial TEER IIb B; §9.2.5.2 limited MVA; SPEC 0.14 e",
        build(
            PMR_HIGH_RISK,
            etiology="secondary_atrial",
            echo={"mitral_valve_area_cm2": 2.9},
        ),
        [],
        ["teer"],
        ["teer_excluded_small_mva"],
    ),
    (
        "acute chordal rupture at high risk with MVA 2.9: surgery, no TEER",
        "§9.1.4 TEER in high-risk patients; SPEC 0.14 e exclusions on every TEER row",
        build(
            ACUTE,
            echo={"flail_leaflet": True, "mitral_valve_area_cm2": 2.9},
            management={"surgical_risk": "high", "teer_anatomy": "suitable"},
        ),
        ["surgery_mv", "repair_preferred"],
        ["teer"],
        ["teer_excluded_small_mva"],
    ),
    # --- f. CRT before TEER -----------------------------------------------------------
    (
        "CRT indicated, not implanted: CRT, no TEER",
        "Rec. Table 7: TEER 'despite optimized GDMT and CRT (if indicated)'",
        build(SMR_TABLE7, management={"crt_implanted": False}),
        ["crt", "gdmt"],
        ["teer"],
        ["conditional:teer"],
    ),
    (
        "CRT status not recorded counts as not implanted",
        "Rec. Table 7 (CRT if indicated); exclusions confirmed by the clinician",
        build(SMR_TABLE7, management={"crt_implanted": DELETE}),
        ["crt"],
        ["teer"],
        ["conditional:teer"],
    ),
    (
        "CRT indicated: no isolated SMR surgery either",
        "Rec. Table 7 MV surgery IIb C; Figure 13 (GDMT optimisation including CRT first)",
        build(
            SMR_TABLE7,
            management={"crt_implanted": False, "teer_anatomy": "unsuitable"},
        ),
        ["crt"],
        ["surgery_mv", "teer"],
        [],
    ),
    # --- m. PCI then TEER ---------------------------------------------------------------
    (
        "symptomatic SMR with non-complex CAD: PCI first, no TEER yet",
        "Rec. Table 7: PCI followed by TEER after re-evaluation of MR (IIb C)",
        build(
            SMR_TABLE7,
            management={
                "cad_requiring_revascularization": True,
                "cad_complexity": "non_complex",
            },
        ),
        ["coronary_revascularization", "gdmt"],
        ["teer"],
        [],
    ),
    # --- n. no echo -------------------------------------------------------------------
    (
        "no echocardiogram recorded: baseline TTE, not TOE/CMR",
        "§9.1.2.1: echocardiography is the diagnostic method of choice; SPEC 0.14 n",
        build(PMR_ASYMPTOMATIC, echo=DELETE),
        ["tte_baseline"],
        ["further_imaging_tee_cmr", "surgery_mv", "no_treatment"],
        [],
    ),
    (
        "poor-quality echo done: TOE/CMR, no baseline TTE",
        "§9.1.2.1 TOE to confirm severity; §9.1.2.3 CMR when inconclusive",
        build(PMR_ASYMPTOMATIC, echo={"image_quality": "poor"}),
        ["further_imaging_tee_cmr"],
        ["tte_baseline"],
        [],
    ),
    # --- o. follow-up and text statements ---------------------------------------------
    (
        "active endocarditis with mild MR: no surveillance, no 'no treatment'",
        "SPEC 0.14 o: surveillance intervals are for chronic stable disease",
        build(
            PMR_ASYMPTOMATIC,
            etiology="infective_endocarditis",
            echo={
                "eroa_cm2": 0.1,
                "regurgitant_volume_ml": 20,
                "regurgitant_fraction_pct": 20,
                "vegetation_mm": 8,
            },
        ),
        ["endocarditis_management"],
        [
            "surveillance_echo_3_5y",
            "surveillance_echo_1_2y",
            "surveillance_echo_6_12m",
            "no_treatment",
        ],
        [],
    ),
    (
        "acute MR: no surveillance interval",
        "SPEC 0.14 o",
        build(ACUTE, echo={"flail_leaflet": True}),
        [],
        ["surveillance_echo_3_5y", "surveillance_echo_1_2y", "surveillance_echo_6_12m"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("source", "data", "present", "absent", "cautions"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_esc_rule_follows_the_text(source, data, present, absent, cautions):
    result = run(data)
    got = codes(result)
    for code in present:
        assert code in got, f"{code} missing ({source}); got {got}"
    for code in absent:
        assert code not in got, f"{code} recommended against {source}"
    for key in cautions:
        if key.startswith("conditional:"):  # SPEC 0.14 f: "would apply after CRT"
            conditional = [c["code"] for c in result["conditional"]]
            assert key.split(":")[1] in conditional, f"{key} missing ({source})"
            continue
        assert key in caution_keys(result), f"caution {key} missing ({source})"


def test_excluded_teer_names_its_reason_in_the_trace():
    result = run(build(PMR_HIGH_RISK, echo={"mitral_valve_area_cm2": 2.9}))
    caution = next(
        c for c in result["cautions"] if c["rule"] == "teer_excluded_small_mva"
    )
    assert "3.0" in caution["title"]
    assert "Mitral valve area" in caution["condition"]


def test_unrecorded_mva_leaves_teer_but_asks_for_the_area():
    result = run(PMR_HIGH_RISK)
    assert "teer" in codes(result)
    assert "echo.mitral_valve_area_cm2" in missing(result)
    assert "echo.mitral_mean_gradient_mmhg" in missing(result)


def test_papillary_muscle_rupture_does_not_ask_for_teer_measurements():
    # §9.1.4: replacement is generally required; no TEER row applies, so its exclusions
    # (MVA, gradient) are not asked for in the emergency.
    result = run(build(ACUTE, etiology="papillary_muscle_rupture"))
    assert "echo.mitral_valve_area_cm2" not in missing(result)


def test_acute_hypotension_means_no_vasodilator_and_oedema_alone_allows_one():
    # §9.1.3: "Afterload reduction with sodium nitroprusside ... without signs of
    # hypotension".
    hypotensive = by_code(
        run(build(ACUTE, hemodynamics={"hypotension": True, "pulmonary_edema": True}))
    )
    assert (
        hypotensive["acute_stabilization"]["rule"] == "acute_stabilization_hypotensive"
    )
    congested = by_code(run(build(ACUTE, hemodynamics={"pulmonary_edema": True})))
    assert congested["acute_stabilization"]["rule"] == "acute_stabilization_congested"
    assert "nitroprusside" in congested["acute_stabilization"]["detail"]


def test_acute_surgery_has_no_class_and_acute_ventricular_smr_teer_is_an_option():
    # §9.1.4 and §6.5 are text statements, without class and level.
    surgery = by_code(run(build(ACUTE, echo={"flail_leaflet": True})))["surgery_mv"]
    assert (surgery["class"], surgery["level"]) == (None, None)
    vsmr = build(
        ACUTE,
        etiology="secondary_ischemic",
        echo={**SEVERE},
        management={"teer_anatomy": "suitable"},
    )
    teer = by_code(run(vsmr))["teer"]
    assert teer["rule"] == "acute_vsmr_teer"
    assert (teer["class"], teer["level"]) == (None, None)


# g. CRT bands, ESC HF 2021 §6.2 recommendations for CRT implantation: QRS ≥ 150 LBBB
# I A; ≥ 150 non-LBBB IIa B; 130-149 LBBB IIa B; 130-149 non-LBBB IIb B; < 130 III A.
CRT_BASE = build(
    SMR_TABLE7, etiology="secondary_nonischemic", management={"crt_implanted": False}
)


@pytest.mark.parametrize(
    ("qrs", "lbbb", "expected"),
    [
        pytest.param(150, True, ("I", "A"), id="QRS 150 LBBB → I A"),
        pytest.param(149, True, ("IIa", "B"), id="QRS 149 LBBB → IIa B"),
        pytest.param(130, True, ("IIa", "B"), id="QRS 130 LBBB → IIa B"),
        pytest.param(150, False, ("IIa", "B"), id="QRS 150 non-LBBB → IIa B"),
        pytest.param(149, False, ("IIb", "B"), id="QRS 149 non-LBBB → IIb B"),
        pytest.param(130, False, ("IIb", "B"), id="QRS 130 non-LBBB → IIb B"),
        pytest.param(
            150, None, ("IIa", "B"), id="QRS 150 morphology unknown → ≥ IIa B"
        ),
        pytest.param(
            140, None, ("IIb", "B"), id="QRS 140 morphology unknown → ≥ IIb B"
        ),
        pytest.param(129, True, None, id="QRS 129 LBBB → no CRT"),
    ],
)
def test_crt_band_class_and_level(qrs, lbbb, expected):
    data = build(
        CRT_BASE, ecg={"qrs_ms": qrs, "lbbb": DELETE if lbbb is None else lbbb}
    )
    result = run(data)
    crt = by_code(result).get("crt")
    if expected is None:
        assert crt is None
        narrow = next(
            c for c in result["cautions"] if c["rule"] == "esc_crt_narrow_qrs"
        )
        assert (narrow["class"], narrow["level"]) == ("III", "A")
        assert "teer" in codes(result)  # CRT not indicated: TEER is not held back
    else:
        assert (crt["class"], crt["level"]) == expected
        assert crt["source"]["url"] == "https://doi.org/10.1093/eurheartj/ehab368"
        assert "teer" not in codes(result)


@pytest.mark.parametrize(
    ("change", "crt"),
    [
        pytest.param({"echo": {"lvef_pct": 35}}, True, id="LVEF 35 → CRT"),
        pytest.param({"echo": {"lvef_pct": 36}}, False, id="LVEF 36 → no CRT"),
        pytest.param(
            {"management": {"months_on_gdmt": 3}}, True, id="3 months OMT → CRT"
        ),
        pytest.param({"management": {"months_on_gdmt": 2}}, False, id="2 months → no"),
        pytest.param({"ecg": {"rhythm": "atrial_fibrillation"}}, False, id="AF → no"),
        pytest.param({"symptoms": {"nyha_class": 1}}, False, id="asymptomatic → no"),
        pytest.param(
            {"management": {"crt_implanted": True}}, False, id="implanted → no"
        ),
    ],
)
def test_crt_needs_symptoms_lvef_35_three_months_and_sinus_rhythm(change, crt):
    # "CRT is recommended for symptomatic patients with HF in SR ... with LVEF ≤ 35 %
    # despite OMT" (OMT: class I medical therapies for at least 3 months).
    assert ("crt" in codes(run(build(CRT_BASE, **change)))) is crt


# h. §9.1.3: "Patients with PMR and impaired LV function should receive GDMT according to
# HF Guidelines" (LVEF < 50 % as impaired: [J]).
@pytest.mark.parametrize(
    ("lvef", "gdmt"),
    [
        pytest.param(49.9, True, id="LVEF 49.9 → GDMT"),
        pytest.param(50, False, id="LVEF 50 → none"),
    ],
)
def test_gdmt_for_primary_mr_with_impaired_lv(lvef, gdmt):
    moderate = {
        "eroa_cm2": 0.3,
        "regurgitant_volume_ml": 45,
        "regurgitant_fraction_pct": 40,
    }
    data = build(PMR_ASYMPTOMATIC, echo={**moderate, "lvef_pct": lvef})
    assert ("gdmt" in codes(run(data))) is gdmt


# i. Rec. Table 6 counts "AF" without restricting it to the current ECG.
def test_paroxysmal_af_counts_for_the_three_of_four_rule_and_for_ablation():
    three = build(
        PMR_ASYMPTOMATIC,
        ecg={"af_pattern": "paroxysmal"},
        echo={"pasp_mmhg": 55, "la_volume_index_ml_m2": 65},
    )
    result = by_code(run(three))
    assert result["surgery_mv"]["rule"] == "esc_three_of_four"
    assert (result["surgery_mv"]["class"], result["surgery_mv"]["level"]) == ("I", "B")
    # Rec. Table 2: concomitant surgical ablation I A (LAA closure I B in the detail).
    assert (
        result["af_ablation_laao"]["class"],
        result["af_ablation_laao"]["level"],
    ) == ("I", "A")
    assert "I B" in result["af_ablation_laao"]["detail"]
    two = build(PMR_ASYMPTOMATIC, echo={"pasp_mmhg": 55, "la_volume_index_ml_m2": 65})
    surgery = by_code(run(two))["surgery_mv"]
    assert (surgery["rule"], surgery["class"]) == ("esc_af_or_ph", "IIa")


# j. Rec. Table 2: DOACs in preference to VKAs in AF with MR eligible for OAC (I A); not
# with AF and rheumatic MS with MVA ≤ 2.0 cm² (III B); §14.3.1.1 contraindicated with MHV.
AF_PMR = build(PMR_ASYMPTOMATIC, ecg={"rhythm": "atrial_fibrillation"})


@pytest.mark.parametrize(
    ("change", "doac", "caution"),
    [
        pytest.param({}, True, None, id="degenerative MR in AF → DOAC I A"),
        pytest.param(
            {"etiology": "rheumatic", "echo": {"mitral_valve_area_cm2": 2.1}},
            True,
            None,
            id="rheumatic MR, MVA 2.1 → DOAC",
        ),
        pytest.param(
            {"etiology": "rheumatic", "echo": {"mitral_valve_area_cm2": 2.0}},
            False,
            "esc_no_doac_rheumatic_ms",
            id="rheumatic MS MVA 2.0 → III B",
        ),
        pytest.param(
            {"echo": {"mitral_valve_area_cm2": 1.8}},
            False,
            "esc_no_doac_ms",
            id="MS MVA 1.8 → no DOAC",
        ),
        pytest.param(
            {"etiology": "rheumatic"},
            False,
            None,
            id="rheumatic, MVA unknown → decided only with the MVA",
        ),
    ],
)
def test_doac_choice(change, doac, caution):
    result = run(build(AF_PMR, **change))
    rec = by_code(result).get("anticoagulation_doac")
    assert (rec is not None) is doac
    if doac:
        assert (rec["class"], rec["level"]) == ("I", "A")
        assert "indicated" in rec["detail"]
    if caution:
        assert caution in caution_keys(result)
    if change == {"etiology": "rheumatic"}:
        assert "echo.mitral_valve_area_cm2" in missing(result)


def test_no_doac_beside_a_mechanical_valve():
    # Replacement (repair unlikely) at 55 years → mechanical valve IIa C (Rec. Table 13).
    data = build(
        AF_PMR,
        patient={"age_years": 55},
        symptoms={"nyha_class": 3},
        management={"repair_likelihood": "low"},
    )
    result = run(data)
    assert "prosthesis_mechanical" in codes(result)
    assert "anticoagulation_doac" not in codes(result)
    assert "no_doac_mechanical_valve" in caution_keys(result)


# k. Rec. Table 9: concomitant TV repair may be considered in mild secondary TR with a
# tricuspid annulus ≥ 40 mm (IIb B).
@pytest.mark.parametrize(
    ("annulus", "expected"),
    [
        pytest.param(40, ("IIb", "B"), id="annulus 40 → IIb B"),
        pytest.param(39.9, None, id="annulus 39.9 → none"),
    ],
)
def test_mild_tr_with_dilated_annulus_at_mv_surgery(annulus, expected):
    data = build(
        PMR_ASYMPTOMATIC, echo={"lvef_pct": 55, "tricuspid_annulus_mm": annulus}
    )
    result = by_code(run(data))
    assert "surgery_mv" in result
    rec = result.get("tv_repair_concomitant")
    assert (rec and (rec["class"], rec["level"])) == (expected if expected else None)


# k. The same row, indexed: "tricuspid annulus dilatation (≥40 mm or >21 mm/m²)"
# (Rec. Table 9). Height 160 cm and weight 50 kg: BSA 1.491 m² (Mosteller), so 32 mm is
# 21.5 mm/m² and 31 mm is 20.8 mm/m².
@pytest.mark.parametrize(
    ("annulus", "expected"),
    [
        pytest.param(32, ("IIb", "B"), id="annulus 32 mm = 21.5 mm/m² → IIb B"),
        pytest.param(31, None, id="annulus 31 mm = 20.8 mm/m² → none"),
    ],
)
def test_mild_tr_with_an_indexed_dilated_annulus_at_mv_surgery(annulus, expected):
    data = build(
        PMR_ASYMPTOMATIC,
        echo={"lvef_pct": 55, "tricuspid_annulus_mm": annulus},
        patient={"height_cm": 160, "weight_kg": 50},
    )
    result = run(data)
    assert result["derived"]["tricuspid_annulus_index_mm_m2"] == (
        21.5 if annulus == 32 else 20.8
    )
    rec = by_code(result).get("tv_repair_concomitant")
    assert (rec and (rec["class"], rec["level"])) == (expected if expected else None)


# m. "PCI followed by TEER after re-evaluation of MR may be considered in symptomatic
# patients" (IIb C).
def test_pci_then_teer_only_for_symptomatic_patients():
    cad = {"cad_requiring_revascularization": True, "cad_complexity": "non_complex"}
    symptomatic = by_code(run(build(SMR_TABLE7, management=cad)))
    rec = symptomatic["coronary_revascularization"]
    assert (rec["rule"], rec["class"], rec["level"]) == (
        "esc_pci_then_teer_revasc",
        "IIb",
        "C",
    )
    asymptomatic = by_code(
        run(build(SMR_TABLE7, management=cad, symptoms={"nyha_class": 1}))
    )
    assert (
        asymptomatic["coronary_revascularization"]["rule"] != "esc_pci_then_teer_revasc"
    )


# o. Rec. Table 11: "MV surgery is recommended in patients with severe MR undergoing
# surgery for another valve" (I C), whatever the MR type.
@pytest.mark.parametrize(
    "etiology", ["secondary_nonischemic", "secondary_atrial", "degenerative_prolapse"]
)
def test_mv_surgery_at_other_valve_surgery_for_any_mr_type(etiology):
    data = build(
        PMR_ASYMPTOMATIC,
        etiology=etiology,
        echo={"lvef_pct": 55 if etiology == "secondary_atrial" else 40},
        management={"other_cardiac_surgery_planned": True},
    )
    rec = by_code(run(data))["surgery_mv"]
    assert (rec["class"], rec["level"]) in {("I", "C"), ("I", "B")}
    if etiology != "degenerative_prolapse":
        assert rec["rule"] == "esc_other_valve_surgery"


def test_rheumatic_prophylaxis_and_pregnancy_counselling_are_text_statements():
    # §6.4 secondary prophylaxis "is recommended"; §16.1 "pre-pregnancy counselling is
    # imperative": both in the text, without class or level.
    rheumatic = by_code(run(build(PMR_ASYMPTOMATIC, etiology="rheumatic")))
    prophylaxis = rheumatic["rheumatic_secondary_prophylaxis"]
    assert (prophylaxis["class"], prophylaxis["source"]["evidence"]) == (None, "V")
    woman = build(
        PMR_ASYMPTOMATIC,
        patient={"sex": "female", "age_years": 30, "pregnancy_planned": True},
    )
    result = run(woman)
    counselling = by_code(result)["preconception_counseling"]
    assert (counselling["class"], counselling["source"]["evidence"]) == (None, "V")
    assert "pregnancy_no_prophylactic_intervention" in caution_keys(result)


def test_every_row_names_its_doi_and_what_it_was_read_against():
    doc = document_read("esc_eacts_2025")
    assert doc["ruleset"]["url"] == "https://doi.org/10.1093/eurheartj/ehaf194"
    for row in doc["rule"]:
        assert row.get("verified_from"), row["key"]
        url = row.get("url", doc["ruleset"]["url"])
        assert url.startswith("https://doi.org/10.1093/eurheartj/"), row["key"]
        if row["evidence"] == "V":
            # SPEC 0.14 names the ESC extractions; the 2023 endocarditis guideline was
            # read in another public extraction, named with its commit
            extraction = (
                "bdeornelas/bdeornelas.github.io@"
                if "endocarditis" in row.get("guideline", "")
                else "miltosdoc/cardiocode@"
            )
            assert extraction in row["verified_from"], row["key"]
        if "heart failure" in row.get("guideline", ""):
            assert url.endswith("ehab368")
