"""The audit trail is append-only in the database and tamper-evident (HIPAA 164.312(b)):
appends are plain INSERTs that wait for nobody; the sealer chains them afterwards (each
row's hash covers the previous sealed row's); a PostgreSQL trigger refuses DELETE,
TRUNCATE and every UPDATE but that one sealing, and ``manage.py audit_verify`` checks
the chain."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from assessments.audit import audit_chain_verify, audit_record, audit_seal
from assessments.models import AuditEvent
from assessments.models.audit import GENESIS_HASH

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger and concurrent writers are PostgreSQL's; SQLite "
    "has only the model guard and serializes writers itself",
)


def _table():
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _read(clinician, patient, **kwargs):
    return audit_record(
        user=clinician, action="read", channel="page", obj=patient, **kwargs
    )


def _chain():
    """(id, chain position, hash) of every event, in chain order."""
    return list(
        AuditEvent.objects.order_by("chain_position").values_list(
            "id", "chain_position", "hash"
        )
    )


def test_an_event_is_stored_unsealed_and_sealed_once(clinician, patient):
    event = _read(clinician, patient)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.hash, stored.chain_position) == (None, None)

    assert audit_seal() == 1
    assert audit_seal() == 0  # nothing left: sealed once only
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.chain_position == 1
    assert stored.hash == stored.content_hash(GENESIS_HASH)


def test_each_sealed_event_is_chained_to_the_previous_one(clinician, patient):
    first = _read(clinician, patient)
    second = audit_record(user=clinician, action="update", channel="api", obj=patient)
    audit_seal()
    third = _read(clinician, patient)
    audit_seal()

    first, second, third = (
        AuditEvent.objects.get(pk=e.pk) for e in (first, second, third)
    )
    assert [e.chain_position for e in (first, second, third)] == [1, 2, 3]
    assert len({first.hash, second.hash, third.hash}) == 3
    assert first.hash == first.content_hash(GENESIS_HASH)
    assert second.hash == second.content_hash(first.hash)
    assert third.hash == third.content_hash(second.hash)  # across two sealer runs


def test_audit_verify_seals_then_reports_an_intact_chain(clinician, patient, capsys):
    for action in ("read", "update", "export"):
        audit_record(user=clinician, action=action, channel="page", obj=patient)

    call_command("audit_verify")

    last = AuditEvent.objects.get(chain_position=3)
    assert (
        f"audit chain intact: 3 sealed events, 0 unsealed, last hash {last.hash}"
        in capsys.readouterr().out
    )


def test_audit_verify_without_sealing_counts_the_unsealed(clinician, patient, capsys):
    _read(clinician, patient)
    audit_seal()
    _read(clinician, patient)

    call_command("audit_verify", "--no-seal")

    assert "1 sealed events, 1 unsealed" in capsys.readouterr().out


def test_audit_seal_command_chains_the_pending_events(clinician, patient, capsys):
    _read(clinician, patient)
    _read(clinician, patient)

    call_command("audit_seal")

    assert "sealed 2 audit events" in capsys.readouterr().out
    assert audit_chain_verify(seal=False).unsealed == 0


def test_the_beat_task_seals(clinician, patient):
    from django.conf import settings

    from assessments.tasks import audit_seal_task

    _read(clinician, patient)
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-seal"]
    assert schedule["task"] == audit_seal_task.name
    assert schedule["schedule"] <= 10

    assert audit_seal_task.apply().get() == 1
    assert AuditEvent.objects.get().chain_position == 1


def _bypass_trigger():
    """What an attacker with the table owner's rights could do behind the app's back."""
    if connection.vendor == "postgresql":
        _raw("SET CONSTRAINTS ALL IMMEDIATE")
        _raw(f"ALTER TABLE {_table()} DISABLE TRIGGER USER")


@pytest.mark.parametrize("tampering", ["change", "delete", "unseal and change"])
def test_audit_verify_names_the_first_broken_row(tampering, clinician, patient):
    events = [_read(clinician, patient) for _ in range(4)]
    audit_seal()
    _bypass_trigger()
    if tampering == "change":
        sql = f"UPDATE {_table()} SET detail = 'nothing to see' WHERE id = %s"  # noqa: S608
        _raw(sql, [events[1].pk])
        broken = events[1]
    elif tampering == "delete":
        _raw(f"DELETE FROM {_table()} WHERE id = %s", [events[1].pk])  # noqa: S608
        broken = events[2]
    else:  # make it look pending, so that the next seal chains the edit at the end
        sql = (
            f"UPDATE {_table()} SET detail = 'nothing to see', hash = NULL, "  # noqa: S608
            "chain_position = NULL WHERE id = %s"
        )
        _raw(sql, [events[1].pk])
        broken = events[2]

    with pytest.raises(CommandError, match=f"broken at event {broken.pk} "):
        call_command("audit_verify")


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET detail = 'tampered'",
        "UPDATE {table} SET hash = repeat('0', 64)",  # re-sealing
        "UPDATE {table} SET chain_position = 7",
        "UPDATE {table} SET hash = NULL, chain_position = NULL",  # unsealing
        "DELETE FROM {table}",
        "TRUNCATE {table} CASCADE",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_sealed_row(
    statement, clinician, patient
):
    _read(clinician, patient)
    audit_seal()
    sealed = AuditEvent.objects.get()
    _raw("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks in the way of TRUNCATE

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw(statement.format(table=_table()))

    stored = AuditEvent.objects.get()
    assert (stored.detail, stored.hash, stored.chain_position) == (
        "",
        sealed.hash,
        1,
    )


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET detail = 'tampered'",
        # sealing and anything else at once
        "UPDATE {table} SET hash = repeat('a', 64), chain_position = 1, detail = 'x'",
        "UPDATE {table} SET hash = repeat('a', 64)",  # half a seal
        "UPDATE {table} SET hash = 'not a hash', chain_position = 1",
        "DELETE FROM {table}",
        "INSERT INTO {table} (at, action, channel, outcome, object_type, object_id,"
        " object_repr, detail, token_id, request, hash, chain_position) VALUES (now(),"
        " 'read', 'page', 'success', '', '', '', '', '', '', repeat('a', 64), 2)",
    ],
)
def test_the_database_allows_an_unsealed_row_only_its_seal(
    statement, clinician, patient
):
    _read(clinician, patient)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw(statement.format(table=_table()))

    assert AuditEvent.objects.get().detail == ""
    assert audit_seal() == 1  # the one allowed transition


def _in_thread(work):
    """Run ``work`` on a database connection of its own; re-raise what it raised."""
    failures = []

    def target():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, failures


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_after_higher_ids_is_sealed_at_the_next_run(
    clinician, patient
):
    """Ids are drawn at INSERT but seen at COMMIT: the sealer must neither skip the
    late event nor wait for it."""
    inserted, release = threading.Event(), threading.Event()

    def slow_request():
        with transaction.atomic():
            _read(clinician, patient, detail="slow")
            inserted.set()
            release.wait(10)

    thread, failures = _in_thread(slow_request)
    assert inserted.wait(10)
    fast = _read(clinician, patient, detail="fast")  # a higher id, committed first

    assert audit_seal() == 1  # the committed one, without waiting for the slow one
    release.set()
    thread.join(10)
    assert not failures
    assert audit_seal() == 1

    slow = AuditEvent.objects.get(detail="slow")
    assert slow.pk < fast.pk
    assert AuditEvent.objects.get(pk=fast.pk).chain_position == 1
    assert slow.chain_position == 2
    check = audit_chain_verify(seal=False)
    assert (check.sealed, check.unsealed, check.broken) == (2, 0, None)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_chain_every_event_exactly_once(
    clinician, patient
):
    writers, appends, sealers = 8, 40, 3
    writing = threading.Event()
    done = threading.Event()
    sealed_counts = []

    def write(n):
        writing.wait(10)
        for i in range(appends):
            if i % 3 == 0:  # some in a longer transaction, committing out of id order
                with transaction.atomic():
                    _read(clinician, patient, detail=f"{n}-{i}")
                    _read(clinician, patient, detail=f"{n}-{i}b")
            else:
                _read(clinician, patient, detail=f"{n}-{i}")

    def seal():
        writing.wait(10)
        total = 0
        while not done.is_set():
            total += audit_seal(batch_size=7)  # small batches: many interleavings
        sealed_counts.append(total)

    writer_threads = [_in_thread(lambda n=n: write(n)) for n in range(writers)]
    sealer_threads = [_in_thread(seal) for _ in range(sealers)]
    writing.set()
    for thread, _ in writer_threads:
        thread.join(60)
    done.set()
    for thread, _ in sealer_threads:
        thread.join(60)
    assert not [f for _, failures in writer_threads + sealer_threads for f in failures]
    late = audit_seal()

    expected = writers * (appends + (appends + 2) // 3)
    assert AuditEvent.objects.count() == expected
    assert (
        sum(sealed_counts) + late == expected
    )  # each event sealed by one sealer, once
    chain = _chain()
    assert [position for _, position, _ in chain] == list(range(1, expected + 1))
    assert len({pk for pk, _, _ in chain}) == expected
    check = audit_chain_verify(seal=False)
    assert (check.sealed, check.unsealed, check.broken) == (expected, 0, None)


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
