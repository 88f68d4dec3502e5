"""Schemathesis over the whole schema against a live server with a real Bearer token:
no 5xx, and every response conforms to the schema (status, content type, body)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assessments.api.services import api_token_issue
from tests.factories import EncounterFactory, PatientFactory

# Seconds for the whole run: enough for every operation through all three phases on
# a quiet 2-core machine (SCHEMATHESIS_MAX_TIME overrides; 300 covers a busy one).
MAX_TIME = int(os.environ.get("SCHEMATHESIS_MAX_TIME", "75"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def schemathesis_cli() -> list[str]:
    found = shutil.which("schemathesis") or str(
        Path(sys.executable).with_name("schemathesis")
    )
    return [found]


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_schemathesis_finds_no_server_error_nor_schema_violation(
    live_server, api_client_user, organization, tmp_path
):
    # Objects the generated ids may hit (ids 1..n), besides the many 404s.
    patient = PatientFactory(organization=organization)
    EncounterFactory(patient=patient)
    token = api_token_issue(user=api_client_user)
    done = subprocess.run(
        [
            *schemathesis_cli(),
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"),
            "--workers",
            "1",
            "--max-time",
            str(MAX_TIME),
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--seed",
            "5",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=MAX_TIME + 120,
        check=False,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    print(output[-2500:])  # the summary: operations, test cases, failures (pytest -s)
    assert done.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output.lower(), output[-3000:]
