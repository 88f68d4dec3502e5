"""``manage.py evaluate --jsonl`` (one compact JSON result per line, in input order) and
the default output, which stays the indented JSON it always was."""

import io
import json
import os
import subprocess
import sys

from django.core.management import call_command

from guidelines.loaders import DATA_DIR
from guidelines.services import guideline_evaluate

VIGNETTES = [v["input"] for v in json.loads((DATA_DIR / "vignettes.json").read_text())]
MIXED = [
    {**data, "guideline": code}
    for code in ("acc_aha_2020", "esc_eacts_2025")
    for data in VIGNETTES[:6]
]


def _run(*args) -> str:
    out = io.StringIO()
    call_command("evaluate", *args, stdout=out)
    return out.getvalue()


def test_default_output_is_the_indented_array_of_service_results(rule_sets, tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(MIXED))
    expected = [guideline_evaluate(data=data).result for data in MIXED]
    assert _run(str(path)) == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    single = tmp_path / "one.json"
    single.write_text(json.dumps(MIXED[0]))
    assert (
        _run(str(single))
        == json.dumps(expected[0], indent=2, ensure_ascii=False) + "\n"
    )


def test_jsonl_prints_one_compact_line_per_result_in_order(rule_sets, tmp_path):
    expected = [guideline_evaluate(data=data).result for data in MIXED]
    array, lines = tmp_path / "in.json", tmp_path / "in.jsonl"
    array.write_text(json.dumps(MIXED, indent=1))
    lines.write_text("\n" + "".join(json.dumps(d) + "\n\n" for d in MIXED))
    for path in (array, lines):
        output = _run("--jsonl", str(path))
        rows = output.splitlines()
        assert len(rows) == len(MIXED)
        assert [json.loads(row) for row in rows] == expected
        for row in rows:
            assert row == json.dumps(
                json.loads(row), separators=(",", ":"), ensure_ascii=False
            )
        assert [json.loads(r)["guideline"]["code"] for r in rows] == [
            d["guideline"] for d in MIXED
        ]


def test_jsonl_bad_line_exits_2_naming_the_line_and_field(rule_sets, tmp_path):
    path = tmp_path / "bad.jsonl"
    bad = {**VIGNETTES[0], "patient": {"age_years": 130, "sex": "male"}}
    path.write_text(
        "".join(json.dumps(d) + "\n" for d in (VIGNETTES[0], bad, VIGNETTES[1]))
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "evaluate", "--jsonl", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "true"},
    )
    assert proc.returncode == 2
    assert "line 2: patient.age_years: must be between 0 and 120 years" in proc.stderr
    assert len(proc.stdout.splitlines()) == 1  # the result before the bad line only


def test_jsonl_array_error_names_the_index(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([VIGNETTES[0], {"patient": {"age_years": 50}}]))
    proc = subprocess.run(
        [sys.executable, "manage.py", "evaluate", "--jsonl", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "true"},
    )
    assert proc.returncode == 2
    assert "[1] patient.sex" in proc.stderr
