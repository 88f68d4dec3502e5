"""Numbers in the assessment input (CONTRACT section 6): a JSON number or a plain decimal
string; NaN, Infinity and exponent forms refused with the field named; the range checked
before any conversion, so no value costs more than a normal one. Through every surface:
``input_parse`` itself, the API, the live preview, the page form, ``manage.py evaluate``.
"""

import contextlib
import json
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from guidelines.validation import InputError, input_parse

# (field, raw value) pairs that cost minutes before: int() of 1e1000000 has a million
# digits; a long digit string converts in time that grows with its length.
WORST = [
    ("patient.age_years", "1e1000000"),
    ("patient.age_years", "-1E+999999999"),
    ("patient.age_years", "9" * 100_000),
    ("patient.age_years", "0" * 100_000 + "5"),
    ("patient.height_cm", "1e1000000"),
    ("echo.eroa_cm2", "1e-1000000"),
    ("echo.eroa_cm2", "0." + "0" * 100_000 + "1"),
    ("symptoms.nyha_class", 10**4000),
    ("echo.lvef_pct", 1e308),
    ("echo.lvef_pct", float("inf")),
    ("echo.lvef_pct", float("nan")),
    ("echo.lvef_pct", "NaN"),
    ("echo.lvef_pct", "Infinity"),
    ("echo.lvef_pct", "-inf"),
    ("echo.lvef_pct", "6e1"),
]
# Through HTTP, a bound that a busy shared machine keeps but the old minutes never met.
HTTP_SECONDS = 3.0
NORMAL = {"patient": {"age_years": 67, "sex": "female"}, "echo": {"lvef_pct": "62"}}


def _with(path, value):
    section, name = path.split(".")
    data = json.loads(json.dumps(NORMAL))
    data.setdefault(section, {})[name] = value
    return data


def _parse_seconds(data, repeat=5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        with contextlib.suppress(InputError):
            input_parse(data)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    ("path", "value"), WORST, ids=[f"{p}={str(v)[:12]}" for p, v in WORST]
)
def test_a_refused_number_names_its_field_and_costs_no_more_than_a_normal_one(
    path, value
):
    with pytest.raises(InputError) as refused:
        input_parse(_with(path, value))
    assert [e.field for e in refused.value.errors] == [path]
    message = refused.value.errors[0].message
    assert len(message) < 200  # the value is not echoed in full
    assert _parse_seconds(_with(path, value)) < 0.005


@pytest.mark.parametrize(
    ("value", "expected"),
    [("62", 62), ("+62.0", 62), ("62.", 62), (" 62 ", 62), (62, 62), (62.0, 62)],
)
def test_plain_decimal_strings_and_json_numbers_are_accepted(value, expected):
    assert (
        input_parse(_with("patient.age_years", value))["patient"]["age_years"]
        == expected
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.4", "0.4"), (".45", "0.45"), ("-0", None), ("0.405", "0.405"), (0.45, "0.45")],
)
def test_decimal_fields_keep_up_to_three_places_exactly(value, expected):
    if expected is None:
        assert input_parse(_with("echo.eroa_cm2", value))["echo"]["eroa_cm2"] == 0
        return
    parsed = input_parse(_with("echo.eroa_cm2", value))["echo"]["eroa_cm2"]
    assert str(parsed) == expected


@pytest.mark.parametrize("value", ["6e1", "6E1", "1e1000000", "NaN", "Infinity"])
def test_exponent_nan_and_infinity_strings_are_refused_as_not_plain(value):
    with pytest.raises(InputError) as refused:
        input_parse(_with("echo.lvef_pct", value))
    (error,) = refused.value.errors
    assert error.field == "echo.lvef_pct"
    assert "no exponent, NaN or Infinity" in error.message
    assert "5..90 %" in error.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 30, "must be between 0 and 120 years, got 999999999999999999999999…"),
        ("0.0004", "must be a whole number in 0..120 years"),
        ("1" * 50, "must be a number in 0..120 years (at most 40 characters)"),
    ],
)
def test_the_message_names_the_range(value, message):
    with pytest.raises(InputError) as refused:
        input_parse(_with("patient.age_years", value))
    assert refused.value.errors[0].message == message


