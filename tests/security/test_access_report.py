"""The access report of one patient's record, for a privacy officer: who saw or changed
it, or tried to, when, from where (HIPAA 164.312(b)); a page in the admin for privacy
officers and superusers only, and a command."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from assessments.choices import PRIVACY_OFFICERS_GROUP
from assessments.models import AuditEvent
from tests.factories import UserFactory


@pytest.fixture
def privacy_officer(db):
    user = UserFactory(username="priya", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=PRIVACY_OFFICERS_GROUP)[0])
    return user


@pytest.fixture
def accesses(client, clinician, other_clinician, patient):
    """The clinician reads the patient's page; a clinician of another site tries."""
    client.force_login(clinician)
    assert (
        client.get(f"/patients/{patient.pk}/", REMOTE_ADDR="198.51.100.4").status_code
        == 200
    )
    client.force_login(other_clinician)
    assert (
        client.get(f"/patients/{patient.pk}/", REMOTE_ADDR="198.51.100.9").status_code
        == 404
    )
    client.logout()


def test_a_privacy_officer_reads_who_accessed_a_record(
    client, privacy_officer, patient, accesses
):
    client.force_login(privacy_officer)

    response = client.get(f"/admin/assessments/patient/{patient.pk}/access-report/")

    assert response.status_code == 200
    rows = [
        (e.user.username, e.outcome, e.source_address)
        for e in response.context["events"]
    ]
    assert rows == [
        ("bob", "refused", "198.51.100.9"),
        ("alice", "success", "198.51.100.4"),
    ]
    page = response.content.decode()
    assert "Refused (404)" in page
    assert "198.51.100.9" in page
    # Reading the report is itself an access to the record.
    assert AuditEvent.objects.filter(
        user=privacy_officer, patient=patient, detail="access report"
    ).exists()


def test_other_staff_cannot_read_the_access_report(client, patient, clinician):
    clinician.is_staff = True
    clinician.save(update_fields=["is_staff"])
    client.force_login(clinician)

    response = client.get(f"/admin/assessments/patient/{patient.pk}/access-report/")

    assert response.status_code == 403
    refusal = AuditEvent.objects.get(user=clinician, outcome="refused")
    assert refusal.patient == patient


def test_the_access_report_command_lists_every_access(patient, accesses, capsys):
    call_command("audit_access_report", "--mrn", patient.mrn)

    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("\t")[:4] == ["at", "user", "action", "outcome"]
    assert [line.split("\t")[1:4] for line in lines[2:]] == [
        ["bob", "read", "refused"],
        ["alice", "read", "success"],
    ]
    assert AuditEvent.objects.filter(channel="command", patient=patient).exists()
