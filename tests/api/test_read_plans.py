"""Reads at scale: the patient page, the patient API lists and the assessment read use
indexes on the big tables (proved by EXPLAIN on PostgreSQL), and the patient page costs
the same number of queries whatever the number of encounters.

The plans are taken with ``enable_seqscan = off``: on a small test table the planner
would choose a sequential scan anyway, while with it off a sequential scan remains only
where no index can serve the query, which is what these tests must catch. With a million
assessments (bench/replay.py, bench/reads.py) the planner picks the same indexes.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.charts import with_result_summary
from assessments.models import Assessment, Patient
from assessments.services import assessment_create
from tests.factories import EncounterFactory, PatientFactory

BIG_TABLES = (
    "assessments_patient",
    "assessments_encounter",
    "assessments_assessment",
    "assessments_priorecho",
    "assessments_auditevent",
)


@pytest.fixture
def history(organization, clinician, assessment_input, rule_sets):
    """Patients of the organization, each with encounters and an assessment apiece."""
    patients = PatientFactory.create_batch(5, organization=organization)
    assessments = []
    for patient in patients:
        for _ in range(3):
            encounter = EncounterFactory(patient=patient, clinician=clinician)
            assessments.append(
                assessment_create(
                    encounter=encounter, data=assessment_input, author=clinician
                )
            )
    return patients, assessments


def plans(run, off=("enable_seqscan",)) -> list[tuple[str, str]]:
    """(SQL, EXPLAIN output) of every SELECT that ``run()`` issues, planned with the
    ``off`` planner methods disabled (they remain only where nothing else can serve)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    selects = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")
    ]
    out = []
    with connection.cursor() as cursor:
        for setting in off:
            cursor.execute(f"SET {setting} = off")
        try:
            for sql in selects:
                cursor.execute(f"EXPLAIN {sql}")
                out.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        finally:
            for setting in off:
                cursor.execute(f"SET {setting} = on")
    return out


def assert_no_seq_scan_on_big_tables(run):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (set DATABASE_URL)")
    checked = plans(run)
    assert checked
    for sql, plan in checked:
        for table in BIG_TABLES:
            assert f"Seq Scan on {table}" not in plan, f"{sql}\n{plan}"
    assert any("Index" in plan for _, plan in checked)


def test_the_patient_page_uses_indexes(client, clinician, history):
    patients, _ = history
    client.force_login(clinician)
    url = reverse("patient_detail", args=[patients[2].pk])
    assert_no_seq_scan_on_big_tables(lambda: client.get(url))


def test_the_patient_api_lists_use_indexes(ehr, history):
    patients, _ = history
    assert_no_seq_scan_on_big_tables(lambda: ehr.get("/api/v1/patients/"))
    assert_no_seq_scan_on_big_tables(
        lambda: ehr.get(f"/api/v1/patients/{patients[1].pk}/encounters/")
    )


def page_ids_plan(ehr, *, page):
    """The plan of the query reading one page's patient ids (pages of two). Sorting a
    test table's few rows is cheaper than any index, so sorts are planned off too: a
    Sort remains only if no index serves the order."""
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (set DATABASE_URL)")
    checked = plans(
        lambda: ehr.get(f"/api/v1/patients/?page={page}&page_size=2"),
        off=("enable_seqscan", "enable_sort"),
    )
    page_ids = [
        plan
        for sql, plan in checked
        if sql.startswith('SELECT "assessments_patient"."id" AS "pk"')
    ]
    assert len(page_ids) == 1, checked
    return page_ids[0]


def test_the_patient_list_pages_over_the_site_index(ehr, history):
    """A page's ids are read in list order from the (organization, name) index, not
    by sorting the site's patients (100,000 of them at scale)."""
    plan = page_ids_plan(ehr, page=2)
    assert "patient_site_by_name" in plan
    assert "Sort" not in plan


def test_a_page_in_the_second_half_walks_the_site_index_backwards(ehr, history):
    """The last page's ids are read from the end of the (organization, name) index,
    not by skipping the patients before it."""
    plan = page_ids_plan(ehr, page=3)
    assert "Index Only Scan Backward using patient_site_by_name" in plan
    assert "Sort" not in plan


def test_the_assessment_read_uses_indexes(ehr, history):
    _, assessments = history
    assert_no_seq_scan_on_big_tables(
        lambda: ehr.get(f"/api/v1/assessments/{assessments[4].pk}/")
    )


