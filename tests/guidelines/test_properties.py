"""Property tests (hypothesis): monotonic grading, no contradictory advice, and any input
within the contract's ranges evaluates without an exception."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidelines.engine import evaluate
from guidelines.loaders import ruleset_load
from guidelines.parameters import INTERVENTION_CODES
from guidelines.validation import input_parse
from guidelines.vocabulary import INPUT_FIELDS, Kind

RULE_SETS = [ruleset_load("acc_aha_2020"), ruleset_load("esc_eacts_2025")]
ORDER = {"none_trivial": 0, "mild": 1, "moderate": 2, "severe": 3}
QUANT = (
    "eroa_cm2",
    "regurgitant_volume_ml",
    "regurgitant_fraction_pct",
    "vena_contracta_cm",
)


def decimal_in(spec, places=3):
    return st.decimals(
        min_value=spec.minimum,
        max_value=spec.maximum,
        places=places,
        allow_nan=False,
        allow_infinity=False,
    ).map(float)


def value_strategy(spec):
    if spec.kind is Kind.BOOLEAN:
        return st.booleans()
    if spec.kind is Kind.CHOICE:
        return st.sampled_from(spec.choice_values)
    if spec.kind is Kind.INTEGER:
        return st.integers(int(spec.minimum), int(spec.maximum))
    return decimal_in(spec)


@st.composite
def contract_inputs(draw):
    data: dict = {}
    for spec in INPUT_FIELDS:
        if not spec.required and not draw(st.booleans()):
            continue
        value = draw(value_strategy(spec))
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = value
        else:
            data[spec.path] = value
    echo = data.get("echo", {})
    if (
        "lvesd_mm" in echo
        and "lvedd_mm" in echo
        and echo["lvesd_mm"] >= echo["lvedd_mm"]
    ):
        del echo["lvesd_mm"]
    if draw(st.booleans()):
        data["prior_echos"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"months_ago": st.integers(0, 600)},
                    optional={
                        "lvef_pct": st.integers(5, 90),
                        "lvesd_mm": st.integers(15, 100),
                    },
                ),
                max_size=5,
            )
        )
    return data


FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(contract_inputs())
def test_any_input_within_the_contract_evaluates(data):
    clean = input_parse(data)
    for rule_set in RULE_SETS:
        result = evaluate(clean, rule_set)
        assert result["severity"] in (*ORDER, "indeterminate")
        assert result["stage"] in (
            "A",
            "B",
            "C",
            "C1",
            "C2",
            "D",
            "not_applicable",
            "undetermined",
        )


@FAST
@given(contract_inputs())
def test_no_treatment_is_never_paired_with_an_intervention(data):
    clean = input_parse(data)
    for rule_set in RULE_SETS:
        codes = {r["code"] for r in evaluate(clean, rule_set)["recommendations"]}
        assert not ("no_treatment" in codes and codes & INTERVENTION_CODES)


@st.composite
def primary_echo(draw):
    echo = {
        "eroa_cm2": draw(st.decimals("0", "1", places=3)),
        "regurgitant_volume_ml": draw(st.decimals("0", "150", places=1)),
        "regurgitant_fraction_pct": draw(st.decimals("0", "90", places=1)),
        "vena_contracta_cm": draw(st.decimals("0", "1.5", places=2)),
    }
    keep = draw(st.lists(st.sampled_from(QUANT), min_size=2, max_size=4, unique=True))
    return {k: v for k, v in echo.items() if k in keep}


@settings(max_examples=400, deadline=None)
@given(
    primary_echo(),
    st.sampled_from(QUANT),
    st.decimals("0.001", "0.5", places=3),
    st.sampled_from(["degenerative_prolapse", "secondary_ischemic"]),
)
def test_raising_a_severity_parameter_never_lowers_a_determinate_grade(
    echo, name, bump, etiology
):
    base = {
        "etiology": etiology,
        "patient": {"age_years": 60, "sex": "male"},
        "symptoms": {"nyha_class": 1},
    }
    if name not in echo:
        return
    spec_max = {
        "eroa_cm2": Decimal(2),
        "regurgitant_volume_ml": Decimal(300),
        "regurgitant_fraction_pct": Decimal(100),
        "vena_contracta_cm": Decimal(2),
    }
    raised = dict(echo)
    raised[name] = min(
        echo[name] + bump * (100 if name.endswith(("_ml", "_pct")) else 1),
        spec_max[name],
    )
    for rule_set in RULE_SETS:
        before = evaluate(input_parse({**base, "echo": echo}), rule_set)["severity"]
        after = evaluate(input_parse({**base, "echo": raised}), rule_set)["severity"]
        if before in ORDER and after in ORDER:
            assert ORDER[after] >= ORDER[before], (echo, raised)
