"""The safety invariants of docs/guideline.md §6b, as property tests (hypothesis).

Each invariant is checked over thousands of random in-range inputs per profile: the
inputs are drawn from the contract's own ranges (every field optional), and the
strategies below bias them towards the situation an invariant is about (an acute
presentation in shock, a TEER exclusion, severe primary MR with a failing ventricle).
The expected behaviour comes from the guideline texts cited in §6b, never from the
engine's output.
"""

import os
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidelines.engine import evaluate
from guidelines.loaders import ruleset_load
from guidelines.parameters import INTERVENTION_CODES
from guidelines.prover.invariants import (
    class_level_problems as invariant_class_level_problems,
)
from guidelines.validation import input_parse
from guidelines.vocabulary import INPUT_FIELDS, PRIMARY_ETIOLOGIES
from tests.guidelines.test_properties import value_strategy

RULE_SETS = {code: ruleset_load(code) for code in ("acc_aha_2020", "esc_eacts_2025")}
# Thousands per profile on the embedded run; the engine is pure, so the PostgreSQL run
# of the same suite repeats a smaller sample (SAFETY_EXAMPLES overrides both).
EXAMPLES = int(
    os.environ.get(
        "SAFETY_EXAMPLES", "300" if os.environ.get("DATABASE_URL") else "2000"
    )
)
SAFETY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

SEVERITY_ORDER = {"none_trivial": 0, "mild": 1, "moderate": 2, "severe": 3}
COMPROMISE = (
    "cardiogenic_shock",
    "hypotension",
    "pulmonary_edema",
    "vasopressors",
    "mechanical_support",
)
SURVEILLANCE = {
    "surveillance_echo_3_5y",
    "surveillance_echo_1_2y",
    "surveillance_echo_6_12m",
}

OPTIONAL_FIELDS = [f for f in INPUT_FIELDS if not f.required]
REQUIRED_FIELDS = [f for f in INPUT_FIELDS if f.required]


@st.composite
def contract_inputs(draw):
    """An input within the contract's ranges: the required fields and a random subset
    of the others (up to 60 of them), so that missing data is common."""
    chosen = draw(st.lists(st.sampled_from(OPTIONAL_FIELDS), max_size=60, unique=True))
    data: dict = {}
    for spec in (*REQUIRED_FIELDS, *chosen):
        value = draw(value_strategy(spec))
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = value
        else:
            data[spec.path] = value
    return without_lv_conflict(data)


def results(data):
    clean = input_parse(data)
    return {code: evaluate(clean, rule_set) for code, rule_set in RULE_SETS.items()}


def codes_of(result, key="recommendations"):
    return [r["code"] for r in result[key]]


def with_values(data, section, **values):
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    data.setdefault(section, {}).update(values)
    return data


def without_lv_conflict(data):
    echo = data.get("echo", {})
    lvesd, lvedd = echo.get("lvesd_mm"), echo.get("lvedd_mm")
    if lvesd is not None and lvedd is not None and lvesd >= lvedd:
        del echo["lvedd_mm"]
    return data


# --- 1. a severe-specific structural sign is never graded trace or mild (0.14 a) --------


@st.composite
def structural_sign_inputs(draw):
    data = draw(contract_inputs())
    sign = draw(st.sampled_from(["flail", "papillary", "lesion"]))
    if sign == "flail":
        data = with_values(data, "echo", flail_leaflet=True)
    elif sign == "lesion":
        data = with_values(data, "echo", leaflet_lesion="severe")
    else:
        data["etiology"] = "papillary_muscle_rupture"
    return data


@SAFETY
@given(structural_sign_inputs())
def test_a_structural_severe_sign_is_never_graded_trace_or_mild(data):
    for code, result in results(data).items():
        assert result["severity"] not in ("none_trivial", "mild"), (code, data)


# --- 2. acute MR with haemodynamic compromise is stabilised (0.14 b) -------------------


@st.composite
def acute_compromise_inputs(draw):
    data = draw(contract_inputs())
    data["presentation"] = "acute"
    flags = draw(st.lists(st.sampled_from(COMPROMISE), min_size=1, unique=True))
    return with_values(data, "hemodynamics", **dict.fromkeys(flags, True))


@SAFETY
@given(acute_compromise_inputs())
def test_acute_mr_with_compromise_always_gets_stabilization_never_chronic_care(data):
    for code, result in results(data).items():
        codes = set(codes_of(result))
        assert "acute_stabilization" in codes, (code, data)
        assert "gdmt" not in codes, (code, data)
        assert not codes & SURVEILLANCE, (code, data)


