"""issue_api_token, the OpenAPI schema and the interactive docs."""

import re
import subprocess
import sys
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from assessments.choices import Role
from tests.factories import MembershipFactory, UserFactory


def test_issue_api_token_prints_a_working_token_last(api_client_user, anon):
    out = StringIO()
    call_command("issue_api_token", "ehr", stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert anon.get("/api/v1/guidelines/").status_code == 200
    assert api_client_user.auth_token_set.count() == 1


def test_issue_api_token_refuses_a_clinician(clinician):
    with pytest.raises(CommandError, match="not an active API client"):
        call_command("issue_api_token", "alice", stdout=StringIO())
    assert clinician.auth_token_set.count() == 0


def test_issue_api_token_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named"):
        call_command("issue_api_token", "nobody", stdout=StringIO())


def test_issue_api_token_exits_non_zero_for_non_clients(db):
    UserFactory(username="plain")
    with pytest.raises(CommandError) as refused:
        call_command("issue_api_token", "plain", stdout=StringIO())
    assert refused.value.returncode != 0  # manage.py exits with it


def test_a_membership_of_another_role_is_not_enough(organization):
    user = UserFactory(username="mixed")
    MembershipFactory(user=user, organization=organization, role=Role.CLINICIAN)
    with pytest.raises(CommandError):
        call_command("issue_api_token", "mixed", stdout=StringIO())


@pytest.fixture
def schema(ehr):
    response = ehr.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_needs_authentication(anon, db):
    assert anon.get("/api/schema/").status_code == 401


def test_the_schema_lists_every_contract_endpoint(schema):
    paths = schema["paths"]
    expected = {
        "/api/v1/evaluate": {"post"},
        "/api/v1/patients/": {"get", "post"},
        "/api/v1/patients/{id}/": {"get", "patch"},
        "/api/v1/patients/{id}/encounters/": {"get", "post"},
        "/api/v1/encounters/{id}/": {"get"},
        "/api/v1/encounters/{id}/assessments/": {"post"},
        "/api/v1/assessments/{id}/": {"get"},
        "/api/v1/guidelines/": {"get"},
        "/api/v1/assessments/{id}/report": {"get", "post"},
        "/api/v1/assessments/{id}/report.pdf": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            responses = paths[path][method]["responses"]
            assert {"401", "403"} <= set(responses), (path, method)
            assert responses["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


def test_the_input_schema_comes_from_the_vocabulary(schema):
    components = schema["components"]["schemas"]
    echo = components["EchoInputSectionRequest"]["properties"]
    assert echo["eroa_cm2"]["minimum"] == 0
    assert echo["eroa_cm2"]["maximum"] == 2
    assert "cm²" in echo["eroa_cm2"]["description"]
    assert components["AssessmentInputRequest"]["required"] == ["patient"]
    assert set(components["PatientInputSectionRequest"]["required"]) == {
        "age_years",
        "sex",
    }
    etiology = components["AssessmentInputRequest"]["properties"]["etiology"]
    enum = components[etiology["oneOf"][0]["$ref"].split("/")[-1]]["enum"]
    assert "degenerative_prolapse" in enum
    assert "secondary_atrial" in enum
    result = components["Result"]["properties"]
    assert "$ref" in result["guideline"] or "allOf" in result["guideline"]


def test_the_schema_validates_without_warnings():
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"DEBUG": "true", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr


def test_the_docs_are_served_without_a_cdn(as_clinician):
    response = as_clinician.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert "/static/drf_spectacular_sidecar/" in html


def test_the_docs_send_anonymous_visitors_to_log_in(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_every_request_example_of_the_schema_is_accepted(schema, ehr, encounter):
    """The examples integrators copy from the docs are valid input of their endpoint."""
    targets = {
        "/api/v1/patients/": ("/api/v1/patients/", 201),
        "/api/v1/patients/{id}/encounters/": (
            f"/api/v1/patients/{encounter.patient_id}/encounters/",
            201,
        ),
        "/api/v1/evaluate": ("/api/v1/evaluate", 200),
        "/api/v1/encounters/{id}/assessments/": (
            f"/api/v1/encounters/{encounter.pk}/assessments/",
            201,
        ),
    }
    seen = 0
    for path, (url, expected) in targets.items():
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        examples = content["application/json"]["examples"]
        for name, example in examples.items():
            response = ehr.post(url, example["value"], format="json")
            assert response.status_code == expected, (name, response.content)
            seen += 1
    assert seen == 4
