"""Idempotency-Key on creating POSTs: replay within 24 hours, 409 on a different body."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from assessments.api.idempotency import REUSED_KEY
from assessments.models import (
    Assessment,
    AuditEvent,
    Encounter,
    IdempotencyRecord,
    Patient,
)

NEW_PATIENT = {
    "mrn": "EHR-7",
    "given_name": "Alan",
    "family_name": "Turing",
    "birth_date": "1952-06-23",
    "sex": "male",
}


def test_same_key_and_body_replays_the_first_response(ehr):
    first = ehr.post(
        "/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = ehr.post(
        "/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Patient.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_body == first.json()
    assert AuditEvent.objects.filter(action="create").count() == 1
    assert (
        AuditEvent.objects.filter(action="read", detail__contains="replay").count() == 1
    )


def test_same_key_with_another_body_is_409(ehr):
    ehr.post("/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = {**NEW_PATIENT, "mrn": "EHR-8"}
    response = ehr.post(
        "/api/v1/patients/", other, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 409
    assert response.json() == {"errors": [{"field": "", "message": REUSED_KEY}]}
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["EHR-7"]


def test_same_key_on_another_path_is_409(ehr, patient):
    ehr.post("/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    response = ehr.post(
        f"/api/v1/patients/{patient.pk}/encounters/",
        NEW_PATIENT,
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 409
    assert not Encounter.objects.exists()


def test_keys_belong_to_their_user(ehr, clinician):
    ehr.post("/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    session = APIClient()
    session.force_login(clinician)
    other = {**NEW_PATIENT, "mrn": "EHR-8"}
    response = session.post(
        "/api/v1/patients/", other, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_a_key_expires_after_24_hours(ehr):
    start = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        ehr.post(
            "/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
    other = {**NEW_PATIENT, "mrn": "EHR-8"}
    with time_machine.travel(start + dt.timedelta(hours=23), tick=False):
        response = ehr.post(
            "/api/v1/patients/", other, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
        assert response.status_code == 409
    with time_machine.travel(start + dt.timedelta(hours=25), tick=False):
        response = ehr.post(
            "/api/v1/patients/", other, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
        assert response.status_code == 201
    assert Patient.objects.count() == 2
    assert IdempotencyRecord.objects.get().response_body["mrn"] == "EHR-8"


def test_a_refused_request_is_not_kept(ehr):
    bad = {**NEW_PATIENT, "sex": "x"}
    assert (
        ehr.post(
            "/api/v1/patients/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        ).status_code
        == 400
    )
    response = ehr.post(
        "/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 201
    assert not IdempotencyRecord.objects.exclude(response_status=201).exists()


def test_assessment_and_encounter_creation_replay(ehr, encounter, assessment_input):
    url = f"/api/v1/encounters/{encounter.pk}/assessments/"
    first = ehr.post(url, assessment_input, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    again = ehr.post(url, assessment_input, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert again.json() == first.json()
    assert Assessment.objects.count() == 1
    url = f"/api/v1/patients/{encounter.patient_id}/encounters/"
    body = {"occurred_at": "2025-06-01T10:00:00Z"}
    first = ehr.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="e1")
    again = ehr.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="e1")
    assert again.json() == first.json()
    assert Encounter.objects.count() == 2


def test_an_overlong_key_is_refused(ehr):
    response = ehr.post(
        "/api/v1/patients/", NEW_PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Patient.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_create_once(token, encounter, assessment_input):
    """Two requests with the same key at the same time: one assessment, same answers."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    url = f"/api/v1/encounters/{encounter.pk}/assessments/"
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            response = client.post(
                url, assessment_input, format="json", HTTP_IDEMPOTENCY_KEY="race"
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Assessment.objects.count() == 1
    assert len(answers) == 4
    assert set(answers) == {(201, Assessment.objects.get().pk)}