# --- through the surfaces ---------------------------------------------------------


def test_the_api_refuses_the_worst_numbers_at_once(ehr):
    for path, value in WORST:
        if (
            isinstance(value, float)
            and value != value
            or value
            in (
                float("inf"),
                1e308,
                10**4000,
            )
        ):
            continue  # not writable as JSON by the test client; sent raw below
        start = time.perf_counter()
        response = ehr.post("/api/v1/evaluate", _with(path, value), format="json")
        assert time.perf_counter() - start < HTTP_SECONDS, path
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [path]


@pytest.mark.parametrize(
    "body",
    [
        '{"patient": {"age_years": 1e1000000, "sex": "male"}}',
        '{"patient": {"age_years": -1e1000000, "sex": "male"}}',
        '{"patient": {"age_years": ' + "9" * 4000 + ', "sex": "male"}}',
        '{"patient": {"age_years": 67, "sex": "male"}, "echo": {"lvef_pct": 1e-1000000}}',
    ],
    ids=["1e1000000", "-1e1000000", "4000 digits", "1e-1000000"],
)
def test_the_api_refuses_huge_json_numbers_naming_the_field(ehr, body):
    start = time.perf_counter()
    response = ehr.generic(
        "POST", "/api/v1/evaluate", body, content_type="application/json"
    )
    assert time.perf_counter() - start < HTTP_SECONDS
    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields in (["patient.age_years"], ["echo.lvef_pct"])


def test_the_api_refuses_nan_and_infinity_literals(ehr):
    response = ehr.generic(
        "POST",
        "/api/v1/evaluate",
        '{"patient": {"age_years": NaN, "sex": "male"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "errors" in response.json()


def test_assessment_creation_refuses_the_worst_number(ehr, encounter):
    start = time.perf_counter()
    response = ehr.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/",
        {"echo": {"lvef_pct": "1e1000000"}},
        format="json",
    )
    assert time.perf_counter() - start < HTTP_SECONDS
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["echo.lvef_pct"]


@pytest.fixture
def logged_in(client, clinician):
    client.force_login(clinician)
    return client


@pytest.mark.parametrize("name", ["assessment_preview", "assessment_new"])
def test_the_live_preview_and_the_page_form_refuse_the_worst_number(
    logged_in, encounter, name
):
    url = reverse(name, args=[encounter.pk])
    logged_in.post(url, {"symptoms_nyha_class": "2"})  # templates compiled
    start = time.perf_counter()
    response = logged_in.post(
        url, {"etiology": "degenerative_prolapse", "symptoms_nyha_class": "1e1000000"}
    )
    assert time.perf_counter() - start < HTTP_SECONDS
    body = response.content.decode()
    assert "no exponent, NaN or Infinity" in body


def test_manage_py_evaluate_refuses_the_worst_numbers_with_exit_2(tmp_path):
    cases = [
        '{"patient": {"age_years": "1e1000000", "sex": "male"}}',
        '{"patient": {"age_years": 1e1000000, "sex": "male"}}',
        '{"patient": {"age_years": ' + "9" * 5000 + ', "sex": "male"}}',
        "[" * 100_000,
    ]
    for index, text in enumerate(cases):
        path = tmp_path / f"input-{index}.json"
        path.write_text(text)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "manage.py", "evaluate", str(path)],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "DEBUG": "true"},
        )
        assert time.perf_counter() - start < 30
        assert done.returncode == 2, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        assert "invalid input" in done.stderr


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("echo.mitral_valve_area_cm2", 0.3),
        ("echo.mitral_valve_area_cm2", 8.0),
        ("echo.eroa_cm2", 2.0),
        ("echo.lvef_pct", 90.0),
    ],
)
def test_a_json_number_at_a_bound_is_in_range_as_written(path, value):
    section, name = path.split(".")
    assert input_parse(_with(path, value))[section][name] == Decimal(repr(value))
