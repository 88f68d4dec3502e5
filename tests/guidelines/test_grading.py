"""ASE 2017 grading (SPEC 1.1-1.4), boundaries generated from the threshold rows and
hand-written edge cases: exactly on a cut-off, just below, discordance, missing data."""

from decimal import Decimal

import pytest

from guidelines.engine import evaluate
from guidelines.expectations import BASE_PRIMARY, boundary_cases, case_problems
from guidelines.loaders import (
    SHIPPED_RULE_SETS,
    document_read,
    ruleset_from_document,
    ruleset_load,
)
from guidelines.validation import input_parse

ACC = ruleset_load("acc_aha_2020")
ESC = ruleset_load("esc_eacts_2025")
RULE_SETS = {"acc_aha_2020": ACC, "esc_eacts_2025": ESC}


def grade(echo=None, **top):
    data = {**BASE_PRIMARY, **top}
    data["echo"] = {**BASE_PRIMARY["echo"], **(echo or {})}
    return evaluate(input_parse(data), ACC)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [pytest.param(*case, id=case[0]) for case in boundary_cases(ACC)],
)
def test_boundary_cases_from_threshold_rows(name, data, expected):
    assert case_problems(data, expected, ACC) == []


def test_boundary_cases_cover_every_band_and_stage_row():
    names = [name for name, _, _ in boundary_cases(ACC)]
    bands = [c for c in ACC.severity_criteria if c.role == "band" and c.scope == "all"]
    # 3 pairs of quantitative parameters x 3 bands x (at, below, above) + 2 stage rows x 2
    assert len(names) == 3 * 3 * 3 + 2 * 2
    assert len(bands) == 9


@pytest.mark.parametrize(
    ("eroa", "rvol", "rf", "severity", "subgrade"),
    [
        pytest.param(
            0.40, 60, 50, "severe", None, id="EROA 0.40 / RVol 60 / RF 50 → severe"
        ),
        pytest.param(
            0.399,
            59.9,
            49.9,
            "moderate",
            "moderate_to_severe",
            id="0.399 / 59.9 / 49.9 → moderate-to-severe (no rounding)",
        ),
        pytest.param(
            0.30, 45, 40, "moderate", "moderate_to_severe", id="0.30 / 45 / 40"
        ),
        pytest.param(
            0.299, 44.9, 39.9, "moderate", "mild_to_moderate", id="0.299 / 44.9 / 39.9"
        ),
        pytest.param(0.20, 30, 30, "moderate", "mild_to_moderate", id="0.20 / 30 / 30"),
        pytest.param(0.199, 29.9, 29.9, "mild", None, id="0.199 / 29.9 / 29.9 → mild"),
    ],
)
def test_quantitative_cut_offs_are_inclusive_lower_bounds(
    eroa, rvol, rf, severity, subgrade
):
    result = grade(
        {
            "eroa_cm2": eroa,
            "regurgitant_volume_ml": rvol,
            "regurgitant_fraction_pct": rf,
        }
    )
    assert (result["severity"], result["severity_subgrade"]) == (severity, subgrade)


def test_two_of_three_concordant_parameters_grade():
    result = grade(
        {"eroa_cm2": 0.45, "regurgitant_volume_ml": 65, "regurgitant_fraction_pct": 45}
    )
    assert result["severity"] == "severe"


def test_parameters_two_grades_apart_are_indeterminate():
    result = grade(
        {"eroa_cm2": 0.45, "regurgitant_volume_ml": 65, "regurgitant_fraction_pct": 25}
    )
    assert result["severity"] == "indeterminate"
    assert any("Discordant" in w for w in result["warnings"])
    assert "further_imaging_tee_cmr" in [r["code"] for r in result["recommendations"]]


def test_vena_contracta_severe_against_small_eroa_is_discordant():
    result = grade(
        {"vena_contracta_cm": 0.7, "eroa_cm2": 0.28, "regurgitant_volume_ml": 40}
    )
    assert result["severity"] == "indeterminate"


def _with_rows(code, **when):
    """The shipped rule set with the severity rows named in ``when`` edited (as an
    editor would), compiled again."""
    doc = document_read(code)
    for row in doc["severity"]:
        if row["key"] in when:
            row["when"] = when[row["key"]]
    return ruleset_from_document(doc)


