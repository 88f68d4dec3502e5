"""Staging (SPEC 0.3, 2.1, 2.2) and recommendation rules beyond the vignettes."""

import pytest

from guidelines.engine import evaluate
from guidelines.loaders import ruleset_load
from guidelines.validation import input_parse

ACC = ruleset_load("acc_aha_2020")
ESC = ruleset_load("esc_eacts_2025")
SEVERE = {"eroa_cm2": 0.5, "regurgitant_volume_ml": 70, "regurgitant_fraction_pct": 55}


def run(
    rule_set=ACC, *, echo=None, etiology="degenerative_prolapse", nyha=1, **sections
):
    data = {
        "etiology": etiology,
        "patient": {"age_years": 60, "sex": "male", "height_cm": 175, "weight_kg": 75},
        "symptoms": {"nyha_class": nyha} if nyha else {},
        "echo": {
            **SEVERE,
            "lvef_pct": 65,
            "lvesd_mm": 35,
            "lvedd_mm": 55,
            **(echo or {}),
        },
        **sections,
    }
    return evaluate(input_parse(data), rule_set)


def codes(result):
    return [r["code"] for r in result["recommendations"]]


@pytest.mark.parametrize(
    ("lvef", "lvesd", "stage"),
    [
        pytest.param(60, 35, "C2", id="LVEF 60 → C2 (inclusive)"),
        pytest.param(61, 35, "C1", id="LVEF 61 → C1"),
        pytest.param(65, 40, "C2", id="LVESD 40 → C2 (inclusive)"),
        pytest.param(65, 39, "C1", id="LVESD 39 → C1"),
        pytest.param(60.5, 39.9, "C1", id="LVEF 60.5 / LVESD 39.9 → C1 (no rounding)"),
    ],
)
def test_primary_c1_c2_split(lvef, lvesd, stage):
    assert run(echo={"lvef_pct": lvef, "lvesd_mm": lvesd})["stage"] == stage


def test_missing_lvesd_leaves_stage_undetermined_when_lvef_is_normal():
    data_echo = {"lvef_pct": 65, "lvesd_mm": None, "lvedd_mm": None}
    result = run(echo=data_echo)
    assert result["stage"] == "undetermined"
    assert any(
        m["parameter"] == "echo.lvesd_mm" and "C1 from C2" in m["reason"]
        for m in result["missing"]
    )


def test_symptomatic_severe_primary_is_stage_d_with_surgery():
    result = run(nyha=3)
    assert result["stage"] == "D"
    assert {"surgery_mv", "repair_preferred"} <= set(codes(result))


def test_unknown_symptom_status_is_undetermined():
    result = run(nyha=None)
    assert result["stage"] == "undetermined"
    assert any(m["parameter"] == "symptoms.nyha_class" for m in result["missing"])


def test_acute_presentation_has_no_chronic_stage():
    assert run(presentation="acute")["stage"] == "not_applicable"


def test_secondary_stage_d_needs_optimised_gdmt():
    base = {
        "etiology": "secondary_nonischemic",
        "nyha": 3,
        "echo": {"lvef_pct": 35, "lvesd_mm": 50, "lvedd_mm": 65},
    }
    assert run(**base, management={"gdmt_optimized": False})["stage"] == "C"
    assert run(**base, management={"gdmt_optimized": True})["stage"] == "D"


def test_esc_indexed_lvesd_triggers_surgery_only_in_the_esc_profile():
    # Small woman: LVESD 36 mm (< 40) but LVESDi ≥ 20 mm/m².
    patient = {"age_years": 55, "sex": "female", "height_cm": 150, "weight_kg": 45}
    data = {
        "etiology": "degenerative_prolapse",
        "patient": patient,
        "symptoms": {"nyha_class": 1},
        "echo": {**SEVERE, "lvef_pct": 65, "lvesd_mm": 29, "lvedd_mm": 50},
    }
    acc, esc = evaluate(input_parse(data), ACC), evaluate(input_parse(data), ESC)
    assert esc["derived"]["lvesd_index_mm_m2"] >= 20
    assert acc["stage"] == esc["stage"] == "C1"
    assert "surgery_mv" in codes(esc)
    assert "surgery_mv" not in codes(acc)


def test_esc_three_of_four_rule_needs_three():
    two = {"rhythm": "atrial_fibrillation"}
    echo = {"pasp_mmhg": 55, "la_volume_index_ml_m2": 40, "tr_grade": "mild"}
    management = {"surgical_risk": "low", "repair_likelihood": "high"}
    result = run(ESC, echo=echo, ecg=two, management=management)
    rules = [r["rule"] for r in result["recommendations"]]
    assert "esc_three_of_four" not in rules
    assert "esc_af_or_ph" in rules  # SPAP > 50 alone: IIa
    result = run(
        ESC, echo={**echo, "la_volume_index_ml_m2": 60}, ecg=two, management=management
    )
    assert "esc_three_of_four" in [r["rule"] for r in result["recommendations"]]


