"""The audit trail is append-only in the database and tamper-evident (HIPAA 164.312(b)):
a PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE, and every row's hash chains
to the previous row's, which ``manage.py audit_verify`` checks."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from assessments.audit import audit_record
from assessments.models import AuditEvent

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger is PostgreSQL's; SQLite has only the model guard",
)


def _table():
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET detail = 'tampered'",
        "DELETE FROM {table}",
        "TRUNCATE {table} CASCADE",
    ],
)
def test_the_database_refuses_to_change_or_remove_audit_rows(
    statement, clinician, patient
):
    audit_record(user=clinician, action="read", channel="page", obj=patient)
    _raw("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks in the way of TRUNCATE

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw(statement.format(table=_table()))

    assert AuditEvent.objects.get().detail == ""


def test_each_event_is_chained_to_the_previous_one(clinician, patient):
    first = audit_record(user=clinician, action="read", channel="page", obj=patient)
    second = audit_record(user=clinician, action="update", channel="api", obj=patient)

    assert len(first.hash) == len(second.hash) == 64
    assert first.hash != second.hash
    assert second.hash == second.content_hash(first.hash)
    stored = AuditEvent.objects.get(pk=second.pk)
    assert stored.content_hash(first.hash) == second.hash  # read back, same content


def test_audit_verify_reports_an_intact_chain(clinician, patient, capsys):
    for action in ("read", "update", "export"):
        audit_record(user=clinician, action=action, channel="page", obj=patient)
    last = AuditEvent.objects.order_by("-id").first()

    call_command("audit_verify")

    assert (
        f"audit chain intact: 3 events, last hash {last.hash}"
        in capsys.readouterr().out
    )


def _bypass_trigger():
    """What an attacker with the table owner's rights could do behind the app's back."""
    if connection.vendor == "postgresql":
        _raw("SET CONSTRAINTS ALL IMMEDIATE")
        _raw(f"ALTER TABLE {_table()} DISABLE TRIGGER USER")


@pytest.mark.parametrize("tampering", ["change", "delete"])
def test_audit_verify_names_the_first_broken_row(tampering, clinician, patient):
    events = [
        audit_record(user=clinician, action="read", channel="page", obj=patient)
        for _ in range(4)
    ]
    _bypass_trigger()
    if tampering == "change":
        sql = f"UPDATE {_table()} SET detail = 'nothing to see' WHERE id = %s"  # noqa: S608
        _raw(sql, [events[1].pk])
        broken = events[1]
    else:
        _raw(f"DELETE FROM {_table()} WHERE id = %s", [events[1].pk])  # noqa: S608
        broken = events[2]

    with pytest.raises(CommandError, match=f"broken at event {broken.pk} "):
        call_command("audit_verify")


def test_api_access_records_address_token_request_and_outcome(
    ehr, token, patient, api_client_user
):
    response = ehr.get(f"/api/v1/patients/{patient.pk}/", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="read")
    assert (event.user, event.patient, event.outcome) == (
        api_client_user,
        patient,
        "success",
    )
    assert event.source_address == "203.0.113.7"
    assert event.token_id
    assert token.startswith(event.token_id)
    assert event.request == f"GET /api/v1/patients/{patient.pk}/"
