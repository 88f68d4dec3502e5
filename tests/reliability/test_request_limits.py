"""Hostile requests to the API answer 4xx in the API's error shape, never a 500: bodies
over the size limit (413), deep nesting, lone surrogates, NUL bytes, bad
Idempotency-Keys (400); and an unexpected error answers 500 as JSON too."""

import json

import pytest

from assessments.models import Patient


def _errors(response):
    assert response["Content-Type"].startswith("application/json"), response.content[
        :200
    ]
    body = response.json()
    assert set(body) == {"errors"}
    return body["errors"]


def _post_raw(client, path, body: bytes | str, **extra):
    return client.generic("POST", path, body, content_type="application/json", **extra)


def test_a_body_over_the_limit_answers_413_unread(ehr, settings):
    settings.MR_CDS_API_MAX_BODY_BYTES = 10_000
    body = json.dumps(
        {"patient": {"age_years": 60, "sex": "male"}, "pad": "x" * 20_000}
    )
    response = _post_raw(ehr, "/api/v1/evaluate", body)
    assert response.status_code == 413
    (error,) = _errors(response)
    assert "10000 bytes" in error["message"]


def test_the_default_limit_takes_a_normal_input_and_refuses_megabytes(ehr):
    ok = _post_raw(
        ehr, "/api/v1/evaluate", '{"patient": {"age_years": 60, "sex": "male"}}'
    )
    assert ok.status_code == 200
    huge = _post_raw(ehr, "/api/v1/evaluate", "[" + "1," * 1_000_000 + "1]")
    assert huge.status_code == 413
    _errors(huge)


@pytest.mark.parametrize("depth", [40, 5_000, 200_000])
def test_deeply_nested_json_answers_400(ehr, depth):
    body = '{"patient": ' + "[" * depth + "]" * depth + "}"
    response = _post_raw(ehr, "/api/v1/evaluate", body)
    assert response.status_code == 400
    (error,) = _errors(response)
    assert "nested more than 32 levels" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        '{"\\ud800": 1}',
        '{"patient": {"age_years": 60, "sex": "\\udfff"}}',
        '{"echo": {"\\ud83d": 0.4}}',
    ],
    ids=["top key", "value", "section key"],
)
def test_a_lone_surrogate_answers_400(ehr, body):
    response = _post_raw(ehr, "/api/v1/evaluate", body)
    assert response.status_code == 400
    (error,) = _errors(response)
    assert "lone surrogate" in error["message"]


def test_a_lone_surrogate_in_a_patient_body_is_not_stored(ehr):
    body = (
        '{"mrn": "\\ud800", "given_name": "A", "family_name": "B",'
        ' "birth_date": "1950-01-01", "sex": "male"}'
    )
    response = _post_raw(ehr, "/api/v1/patients/", body)
    assert response.status_code == 400
    assert not Patient.objects.exists()


@pytest.mark.parametrize("body", [b'{"a": "\xff\xfe"}', b"\xc3"])
def test_a_body_that_is_not_utf8_answers_400(ehr, body):
    response = _post_raw(ehr, "/api/v1/evaluate", body)
    assert response.status_code == 400
    _errors(response)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_answer_400(ehr, literal):
    body = f'{{"patient": {{"age_years": {literal}, "sex": "male"}}}}'
    response = _post_raw(ehr, "/api/v1/evaluate", body)
    assert response.status_code == 400
    _errors(response)


@pytest.mark.parametrize("param", ["q", "mrn"])
def test_a_nul_byte_in_a_search_parameter_answers_400(ehr, patient, param):
    response = ehr.get("/api/v1/patients/", {param: "Sm\x00ith"})
    assert response.status_code == 400
    (error,) = _errors(response)
    assert error["field"] == param


def test_a_nul_byte_in_the_page_search_is_refused_not_a_500(client, clinician, patient):
    client.force_login(clinician)
    client.raise_request_exception = False
    response = client.get("/", {"q": "Sm\x00ith"})
    assert response.status_code == 200


@pytest.mark.parametrize("key", ["a\x00b", "tab\there", "   ", "x" * 201, "é-key"])
def test_a_bad_idempotency_key_answers_400_naming_the_header(ehr, key):
    response = ehr.post(
        "/api/v1/patients/",
        {
            "mrn": "M-1",
            "given_name": "A",
            "family_name": "B",
            "birth_date": "1950-01-01",
            "sex": "male",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400
    (error,) = _errors(response)
    assert error["field"] == "Idempotency-Key"
    assert not Patient.objects.exists()


def test_an_unexpected_error_in_the_api_answers_500_in_the_error_shape(
    ehr, monkeypatch
):
    # Provoke a bug in the one place the view calls (nothing else is replaced).
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("assessments.api.views.guideline_list", broken)
    ehr.raise_request_exception = False
    response = ehr.get("/api/v1/guidelines/")
    assert response.status_code == 500
    (error,) = _errors(response)
    assert error == {
        "field": "",
        "message": "Internal server error; the request was not completed.",
    }
    assert "a bug" not in response.content.decode()


def test_an_unexpected_error_on_a_page_stays_an_html_page(
    client, clinician, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("assessments.views.patient_list_for_user", broken)
    client.force_login(clinician)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_a_disallowed_host_under_the_api_answers_400_as_json(ehr):
    response = ehr.get("/api/v1/guidelines/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    _errors(response)


def test_a_database_outage_answers_503_retryable_in_the_error_shape(ehr, monkeypatch):
    from django.db import OperationalError

    def unreachable(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed")

    monkeypatch.setattr("assessments.api.views.guideline_list", unreachable)
    response = ehr.get("/api/v1/guidelines/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    (error,) = _errors(response)
    assert "nothing was stored" in error["message"]
    assert "127.0.0.1" not in error["message"]