def test_the_patient_page_query_count_is_constant(
    client, clinician, patient, assessment_input, rule_sets
):
    client.force_login(clinician)
    url = reverse("patient_detail", args=[patient.pk])

    def queries_with(encounters: int) -> int:
        while patient.encounters.count() < encounters:
            encounter = EncounterFactory(patient=patient, clinician=clinician)
            assessment_create(
                encounter=encounter, data=assessment_input, author=clinician
            )
        client.get(url)  # warm caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries_with(1) == queries_with(8)


def test_the_patient_page_reads_the_assessments_once_with_the_columns_it_shows(
    client, clinician, history
):
    """One query serves the table and the trend charts, without the input columns
    the page does not show (a hundred of them), without the stored result and without
    a COUNT."""
    patients, _ = history
    client.force_login(clinician)
    url = reverse("patient_detail", args=[patients[0].pk])
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "assessments_assessment"' in q["sql"]
    ]
    assert len(reads) == 1, reads
    assert '"assessments_assessment"."echo_lvef_pct"' in reads[0]
    assert '"assessments_assessment"."echo_pasp_mmhg"' not in reads[0]
    # the stored result (~11 KB) only as the values the page shows, taken out by SQL
    assert "mr_type" in reads[0]


def test_the_result_summary_is_the_stored_results_values(history):
    _, assessments = history
    stored = assessments[0]
    shown = with_result_summary(Assessment.objects.filter(pk=stored.pk)).get()

    assert "result" in shown.get_deferred_fields()
    result = stored.result
    assert (
        shown.result_mr_type,
        shown.result_severity,
        shown.result_severity_subgrade,
        shown.result_stage,
        shown.result_guideline,
        shown.result_derived,
    ) == (
        result["mr_type"],
        result["severity"],
        result["severity_subgrade"],
        result["stage"],
        result["guideline"],  # its version a string, as stored
        result["derived"],
    )


def test_a_patient_search_uses_the_trigram_index(ehr, client, clinician, organization):
    """Part of a name or an MRN: the API's ``q`` and the list page's search words
    are served by the trigram index, not by reading every patient of the site. A
    site of 3,000 patients, analyzed and indexed as autovacuum leaves them (the GIN
    pending list merged); plain index scans are planned off, as a small site's
    whole (organization) index is cheap to read, so the bitmap scans left show
    which index serves the search condition."""
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (set DATABASE_URL)")
    Patient.objects.bulk_create(
        PatientFactory.build_batch(3000, organization=organization)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('patient_name_search')")
        cursor.execute("ANALYZE assessments_patient")
    client.force_login(clinician)
    for run in (
        lambda: ehr.get("/api/v1/patients/?q=Lovelac"),
        lambda: client.get(reverse("patient_list") + "?q=Lovelac"),
    ):
        checked = plans(
            run, off=("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
        )
        searched = [plan for sql, plan in checked if "LIKE UPPER" in sql]
        assert searched
        for plan in searched:
            assert "Bitmap Index Scan on patient_name_search" in plan, plan


def test_a_patient_search_is_planned_for_its_terms(ehr, client, clinician, history):
    """With prepared statements PostgreSQL may reuse a generic plan made without the
    search terms, which walks the whole site in list order for a rare name: every
    query of a search runs where plans are made for the actual terms."""
    if connection.vendor != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")
    patients, _ = history
    client.force_login(clinician)
    for run in (
        lambda: ehr.get(f"/api/v1/patients/?q={patients[0].family_name}"),
        lambda: client.get(reverse("patient_list") + "?q=atien"),
    ):
        with CaptureQueriesContext(connection) as captured:
            assert run().status_code == 200
        sql = [q["sql"] for q in captured.captured_queries]
        searches = [i for i, s in enumerate(sql) if "LIKE UPPER" in s]
        custom = sql.index("SET LOCAL plan_cache_mode = force_custom_plan")
        assert searches
        assert custom < min(searches)


def test_a_json_null_in_the_result_summary_is_none(history):
    """SQLite gives a JSON null as the text "null": the page would show "(null)"."""
    _, assessments = history
    stored = assessments[0]
    Assessment.objects.filter(pk=stored.pk).update(
        result={**stored.result, "severity_subgrade": None}
    )

    shown = with_result_summary(Assessment.objects.filter(pk=stored.pk)).get()

    assert shown.result_severity_subgrade is None
