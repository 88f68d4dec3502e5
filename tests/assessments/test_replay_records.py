"""Replay reads stored assessments as plain rows (no model instances, the stored result's
outcome extracted by the database on PostgreSQL): each row must give exactly the
canonical input the parse of the record's input gives (the same values, written the
same way, in the same order) and the severity, stage and recommendation codes of its
stored result, prior echos included and in their order, whatever the database."""

import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.inputs import assessment_to_input, json_number, parsed_decimal
from assessments.models import Assessment
from assessments.replay import stored_records
from assessments.services import assessment_create
from guidelines.models import RuleSetTestCase
from guidelines.validation import input_parse, parse_value
from guidelines.vocabulary import INPUT_FIELDS, Kind
from tests.assessments.test_records import sample_values

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
        expected.append((input_parse(assessment_to_input(assessment)), outcome))
    assert len(expected[0][0]["prior_echos"]) == 3
    assert expected[1][1] is None
    assert expected[0][1][2]

    with CaptureQueriesContext(connection) as captured:
        read = list(stored_records(records))
    assert read == expected
    assert repr(read) == repr(expected)  # Decimal("0.45"), never Decimal("0.450")
    assert len(captured) == 2  # the assessments, then all their prior echos


def test_prior_echos_of_assessments_out_of_scope_are_not_read_into_others(
    encounter, clinician, rule_sets
):
    """The prior echos are read for the id range the rows span: an assessment inside
    that range but out of scope gives its studies to nobody."""
    with_echos = vignette_input("MR-031")
    first, between, last = (
        assessment_create(encounter=encounter, data=data, author=clinician)
        for data in (vignette_input("MR-023"), with_echos, vignette_input("MR-011"))
    )
    assert between.prior_echos.count() == 3
    scope = Assessment.objects.filter(pk__in=[first.pk, last.pk]).order_by("id")

    read = list(stored_records(scope))

    assert [data.get("prior_echos") for data, _ in read] == [None, None]
    assert read[0][0] == input_parse(assessment_to_input(first))


def every_field_input(pick):
    """Contract input with every field: ``pick`` chooses among its sample values."""
    data: dict = {}
    for spec in INPUT_FIELDS:
        if spec.section != "patient":  # from the patient record
            value = pick(sample_values(spec))
            if spec.section:
                data.setdefault(spec.section, {})[spec.name] = value
            else:
                data[spec.path] = value
    data["echo"]["lvesd_mm"], data["echo"]["lvedd_mm"] = 41.5, 58
    data["prior_echos"] = [
        {"months_ago": 12, "lvef_pct": 61.2},
        {"months_ago": 24, "lvef_pct": 64, "lvesd_mm": 36.5},
        {"months_ago": 0},
    ]
    return data


@pytest.mark.parametrize(
    "pick",
    [
        pytest.param(lambda values: values[0], id="lowest, first choice, true"),
        pytest.param(lambda values: values[-1], id="highest, last choice, false"),
    ],
)
def test_every_field_reads_back_as_its_parse_gives_it(encounter, clinician, pick):
    created = assessment_create(
        encounter=encounter, data=every_field_input(pick), author=clinician
    )
    record = Assessment.objects.get(pk=created.pk)
    expected = input_parse(assessment_to_input(record))

    [(read, _)] = stored_records(Assessment.objects.filter(pk=record.pk))

    assert read == expected
    assert repr(read) == repr(expected)


def test_a_stored_number_reads_as_the_parse_of_its_json_number():
    """``parsed_decimal`` of a column value (3 decimal places, as the database gives
    it) is what ``input_parse`` makes of its JSON number: no trailing zeros, whole
    numbers without a decimal point, for every decimal field's range."""
    rng = random.Random(18)  # noqa: S311 (reproducible, not secret)
    for spec in INPUT_FIELDS:
        if spec.kind is not Kind.DECIMAL:
            continue
        low, high = int(spec.minimum * 1000), int(spec.maximum * 1000)
        for thousandths in [low, high, *(rng.randint(low, high) for _ in range(400))]:
            column = Decimal(thousandths).scaleb(-3)  # e.g. Decimal("0.450")
            parsed = parse_value(spec, json_number(column))
            assert repr(parsed_decimal(column)) == repr(parsed), column