def test_every_recommendation_carries_its_evidence():
    result = run(nyha=3)
    for rec in result["recommendations"]:
        assert rec["source"]["guideline"]
        assert rec["source"]["section"]
        assert rec["source"]["evidence"] in "VSMJ"
        assert rec["source"]["pending_clinical_verification"] == (
            rec["source"]["evidence"] in "MS"
        )


def test_class_and_level_use_each_guidelines_labels():
    acc = run(nyha=3)
    esc = run(ESC, nyha=3)
    assert {r["class"] for r in acc["recommendations"] if r["class"]} <= {
        "1",
        "2a",
        "2b",
        "3: No Benefit",
        "3: Harm",
    }
    assert {r["class"] for r in esc["recommendations"] if r["class"]} <= {
        "I",
        "IIa",
        "IIb",
        "III",
    }


def test_a_rule_that_needs_an_absent_value_does_not_fire_and_says_why():
    result = run(management={"repair_likelihood": "high"})  # no valve centre, no STS
    assert "P4" not in [r["rule"] for r in result["recommendations"]]
    missing = {m["parameter"]: m["reason"] for m in result["missing"]}
    assert "Early mitral valve repair" in missing["management.valve_center"]


def test_surgical_risk_is_derived_from_sts_with_a_warning():
    result = run(management={"sts_prom_pct": 9.5})
    assert result["surgical_risk"] == "high"
    assert any("derived as high" in w for w in result["warnings"])


def test_frailty_alone_is_never_prohibitive_or_low():
    assert run(management={"frailty": "severe"})["surgical_risk"] == "high"
    assert run(management={"frailty": "none"})["surgical_risk"] is None


def test_harmful_replacement_is_a_caution_not_a_recommendation():
    result = run(nyha=3, management={"posterior_leaflet_limited_lesion": True})
    assert "replacement" not in codes(result)
    assert result["cautions"][0]["class"] == "3: Harm"


def test_risk_factors_are_context_only():
    plain = run()
    flagged = run(
        risk_factors={"marfan_syndrome": True}, labs={"egfr_ml_min_1_73m2": 40}
    )
    assert {"marfan_syndrome", "renal_dysfunction"} <= set(flagged["risk_factors"])
    assert flagged["severity"] == plain["severity"]
    assert codes(flagged) == codes(plain)


def test_acute_hypotensive_patient_gets_no_vasodilator_advice():
    result = run(
        presentation="acute",
        etiology="papillary_muscle_rupture",
        hemodynamics={"hypotension": True},
    )
    stabilization = next(
        r for r in result["recommendations"] if r["code"] == "acute_stabilization"
    )
    assert "Avoid nitrates" in stabilization["detail"]
    assert "gdmt" not in codes(result)


def test_optional_triggers_absent_are_not_reported_missing():
    result = run(nyha=3)
    missing = {m["parameter"] for m in result["missing"]}
    assert not missing & {
        "symptoms.edema",
        "management.cabg_planned",
        "hemodynamics.pulmonary_edema",
    }
    congested = run(nyha=3, symptoms={"nyha_class": 3, "edema": True})
    assert "symptomatic_diuretics" in codes(congested)


def test_exclusion_assumed_absent_is_reported_for_confirmation():
    data = {
        "etiology": "secondary_ischemic",
        "patient": {"age_years": 68, "sex": "male"},
        "symptoms": {"nyha_class": 3},
        "labs": {"nt_probnp_pg_ml": 3100},
        "echo": {
            **SEVERE,
            "lvef_pct": 35,
            "lvesd_mm": 55,
            "lvedd_mm": 66,
            "pasp_mmhg": 45,
            "rv_dysfunction": "none",
            "aortic_valve_disease": "none",
        },
        "management": {
            "gdmt_optimized": True,
            "cad_requiring_revascularization": False,
            "advanced_heart_failure": False,
            "teer_anatomy": "suitable",
        },
    }
    result = evaluate(input_parse(data), ESC)
    teer = next(r for r in result["recommendations"] if r["code"] == "teer")
    assert (teer["class"], teer["level"]) == ("I", "A")
    reasons = {m["parameter"]: m["reason"] for m in result["missing"]}
    assert reasons["echo.tr_grade"].startswith("not recorded; assumed not severe")
    severe_tr = evaluate(
        input_parse({**data, "echo": {**data["echo"], "tr_grade": "severe"}}), ESC
    )
    assert ("teer", "I") not in {
        (r["code"], r["class"]) for r in severe_tr["recommendations"]
    }
