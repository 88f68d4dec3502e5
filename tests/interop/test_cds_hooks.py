"""The CDS Hooks 2.0.1 service, through the URL conf: discovery, the patient-view hook
(prefetch first, omitted vs null keys, fetching from a real loopback FHIR server, 412),
the card, CORS, feedback and the override rates editors see. Responses are checked
against the specification's JSON Schema and FHIRPath invariants (conformance.py)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from assessments.interop.codes import INPUT_FIELD_SYSTEM
from assessments.interop.models import CdsCard, CdsFeedback
from assessments.models import AuditEvent

from .conformance import (
    assert_cards_conform,
    assert_discovery_conforms,
    assert_feedback_conforms,
)
from .conftest import (
    DISCOVERY_URL,
    FEEDBACK_URL,
    ORIGIN,
    condition,
    echo_observations,
    full_prefetch,
    hook_body,
    make_token,
    observation,
    patient_resource,
    searchset,
)

pytestmark = pytest.mark.django_db


def symptomatic_prefetch():
    prefetch = full_prefetch()
    prefetch["echoObservations"] = searchset(
        *echo_observations(),
        observation("symptoms.nyha_class", 2, "1", system=INPUT_FIELD_SYSTEM),
    )
    return prefetch


def test_discovery_lists_the_service_with_its_prefetch_templates(
    client, cds_client, sign
):
    response = client.get(
        "/cds-services", HTTP_AUTHORIZATION=f"Bearer {sign(aud=DISCOVERY_URL)}"
    )
    assert response.status_code == 200
    body = response.json()
    assert_discovery_conforms(body)
    service = body["services"][0]
    assert (service["id"], service["hook"]) == ("mr-cds-patient-view", "patient-view")
    prefetch = service["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    # Echo Observations by the CODES.md LOINC codes, newest first.
    for code in ("80071-4", "77914-0", "29448-8", "18043-0", "29438-9", "82341-9"):
        assert f"http://loinc.org|{code}" in prefetch["echoObservations"]
    assert "_sort=-date" in prefetch["echoObservations"]
    assert "http://snomed.info/sct|48724000" in prefetch["conditions"]
    assert "8302-2" in prefetch["height"]
    assert "_count=1" in prefetch["height"]
    assert "29463-7" in prefetch["weight"]


def test_a_prefetch_complete_call_gives_one_conformant_card(call_hook, patient):
    response = call_hook(hook_body(symptomatic_prefetch()))
    assert response.status_code == 200
    body = response.json()
    assert_cards_conform(body)
    assert len(body["cards"]) == 1
    card = body["cards"][0]
    # ACC/AHA 2020 7.3 (1): symptomatic severe primary MR (stage D): MV intervention,
    # Class 1, LOE B-NR.
    assert card["summary"].startswith("Severe primary MR, stage D: ")
    assert "(Class 1)" in card["summary"]
    assert len(card["summary"]) < 140
    assert "Class 1, Level B-NR" in card["detail"]
    assert card["indicator"] == "warning"
    assert card["source"]["label"].startswith("2020 ACC/AHA Guideline")
    assert card["source"]["url"] == "https://doi.org/10.1161/CIR.0000000000000923"
    # Each echo value used, with its date; 3.6 cm LVESD converted to 36 mm.
    assert "LV end-systolic diameter: 36 mm (sent as 3.6 cm)" in card["detail"]
    assert "2025-03-01" in card["detail"]
    rule_set = card["extension"]["org.mr-cds.rule-set"]
    stored = CdsCard.objects.get(uuid=card["uuid"])
    assert rule_set["content_hash"] == stored.rule_set_version.content_hash
    assert rule_set["version"] == stored.rule_set_version.version
    assert stored.patient == patient  # matched by MRN in the client's care site
    assert card["links"][0]["url"].endswith(f"/cds-hooks/cards/{card['uuid']}/")
    event = AuditEvent.objects.filter(patient=patient, detail__contains="patient-view")
    assert event.exists()


def test_the_card_link_opens_the_result_for_the_care_site_only(
    call_hook, client, clinician, other_clinician
):
    card = call_hook(hook_body(symptomatic_prefetch())).json()["cards"][0]
    path = card["links"][0]["url"].removeprefix("http://testserver")
    client.force_login(clinician)
    page = client.get(path)
    assert page.status_code == 200
    assert "Mitral valve intervention for symptomatic severe primary MR" in page.text
    client.force_login(other_clinician)
    assert client.get(path).status_code == 404


def test_a_null_key_means_no_data_an_omitted_key_without_fhir_server_is_412(call_hook):
    prefetch = full_prefetch()
    prefetch["echoObservations"] = None  # the EHR has no echo data for this patient
    response = call_hook(hook_body(prefetch))
    assert response.status_code == 200
    assert response.json() == {"cards": []}
    del prefetch["echoObservations"]  # not fetched by the EHR, and no fhirServer
    assert call_hook(hook_body(prefetch)).status_code == 412


def test_no_mitral_data_gives_no_card(call_hook):
    prefetch = full_prefetch()
    prefetch["echoObservations"] = searchset()
    response = call_hook(hook_body(prefetch))
    assert response.json() == {"cards": []}


def test_an_implausible_value_gives_a_warning_card_not_a_grade(call_hook):
    prefetch = full_prefetch()
    prefetch["echoObservations"] = searchset(observation("80071-4", 4.5, "cm2"))
    card = call_hook(hook_body(prefetch)).json()["cards"][0]
    assert card["indicator"] == "warning"
    assert "EROA" in card["detail"]
    assert "between 0 and 2" in card["detail"]


class FhirServer:
    """A real HTTP server on loopback playing the EHR's FHIR server."""

    def __init__(self, resources, delay=0.0):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append((self.path, self.headers.get("Authorization")))
                time.sleep(delay)
                parts = urlsplit(self.path)
                kind = parts.path.rsplit("/", 2)
                if parts.path.endswith("/Patient/p1"):
                    body = resources["patient"]
                else:
                    code = parse_qs(parts.query).get("code", [""])[0]
                    body = searchset(
                        *[
                            r
                            for r in resources[kind[-1]]
                            if any(c in code for c in _codes(r))
                        ]
                    )
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the service gave up at its deadline

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/fhir"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _codes(resource):
    return [c["code"] for c in resource["code"]["coding"]]