@pytest.mark.parametrize("code", SHIPPED_RULE_SETS)
def test_vena_contracta_discordance_message_shows_the_edited_thresholds(code):
    edited = _with_rows(
        code,
        vc_severe=["echo.vena_contracta_cm", ">=", 0.65],
        eroa_moderate_to_severe=["echo.eroa_cm2", ">=", 0.28],
    )
    echo = {
        "vena_contracta_cm": 0.66,
        "eroa_cm2": 0.25,
        "regurgitant_volume_ml": 40,
        "regurgitant_fraction_pct": 35,
    }
    data = {**BASE_PRIMARY, "echo": {**BASE_PRIMARY["echo"], **echo}}
    shipped = evaluate(input_parse(data), RULE_SETS[code])
    result = evaluate(input_parse(data), edited)

    assert shipped["severity"] == "moderate"  # 0.66 cm is below the shipped 0.7 cm
    assert result["severity"] == "indeterminate"
    expected = "Vena contracta width (cm) ≥ 0.65 with EROA (cm²) < 0.28"
    assert result["severity_basis"] == expected
    assert f"Discordant echo findings: {expected}" in result["warnings"]


def test_mild_vena_contracta_discordance_message_shows_the_edited_thresholds():
    edited = _with_rows(
        "acc_aha_2020",
        vc_mild=["echo.vena_contracta_cm", "<", 0.35],
        eroa_moderate_to_severe=["echo.eroa_cm2", ">=", 0.28],
    )
    echo = {
        "vena_contracta_cm": 0.32,
        "eroa_cm2": 0.29,
        "regurgitant_volume_ml": 50,
        "regurgitant_fraction_pct": 45,
    }
    data = {**BASE_PRIMARY, "echo": {**BASE_PRIMARY["echo"], **echo}}
    result = evaluate(input_parse(data), edited)

    assert evaluate(input_parse(data), ACC)["severity"] != "indeterminate"
    assert result["severity"] == "indeterminate"
    assert result["severity_basis"] == (
        "Vena contracta width (cm) < 0.35 with EROA (cm²) ≥ 0.28"
    )


def test_a_single_parameter_never_grades():
    assert grade({"eroa_cm2": 0.6})["severity"] == "indeterminate"
    assert grade({"jet_area_pct_la": 70})["severity"] == "indeterminate"


def test_four_specific_severe_signs_grade_severe_without_quantitation():
    result = grade(
        {
            "vena_contracta_cm": 0.8,
            "cw_jet": "dense_holosystolic_triangular",
            "pulmonary_vein_flow": "systolic_reversal",
            "flail_leaflet": True,
        }
    )
    assert result["severity"] == "severe"
    assert result["severity_basis"] == "4 criteria specific for severe MR"


def test_three_specific_severe_signs_are_not_enough():
    result = grade(
        {
            "vena_contracta_cm": 0.8,
            "cw_jet": "dense_holosystolic_triangular",
            "flail_leaflet": True,
        }
    )
    assert result["severity"] == "indeterminate"


def test_poor_image_quality_is_indeterminate_even_with_numbers():
    result = grade(
        {"image_quality": "poor", "eroa_cm2": 0.5, "regurgitant_volume_ml": 70}
    )
    assert result["severity"] == "indeterminate"


def test_trace_jet_is_none_trivial():
    result = grade(
        {"jet_timing": "brief", "flow_convergence": "none_or_small"},
        etiology="structurally_normal",
    )
    assert result["severity"] == "none_trivial"
    assert result["mr_type"] == "not_applicable"
    assert result["stage"] == "not_applicable"


def test_missing_quantitation_is_listed_not_assumed():
    result = grade({})
    missing = {m["parameter"] for m in result["missing"]}
    assert {
        "echo.eroa_cm2",
        "echo.regurgitant_volume_ml",
        "echo.vena_contracta_cm",
    } <= missing


SECONDARY = {"etiology": "secondary_ischemic", "symptoms": {"nyha_class": 1}}


@pytest.mark.parametrize(
    ("elliptical", "eroa", "rvol", "rf", "severity"),
    [
        pytest.param(
            True, 0.30, 45, 50, "severe", id="elliptical 0.30/45/RF 50 → severe"
        ),
        pytest.param(
            True,
            0.29,
            44,
            50,
            "moderate",
            id="elliptical just below 0.30/45 → moderate",
        ),
        pytest.param(
            True, 0.32, 48, 49, "moderate", id="elliptical without RF ≥ 50 → moderate"
        ),
        pytest.param(
            False,
            0.32,
            48,
            50,
            "moderate",
            id="no elliptical orifice → 2 of 3 moderate",
        ),
    ],
)
def test_secondary_mr_elliptical_orifice_lower_cut_offs(
    elliptical, eroa, rvol, rf, severity
):
    echo = {
        "elliptical_orifice": elliptical,
        "eroa_cm2": eroa,
        "regurgitant_volume_ml": rvol,
        "regurgitant_fraction_pct": rf,
    }
    assert grade(echo, **SECONDARY)["severity"] == severity


