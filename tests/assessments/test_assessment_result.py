"""A stored assessment keeps the result and the rule-set version that produced it."""

import json

from assessments.services import assessment_create
from guidelines.authoring import version_create_from_document
from guidelines.loaders import DATA_DIR, document_read
from guidelines.models import RuleSetVersion, VersionStatus
from guidelines.services import guideline_evaluate

VIGNETTE = json.loads((DATA_DIR / "vignettes.json").read_text())[3]  # MR-007, C2


def test_assessment_stores_result_and_version(encounter, clinician):
    data = {k: v for k, v in VIGNETTE["input"].items() if k != "patient"}
    assessment = assessment_create(encounter=encounter, data=data, author=clinician)
    assessment.refresh_from_db()
    active = RuleSetVersion.objects.get(
        rule_set__code="acc_aha_2020", status="published"
    )
    assert assessment.rule_set_version == active
    assert assessment.result["guideline"]["content_hash"] == active.content_hash
    assert assessment.result["severity"] == "severe"
    assert "surgery_mv" in [r["code"] for r in assessment.result["recommendations"]]


def test_result_is_unchanged_by_a_later_publication(
    encounter, clinician, django_capture_on_commit_callbacks
):
    data = {k: v for k, v in VIGNETTE["input"].items() if k != "patient"}
    assessment = assessment_create(encounter=encounter, data=data, author=clinician)
    stored = json.loads(json.dumps(assessment.result))
    doc = document_read("acc_aha_2020")
    for row in doc["stage"]:
        if row["key"] == "c2_lvef":
            row["when"] = ["echo.lvef_pct", "<=", 55]
    with django_capture_on_commit_callbacks(execute=True):
        version_create_from_document(
            doc=doc,
            origin="editor",
            status=VersionStatus.PUBLISHED,
            label="2020.1-test",
        )
    assessment.refresh_from_db()
    assert assessment.result == stored
    assert assessment.result["stage"] == "C2"
    fresh = guideline_evaluate(data={**VIGNETTE["input"]})
    assert fresh.result["stage"] == "C1"
    assert fresh.version_id != assessment.rule_set_version_id


def test_assessment_create_has_a_small_query_budget(
    encounter, clinician, django_assert_max_num_queries
):
    data = {k: v for k, v in VIGNETTE["input"].items() if k != "patient"}
    assessment_create(encounter=encounter, data=data, author=clinician)  # warm caches
    with django_assert_max_num_queries(15):
        assessment_create(encounter=encounter, data=data, author=clinician)
