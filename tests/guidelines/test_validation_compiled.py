"""The compiled parse: each field's parser (built once from its declaration) gives
exactly what ``parse_value`` gives, the same value of the same type or the same refusal,
for well-formed values, values at and beyond the bounds, and values of the wrong type;
``input_parse`` names every problem of an input in the order it always has."""

from decimal import Decimal

import pytest

from guidelines.validation import (
    FieldError,
    InputError,
    field_parser,
    input_parse,
    parse_value,
)
from guidelines.vocabulary import INPUT_FIELDS, PRIOR_ECHO_FIELDS, Kind

ANY_FIELD = [
    None,
    True,
    False,
    0,
    1,
    -1,
    0.0,
    -0.0,
    "",
    " ",
    "yes",
    [],
    {},
    [1],
    {"value": 1},
    float("inf"),
    float("-inf"),
    float("nan"),
    10**30,
    -(10**30),
    10**4000,
    1e308,
    1e-5,
    0.1234,
    0.125,
    0.3,
    Decimal("0.5"),
    Decimal("NaN"),
    "1e3",
    "NaN",
]


def raw_values(spec):
    """Values around the declaration of ``spec``, and of every other type."""
    values = list(ANY_FIELD)
    if spec.kind is Kind.CHOICE:
        for choice in spec.choice_values:
            values += [choice, choice.upper(), f" {choice}", choice + "x"]
    if spec.kind in (Kind.DECIMAL, Kind.INTEGER):
        for bound in (spec.minimum, spec.maximum):
            for step in (0, 1, Decimal("0.001"), Decimal("0.0005"), Decimal("0.5")):
                for number in (bound - step, bound + step):
                    values += [number, str(number), float(number)]
                    if number == number.to_integral_value():
                        values.append(int(number))
        middle = (spec.minimum + spec.maximum) / 2
        values += [float(middle), int(middle), round(float(middle), 3)]
    return values


def outcome(parse, raw):
    try:
        value = parse(raw)
    except InputError as refused:
        return ("refused", [(e.field, e.message) for e in refused.errors])
    return ("value", type(value), value, str(value))


@pytest.mark.parametrize(
    "spec", [*INPUT_FIELDS, *PRIOR_ECHO_FIELDS], ids=lambda spec: spec.path
)
def test_a_fields_parser_gives_what_parse_value_gives(spec):
    parse = field_parser(spec)
    for raw in raw_values(spec):
        expected = outcome(lambda r: parse_value(spec, r), raw)
        assert outcome(parse, raw) == expected, raw


def test_a_parser_inside_a_list_names_the_place_it_is_given():
    months_ago = field_parser(PRIOR_ECHO_FIELDS[0])
    with pytest.raises(InputError) as refused:
        months_ago(-1, "prior_echos[2].months_ago")
    assert refused.value.errors == [
        FieldError(
            "prior_echos[2].months_ago", "must be between 0 and 600 months, got -1"
        )
    ]


def test_input_parse_names_every_problem_in_input_order():
    data = {
        "etiology": "rheumatic",
        "colour": "blue",
        "signs": [],
        "patient": {"sex": "other", "height_cm": 300, "age": 5},
        "echo": {"lvesd_mm": 60, "lvedd_mm": 55.5, "eroa_cm2": 0.4001},
        "prior_echos": [{"lvef_pct": 50}, "x"],
        "symptoms": {"nyha_class": 2.5},
    }
    with pytest.raises(InputError) as refused:
        input_parse(data)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("colour", "unknown field"),
        ("signs", "must be an object"),
        ("patient.sex", 'must be one of "female", "male"'),
        ("patient.height_cm", "must be between 50 and 250 cm, got 300"),
        ("patient.age", "unknown field"),
        ("echo.eroa_cm2", "must have at most 3 decimal places (not rounded)"),
        ("prior_echos[0].months_ago", "is required"),
        ("prior_echos[1]", "must be an object"),
        ("symptoms.nyha_class", "must be a whole number in 1..4"),
        ("patient.age_years", "is required"),
        (
            "echo.lvesd_mm",
            "must be below echo.lvedd_mm (55.5 mm): the end-systolic diameter "
            "cannot reach the end-diastolic one",
        ),
    ]


def test_input_parse_gives_typed_canonical_values():
    clean = input_parse(
        {
            "guideline": "esc_eacts_2025",
            "patient": {"age_years": 70, "sex": "male", "weight_kg": 80.5},
            "signs": None,
            "echo": {"eroa_cm2": 0.3, "lvef_pct": 55, "flail_leaflet": True},
            "symptoms": {"nyha_class": 2, "dyspnea": None},
            "prior_echos": [{"months_ago": 6}, {"months_ago": 18, "lvef_pct": 60}],
        }
    )
    assert clean == {
        "guideline": "esc_eacts_2025",
        "patient": {"age_years": 70, "sex": "male", "weight_kg": Decimal("80.5")},
        "echo": {"eroa_cm2": Decimal("0.3"), "lvef_pct": 55, "flail_leaflet": True},
        "symptoms": {"nyha_class": 2},
        "prior_echos": [{"months_ago": 18, "lvef_pct": 60}, {"months_ago": 6}],
    }
    assert type(clean["patient"]["age_years"]) is int
    assert type(clean["echo"]["lvef_pct"]) is Decimal
    assert type(clean["symptoms"]["nyha_class"]) is int
