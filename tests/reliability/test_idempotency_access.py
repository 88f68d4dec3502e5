"""Idempotent replays show a stored body only while the caller may still see the object
(else 404, as any refused access); records hold patient data, so they expire and are
purged (Celery beat task, management command)."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from assessments.models import AuditEvent, IdempotencyRecord, Membership
from assessments.tasks import idempotency_purge_task
from tests.factories import OrganizationFactory

NEW_PATIENT = {
    "mrn": "EHR-9",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1955-12-10",
    "sex": "female",
}


def _post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_replay_after_the_caller_lost_access_is_404_without_the_body(
    ehr, api_client_user
):
    first = _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-lost")
    assert first.status_code == 201
    # The integration now serves another care site only.
    Membership.objects.filter(user=api_client_user).update(
        organization=OrganizationFactory(name="Elsewhere")
    )
    again = _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-lost")
    assert again.status_code == 404
    assert "Lovelace" not in again.content.decode()
    assert again.json() == {"errors": [{"field": "", "message": "Not found."}]}


def test_a_replay_after_the_patient_moved_to_another_site_is_404(ehr):
    first = _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-moved")
    from assessments.models import Patient

    Patient.objects.filter(pk=first.json()["id"]).update(
        organization=OrganizationFactory(name="Elsewhere")
    )
    assert _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-moved").status_code == 404


@pytest.mark.parametrize("what", ["encounter", "assessment"])
def test_replays_of_encounters_and_assessments_check_access_too(
    ehr, patient, encounter, what
):
    from assessments.models import Patient

    if what == "encounter":
        path, body = f"/api/v1/patients/{patient.pk}/encounters/", {}
    else:
        path = f"/api/v1/encounters/{encounter.pk}/assessments/"
        body = {"echo": {"eroa_cm2": 0.45}}
    assert _post(ehr, path, body, f"k-{what}").status_code == 201
    replay = _post(ehr, path, body, f"k-{what}")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    Patient.objects.filter(pk=patient.pk).update(
        organization=OrganizationFactory(name="Elsewhere")
    )
    assert _post(ehr, path, body, f"k-{what}").status_code == 404


def test_a_replay_is_audited_with_its_object(ehr):
    first = _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-audit")
    _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-audit")
    event = AuditEvent.objects.get(detail__contains="replay")
    assert event.object_id == str(first.json()["id"])


def test_records_expire_after_the_setting_and_are_purged(ehr, settings):
    settings.MR_CDS_IDEMPOTENCY_HOURS = 2
    _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-old")
    with time_machine.travel(dt.timedelta(minutes=30)):
        _post(ehr, "/api/v1/patients/", {**NEW_PATIENT, "mrn": "EHR-10"}, "k-new")
    with time_machine.travel(dt.timedelta(hours=2, minutes=10)):
        # the first record is past 2 h, the second not
        assert idempotency_purge_task.apply().get() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [
            "k-new"
        ]
    with time_machine.travel(dt.timedelta(hours=3)):
        call_command("purge_idempotency_records")
        assert not IdempotencyRecord.objects.exists()


def test_an_expired_record_is_not_replayed(ehr, settings):
    settings.MR_CDS_IDEMPOTENCY_HOURS = 1
    _post(ehr, "/api/v1/patients/", NEW_PATIENT, "k-exp")
    with time_machine.travel(dt.timedelta(hours=1, minutes=1)):
        again = _post(
            ehr, "/api/v1/patients/", {**NEW_PATIENT, "mrn": "EHR-11"}, "k-exp"
        )
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again


def test_the_purge_runs_hourly_in_beat(settings):
    schedule = {
        e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["assessments.tasks.idempotency_purge_task"] <= 3600