RESOURCES = {
    "patient": patient_resource(),
    "Observation": [
        *echo_observations(),
        observation("8302-2", 165, "cm"),
        observation("29463-7", 68.5, "kg"),
    ],
    "Condition": [condition("409712001", "Mitral valve prolapse")],
}


def test_omitted_keys_are_fetched_from_the_fhir_server(call_hook):
    with FhirServer(RESOURCES) as fhir:
        body = hook_body(
            {"patient": patient_resource()},
            fhirServer=fhir.base,
            fhirAuthorization={
                "access_token": "ehr-token-123",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "mr-cds",
            },
        )
        response = call_hook(body)
    assert response.status_code == 200
    card = response.json()["cards"][0]
    assert card["summary"].startswith("Severe primary MR")
    paths = [path for path, _ in fhir.requests]
    assert not any("/Patient/" in p for p in paths)  # prefetched: not fetched again
    assert {p.split("?")[0].rsplit("/", 1)[-1] for p in paths} == {
        "Observation",
        "Condition",
    }
    assert all(auth == "Bearer ehr-token-123" for _, auth in fhir.requests)
    assert AuditEvent.objects.filter(detail__contains="fetched").exists()


def test_a_slow_fhir_server_is_cut_off_at_the_deadline(call_hook, settings):
    settings.CDS_HOOKS_FETCH_DEADLINE_S = 0.5
    with FhirServer(RESOURCES, delay=2.0) as fhir:
        body = hook_body(
            {"patient": patient_resource()},
            fhirServer=fhir.base,
            fhirAuthorization={
                "access_token": "t",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "x",
                "subject": "y",
            },
        )
        started = time.monotonic()
        response = call_hook(body)
        elapsed = time.monotonic() - started
    assert response.status_code == 412
    assert elapsed < 1.5


def test_cors_preflight_allows_registered_origins_only(client, cds_client):
    ok = client.options(
        "/cds-services/mr-cds-patient-view",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in ok["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok
    other = client.options("/cds-services", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_feedback_is_stored_per_card_and_shown_as_override_rates(
    call_hook, client, cds_client, sign, editor
):
    card = call_hook(hook_body(symptomatic_prefetch())).json()["cards"][0]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": card["overrideReasons"][1],
                    "userComment": "Echo repeated last week",
                },
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
            }
        ]
    }
    assert_feedback_conforms(feedback)
    response = call_hook(
        feedback,
        token=sign(aud=FEEDBACK_URL),
        url="/cds-services/mr-cds-patient-view/feedback",
    )
    assert response.status_code == 200
    assert response.json()["stored"] == 1
    stored = CdsFeedback.objects.get()
    assert stored.card.uuid.hex == card["uuid"].replace("-", "")
    assert stored.override_reason_code == "data-outdated"
    client.force_login(editor)
    page = client.get("/admin/assessments/cdsfeedback/")
    assert page.status_code == 200
    assert "P1" in page.text
    assert "surgery_mv" in page.text
    assert "100%" in page.text
    assert "Echo repeated last week" not in page.text  # aggregates only


def test_feedback_for_another_care_sites_card_is_not_stored(
    call_hook, sign, settings, cds_client, other_organization
):
    card = call_hook(hook_body(symptomatic_prefetch())).json()["cards"][0]
    settings.CDS_HOOKS_CLIENTS = [
        {**cds_client, "organization": other_organization.name}
    ]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "x"}],
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
            }
        ]
    }
    response = call_hook(
        feedback,
        token=sign(aud=FEEDBACK_URL),
        url="/cds-services/mr-cds-patient-view/feedback",
    )
    assert response.json() == {"stored": 0, "unknown_cards": 1}
    assert not CdsFeedback.objects.exists()


def test_a_clinician_without_the_permission_cannot_see_override_rates(
    client, clinician
):
    clinician.is_staff = True
    clinician.save()
    client.force_login(clinician)
    assert client.get("/admin/assessments/cdsfeedback/").status_code in (302, 403)


def test_the_hook_needs_the_ehrs_token_for_the_service_url(call_hook, ec_key):
    wrong_aud = make_token(ec_key, aud=DISCOVERY_URL)
    assert call_hook(hook_body(full_prefetch()), token=wrong_aud).status_code == 401


def test_a_malformed_prefetched_resource_is_named_by_its_prefetch_key(call_hook):
    prefetch = full_prefetch()
    del prefetch["conditions"]["entry"][0]["resource"]["subject"]  # required in R4
    response = call_hook(hook_body(prefetch))
    assert response.status_code == 400
    assert "prefetch.conditions.entry[0].resource.subject" in response.json()["error"]