def test_pisa_derivation_matches_the_worked_example():
    result = grade(
        {
            "pisa_radius_cm": 1.0,
            "aliasing_velocity_cm_s": 40,
            "mr_peak_velocity_cm_s": 500,
            "mr_vti_cm": 150,
            "lvot_diameter_cm": 2.0,
            "lvot_vti_cm": 20,
        }
    )
    derived = result["derived"]
    assert derived["eroa_cm2"] == pytest.approx(0.503, abs=0.0005)
    assert derived["regurgitant_volume_ml"] == pytest.approx(75.4, abs=0.05)
    assert derived["lvot_stroke_volume_ml"] == pytest.approx(62.8, abs=0.05)
    assert derived["regurgitant_fraction_pct"] == pytest.approx(54.5, abs=0.05)
    assert result["severity"] == "severe"
    formulas = {d["parameter"]: d["formula"] for d in result["derivations"]}
    assert (
        "RVol / (RVol + LVOT forward stroke volume)"
        in formulas["regurgitant_fraction_pct"]
    )


def test_measured_value_wins_and_disagreement_is_warned():
    result = grade(
        {
            "eroa_cm2": 0.30,
            "pisa_radius_cm": 1.0,
            "aliasing_velocity_cm_s": 40,
            "mr_peak_velocity_cm_s": 500,
            "regurgitant_volume_ml": 50,
        }
    )
    eroa = next(f for f in result["findings"] if f["parameter"] == "echo.eroa_cm2")
    assert eroa["value"] == 0.3
    assert any("differ by more than 20 %" in w for w in result["warnings"])


def test_implausible_derived_value_is_not_used():
    result = grade(
        {
            "pisa_radius_cm": 3,
            "aliasing_velocity_cm_s": 100,
            "mr_peak_velocity_cm_s": 100,
        }
    )
    assert any("outside the plausible range" in w for w in result["warnings"])
    assert not any(
        f["parameter"] == "echo.eroa_cm2" and f.get("derived")
        for f in result["findings"]
    )


def test_decimal_comparisons_are_exact():
    # 0.1 + 0.2 style float drift must not move a value across 0.30.
    clean = input_parse({**BASE_PRIMARY, "echo": {"eroa_cm2": 0.3}})
    assert clean["echo"]["eroa_cm2"] == Decimal("0.3")


def test_esc_profile_grades_like_acc():
    data = {**BASE_PRIMARY, "echo": {"eroa_cm2": 0.40, "regurgitant_volume_ml": 60}}
    assert evaluate(input_parse(data), ESC)["severity"] == "severe"


@pytest.mark.parametrize(
    ("echo", "severity"),
    [
        pytest.param(
            {
                "eroa_cm2": 0.35,
                "regurgitant_volume_ml": 50,
                "regurgitant_fraction_pct": 45,
                "cw_jet": "dense_holosystolic_triangular",
                "pulmonary_vein_flow": "systolic_reversal",
            },
            "moderate",
            id="moderate-to-severe numbers + 2 severe signs → quantitation decides",
        ),
        pytest.param(
            {
                "eroa_cm2": 0.25,
                "regurgitant_volume_ml": 35,
                "regurgitant_fraction_pct": 35,
                "jet_type": "eccentric_wall_impinging",
            },
            "indeterminate",
            id="mild-to-moderate numbers + severe sign → discordant",
        ),
        pytest.param(
            {
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 65,
                "regurgitant_fraction_pct": 55,
                "cw_jet": "faint_partial",
            },
            "indeterminate",
            id="severe numbers + faint CW jet → discordant",
        ),
        pytest.param(
            {
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 65,
                "regurgitant_fraction_pct": 55,
                "vena_contracta_cm": 0.5,
            },
            "severe",
            id="intermediate VC does not conflict",
        ),
    ],
)
def test_signs_against_numbers_on_the_four_band_scale(echo, severity):
    assert grade(echo)["severity"] == severity
