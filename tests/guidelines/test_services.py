"""Rule sets in the database: loading, caching, evaluation without queries, the
evaluate command of CONTRACT section 3."""

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guidelines.authoring import guidelines_load
from guidelines.models import RuleSetVersion, VersionStatus
from guidelines.services import guideline_evaluate
from guidelines.validation import InputError

VIGNETTE_INPUT = json.loads(
    (__import__("guidelines.loaders").loaders.DATA_DIR / "vignettes.json").read_text()
)[1]["input"]


def test_load_guidelines_is_idempotent(rule_sets):
    before = list(RuleSetVersion.objects.values_list("id", "content_hash", "status"))
    messages = guidelines_load()
    assert (
        list(RuleSetVersion.objects.values_list("id", "content_hash", "status"))
        == before
    )
    assert "acc_aha_2020: version 2020.1 active, unchanged" in messages
    assert RuleSetVersion.objects.filter(status=VersionStatus.PUBLISHED).count() == 2


def test_database_version_hashes_like_its_data_file(rule_sets):
    from guidelines.loaders import clinical_hash, document_read, ruleset_from_version

    version = RuleSetVersion.objects.get(rule_set__code="esc_eacts_2025")
    assert version.content_hash == clinical_hash(document_read("esc_eacts_2025"))
    assert ruleset_from_version(version).content_hash == version.content_hash


def test_evaluation_makes_no_database_query_after_warm_up(rule_sets):
    guideline_evaluate(data=VIGNETTE_INPUT)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            outcome = guideline_evaluate(data=VIGNETTE_INPUT)
    assert len(queries) == 0
    assert outcome.result["severity"] == "moderate"


def test_input_guideline_field_selects_the_rule_set(rule_sets):
    outcome = guideline_evaluate(data={**VIGNETTE_INPUT, "guideline": "esc_eacts_2025"})
    assert outcome.result["guideline"]["code"] == "esc_eacts_2025"


def test_bad_input_is_refused_by_field(rule_sets):
    with pytest.raises(InputError) as excinfo:
        guideline_evaluate(
            data={
                "patient": {"age_years": 50, "sex": "male"},
                "echo": {"eroa_cm2": "a lot"},
                "color": 1,
            }
        )
    fields = {e.field for e in excinfo.value.errors}
    assert fields == {"echo.eroa_cm2", "color"}


def test_evaluate_command_prints_results_in_order(rule_sets, tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text(
        json.dumps([VIGNETTE_INPUT, {**VIGNETTE_INPUT, "guideline": "esc_eacts_2025"}])
    )
    call_command("evaluate", str(path))
    results = json.loads(capsys.readouterr().out)
    assert [r["guideline"]["code"] for r in results] == [
        "acc_aha_2020",
        "esc_eacts_2025",
    ]


def test_evaluate_command_exits_2_naming_the_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"patient": {"age_years": 130, "sex": "male"}}))
    proc = subprocess.run(
        [sys.executable, "manage.py", "evaluate", str(path)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DEBUG": "true"},
    )
    assert proc.returncode == 2
    assert "patient.age_years: must be between 0 and 120 years" in proc.stderr


def test_system_check_fails_without_published_rule_sets(db):
    from guidelines.checks import rule_sets_check

    RuleSetVersion.objects.update(status=VersionStatus.RETIRED)
    errors = rule_sets_check(databases=["default"])
    assert {e.id for e in errors} == {"guidelines.W001"}


def test_system_check_passes_with_the_shipped_rule_sets(rule_sets):
    from guidelines.checks import rule_sets_check

    assert rule_sets_check(databases=["default"]) == []


def test_evaluate_command_works_before_the_database_is_initialised(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/empty.sqlite3"
    proc = subprocess.run(
        [sys.executable, "manage.py", "evaluate", "-"],
        input=json.dumps(VIGNETTE_INPUT),
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["severity"] == "moderate"
    assert result["guideline"]["version"] == "2020.1"
    assert "using the shipped rule-set files" in proc.stderr


def test_migrate_runs_on_a_fresh_database(tmp_path):
    import os

    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3",
    }
    for command in (
        ["migrate", "--noinput"],
        ["migrate", "--noinput"],
        ["load_guidelines"],
    ):
        proc = subprocess.run(
            [sys.executable, "manage.py", *command],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
