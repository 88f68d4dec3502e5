"""Reads and changes of patient data leave an append-only audit trail."""

import pytest
from django.db import transaction

from assessments.audit import audit_record
from assessments.models import AuditEvent
from assessments.models.audit import AppendOnlyError
from assessments.services import assessment_create


def test_admin_read_of_a_patient_is_audited(client, superuser, patient):
    client.force_login(superuser)

    response = client.get(f"/admin/assessments/patient/{patient.pk}/change/")

    assert response.status_code == 200
    event = AuditEvent.objects.get(patient=patient)
    assert (event.user, event.action, event.channel) == (superuser, "read", "admin")
    assert event.object_type == "assessments.patient"
    assert event.object_id == str(patient.pk)


def test_admin_patient_list_is_audited(client, superuser, patient):
    client.force_login(superuser)

    assert client.get("/admin/assessments/patient/").status_code == 200

    event = AuditEvent.objects.get()
    assert (event.action, event.channel, event.detail) == (
        "read",
        "admin",
        "patients list",
    )


def test_admin_read_of_an_assessment_is_audited_against_its_patient(
    client, superuser, encounter, clinician
):
    assessment = assessment_create(encounter=encounter, data={}, author=clinician)
    client.force_login(superuser)

    response = client.get(f"/admin/assessments/assessment/{assessment.pk}/change/")
    client.get(f"/admin/assessments/encounter/{encounter.pk}/change/")

    assert response.status_code == 200
    assert [e.object_type for e in AuditEvent.objects.order_by("id")] == [
        "assessments.assessment",
        "assessments.encounter",
    ]
    assert {e.patient for e in AuditEvent.objects.all()} == {encounter.patient}


def test_admin_change_of_a_patient_is_audited(client, superuser, patient):
    client.force_login(superuser)
    response = client.post(
        f"/admin/assessments/patient/{patient.pk}/change/",
        {
            "organization": patient.organization.pk,
            "mrn": patient.mrn,
            "given_name": "Adah",
            "family_name": patient.family_name,
            "birth_date": "1958-06-15",
            "sex": "female",
            "height_cm": "165",
            "weight_kg": "68.5",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="update")
    assert event.patient == patient
    assert "given_name" in event.detail


def test_audit_events_cannot_be_changed_or_deleted(clinician, patient):
    event = audit_record(user=clinician, action="read", channel="page", obj=patient)

    event.detail = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(detail="tampered")
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().detail == ""


def test_admin_shows_the_trail_read_only(client, superuser, clinician, patient):
    event = audit_record(user=clinician, action="read", channel="api", obj=patient)
    client.force_login(superuser)
    url = f"/admin/assessments/auditevent/{event.pk}/change/"

    view = client.get(url)
    post = client.post(url, {"detail": "tampered"})
    delete = client.post(
        f"/admin/assessments/auditevent/{event.pk}/delete/", {"post": "yes"}
    )
    add = client.get("/admin/assessments/auditevent/add/")

    assert view.status_code == 200
    assert 'name="detail"' not in view.content.decode()
    assert post.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).detail == ""
    refused = AuditEvent.objects.filter(outcome="refused", user=superuser)
    assert sorted(e.status_code for e in refused) == [403, 403, 403]


def test_admin_filters_the_trail_by_patient_and_user(
    client, superuser, clinician, patient
):
    audit_record(user=clinician, action="read", channel="page", obj=patient)
    client.force_login(superuser)

    by_patient = client.get(
        f"/admin/assessments/auditevent/?patient__id__exact={patient.pk}"
    )
    by_user = client.get(
        f"/admin/assessments/auditevent/?user__id__exact={clinician.pk}"
    )

    assert by_patient.status_code == 200
    assert by_user.status_code == 200
    assert by_patient.context["cl"].result_count == 1
    assert by_user.context["cl"].result_count == 1


def test_audit_record_infers_the_patient_and_accepts_a_system_actor(encounter):
    event = audit_record(user=None, action="export", channel="task", obj=encounter)

    assert event.patient == encounter.patient
    assert event.user is None


def test_audit_record_refuses_an_unknown_channel(clinician):
    with pytest.raises(ValueError, match="AuditChannel"):
        audit_record(user=clinician, action="read", channel="email")
