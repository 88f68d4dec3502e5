"""API test helpers: an HTTP client through the real URL conf, Bearer tokens, inputs."""

import copy

import pytest
from rest_framework.test import APIClient

from assessments.api.services import api_token_issue

# Appending one audit event: one INSERT (the event is sealed into the chain later).
AUDIT_APPEND_QUERIES = 1

# A complete input for stateless evaluation (severe primary MR, symptomatic).
EVALUATE_INPUT = {
    "etiology": "degenerative_prolapse",
    "patient": {"age_years": 67, "sex": "female", "height_cm": 165, "weight_kg": 68.5},
    "symptoms": {"nyha_class": 2},
    "echo": {
        "eroa_cm2": 0.45,
        "regurgitant_volume_ml": 68,
        "lvef_pct": 62,
        "lvesd_mm": 36,
        "lvedd_mm": 55,
    },
}


@pytest.fixture
def evaluate_input():
    return copy.deepcopy(EVALUATE_INPUT)


@pytest.fixture
def assessment_input():
    """Input for an encounter: ``patient`` left out (taken from the record)."""
    data = copy.deepcopy(EVALUATE_INPUT)
    del data["patient"]
    return data


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def token(api_client_user):
    return api_token_issue(user=api_client_user)


@pytest.fixture
def ehr(token):
    """The EHR integration of the clinician's care site, with its Bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def as_clinician(clinician):
    """A browser session of the clinician (session authentication)."""
    client = APIClient()
    client.force_login(clinician)
    return client


@pytest.fixture
def as_other(other_clinician):
    client = APIClient()
    client.force_login(other_clinician)
    return client
