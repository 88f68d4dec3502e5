"""Replay reads stored assessments as plain rows (no model instances, the stored result's
outcome extracted by the database on PostgreSQL): each row must give exactly the input
the record gives and the severity, stage and recommendation codes of its stored result,
prior echos included and in their order, whatever the database."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.inputs import assessment_to_input
from assessments.models import Assessment
from assessments.replay import stored_records
from assessments.services import assessment_create
from guidelines.models import RuleSetTestCase

CODE = "acc_aha_2020"
# MR-031 has three prior echos; the others none.
VIGNETTES = ("MR-031", "MR-023", "MR-011", "MR-001")


def vignette_input(name):
    data = dict(RuleSetTestCase.objects.get(rule_set__code=CODE, name=name).input)
    data.pop("patient")
    return data


def test_rows_read_as_the_records_input_and_stored_outcome(
    encounter, clinician, rule_sets
):
    stored = [
        assessment_create(encounter=encounter, data=vignette_input(n), author=clinician)
        for n in VIGNETTES
    ]
    Assessment.objects.filter(pk=stored[1].pk).update(result=None)
    records = Assessment.objects.filter(pk__in=[a.pk for a in stored]).order_by("id")
    expected = []
    for assessment in records.prefetch_related("prior_echos"):
        result = assessment.result
        outcome = None
        if result is not None:
            codes = {r["code"] for r in result["recommendations"]}
            outcome = (result["severity"], result["stage"], codes)
        expected.append((assessment_to_input(assessment), outcome))
    assert len(expected[0][0]["prior_echos"]) == 3
    assert expected[1][1] is None
    assert expected[0][1][2]

    with CaptureQueriesContext(connection) as captured:
        read = list(stored_records(records))
    assert read == expected
    assert len(captured) == 2  # the assessments, then all their prior echos