# --- 3. TEER exclusions (0.14 e) and CRT before TEER (0.14 f) --------------------------

EXCLUSIONS = {
    "active endocarditis": lambda d: {**d, "etiology": "infective_endocarditis"},
    "rheumatic leaflets": lambda d: {**d, "etiology": "rheumatic"},
    "severe calcification": lambda d: with_values(
        d, "echo", leaflet_calcification="severe"
    ),
    "valve area < 3.0 cm²": lambda d: with_values(
        d, "echo", mitral_valve_area_cm2=Decimal("2.9")
    ),
    "mean gradient ≥ 5 mmHg": lambda d: with_values(
        d, "echo", mitral_mean_gradient_mmhg=Decimal(5)
    ),
}


@st.composite
def teer_candidate_inputs(draw):
    """Inputs that would often lead to TEER (symptomatic, high risk, suitable anatomy),
    with one exclusion of SPEC 0.14 e."""
    data = draw(contract_inputs())
    data = with_values(
        data,
        "management",
        teer_anatomy="suitable",
        surgical_risk=draw(st.sampled_from(["high", "prohibitive"])),
        gdmt_optimized=True,
        life_expectancy_over_1y=True,
    )
    data = with_values(data, "symptoms", nyha_class=draw(st.integers(2, 4)))
    data = with_values(
        data,
        "echo",
        eroa_cm2=Decimal("0.5"),
        regurgitant_volume_ml=Decimal(75),
        regurgitant_fraction_pct=Decimal(55),
        image_quality="adequate",
    )
    if draw(st.booleans()):
        data["etiology"] = draw(
            st.sampled_from(["secondary_ischemic", "secondary_nonischemic"])
        )
    exclusion = draw(st.sampled_from(sorted(EXCLUSIONS)))
    return exclusion, EXCLUSIONS[exclusion](data)


@SAFETY
@given(teer_candidate_inputs())
def test_teer_is_never_recommended_with_an_exclusion(case):
    exclusion, data = case
    for code, result in results(data).items():
        assert "teer" not in codes_of(result), (code, exclusion, data)


@SAFETY
@given(contract_inputs())
def test_no_teer_or_isolated_surgery_for_secondary_mr_while_crt_is_pending(data):
    for code, result in results(data).items():
        codes = set(codes_of(result))
        if not result["mr_type"].startswith("secondary") or "crt" not in codes:
            continue
        if data.get("management", {}).get("crt_implanted") is True:
            continue
        assert "teer" not in codes, (code, data)
        management = data.get("management", {})
        concomitant = (
            management.get("cabg_planned") is True
            or management.get("other_cardiac_surgery_planned") is True
        )
        if not concomitant:  # isolated surgery waits for CRT (docs/guideline.md §6b)
            assert "surgery_mv" not in codes, (code, data)


# --- 4. severe primary MR with a failing ventricle always gets surgery ----------------


@st.composite
def severe_primary_lv_dysfunction(draw):
    """Chronic severe primary MR (three concordant severe quantitative parameters), LVEF
    ≤ 60 % or LVESD ≥ 40 mm, low or intermediate risk; everything else random."""
    data = draw(contract_inputs())
    data["presentation"] = "chronic"
    data["etiology"] = draw(
        st.sampled_from(
            [e for e in PRIMARY_ETIOLOGIES if e != "infective_endocarditis"]
        )
    )
    echo = {
        "eroa_cm2": draw(st.decimals("0.40", "1.20", places=2)),
        "regurgitant_volume_ml": draw(st.decimals("60", "200", places=0)),
        "regurgitant_fraction_pct": draw(st.decimals("50", "85", places=0)),
    }
    for name in ("lvedd_mm", "la_volume_index_ml_m2", "pasp_mmhg", "tr_grade"):
        if name in data.get("echo", {}):
            echo[name] = data["echo"][name]
    if draw(st.booleans()):
        echo["lvef_pct"] = draw(st.decimals("20", "60", places=1))
        if draw(st.booleans()):
            echo["lvesd_mm"] = draw(st.decimals("20", "60", places=0))
    else:
        echo["lvesd_mm"] = draw(st.decimals("40", "70", places=0))
        if draw(st.booleans()):
            echo["lvef_pct"] = draw(st.decimals("20", "80", places=1))
    data["echo"] = echo
    data = with_values(
        data, "management", surgical_risk=draw(st.sampled_from(["low", "intermediate"]))
    )
    data.get("hemodynamics", {}).pop("cardiogenic_shock", None)
    return without_lv_conflict(data)


@SAFETY
@given(severe_primary_lv_dysfunction())
def test_severe_primary_mr_with_lv_dysfunction_always_gets_surgery(data):
    for code, result in results(data).items():
        assert result["severity"] == "severe", (code, data)
        assert "surgery_mv" in codes_of(result), (code, data)


@SAFETY
@given(severe_primary_lv_dysfunction(), st.decimals("1", "40", places=1))
def test_lowering_lvef_alone_never_removes_surgery_from_primary_mr(data, drop):
    before = results(data)
    lvef = data["echo"].get("lvef_pct", Decimal(60))
    lowered = with_values(data, "echo", lvef_pct=max(Decimal(5), lvef - drop))
    after = results(lowered)
    for code in RULE_SETS:
        if "surgery_mv" in codes_of(before[code]):
            assert "surgery_mv" in codes_of(after[code]), (code, data, lowered)


# --- 5. chronic trivial or mild MR is never operated on -------------------------------


@st.composite
def chronic_mild_inputs(draw):
    data = draw(contract_inputs())
    data["presentation"] = "chronic"
    if data.get("etiology") == "infective_endocarditis":
        data["etiology"] = "degenerative_prolapse"
    echo = {
        "eroa_cm2": draw(st.decimals("0", "0.19", places=2)),
        "regurgitant_volume_ml": draw(st.decimals("0", "29", places=0)),
        "regurgitant_fraction_pct": draw(st.decimals("0", "29", places=0)),
    }
    for name in ("lvef_pct", "lvesd_mm", "tr_grade", "aortic_valve_disease"):
        if name in data.get("echo", {}):
            echo[name] = data["echo"][name]
    data["echo"] = echo
    return data


@SAFETY
@given(chronic_mild_inputs())
def test_chronic_mild_or_trivial_mr_never_gets_surgery_teer_or_replacement(data):
    for code, result in results(data).items():
        if result["severity"] not in ("none_trivial", "mild"):
            continue
        codes = set(codes_of(result))
        assert not codes & {"surgery_mv", "teer", "replacement"}, (code, data)


# --- 6. well-formed advice --------------------------------------------------------------


def class_level_problems(code, item):
    """Class and level vocabularies (SPEC 0.1, 0.14 l): one statement of the
    invariant, shared with the prover (guidelines/prover/invariants.py)."""
    return invariant_class_level_problems(
        code, item["class"], item["level"], item["source"]["guideline"]
    )


@SAFETY
@given(contract_inputs())
def test_advice_is_well_formed(data):
    for code, result in results(data).items():
        codes = codes_of(result)
        assert len(codes) == len(set(codes)), (code, codes)
        assert not ("no_treatment" in codes and INTERVENTION_CODES.intersection(codes))
        conditional = codes_of(result, "conditional")
        assert not set(conditional) & set(codes), (code, conditional, codes)
        for item in (
            *result["recommendations"],
            *result["cautions"],
            *result["conditional"],
        ):
            assert class_level_problems(code, item) == [], (code, item["code"])


# --- 7. monotone grading ----------------------------------------------------------------

QUANTITATIVE = {
    "eroa_cm2": Decimal(2),
    "regurgitant_volume_ml": Decimal(300),
    "regurgitant_fraction_pct": Decimal(100),
    "vena_contracta_cm": Decimal(2),
}


@SAFETY
@given(
    contract_inputs(),
    st.sampled_from(sorted(QUANTITATIVE)),
    st.decimals("0.001", "50", places=3),
)
def test_raising_eroa_rvol_rf_or_vc_alone_never_lowers_severity(data, name, bump):
    echo = data.get("echo", {})
    if name not in echo:
        return
    raised = with_values(
        data, "echo", **{name: min(Decimal(str(echo[name])) + bump, QUANTITATIVE[name])}
    )
    before, after = results(data), results(raised)
    for code in RULE_SETS:
        old, new = before[code]["severity"], after[code]["severity"]
        if old in SEVERITY_ORDER and new in SEVERITY_ORDER:
            assert SEVERITY_ORDER[new] >= SEVERITY_ORDER[old], (code, data, raised)
