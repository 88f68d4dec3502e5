"""``manage.py evaluate --jsonl`` (one compact JSON result per line, in input order) and
the default output, which stays the indented JSON it always was."""

import io
import json
import os
import subprocess
import sys

from django.core.management import call_command

from guidelines.loaders import DATA_DIR
from guidelines.management.commands.evaluate import JSONL_FLUSH_LINES, indented_json
from guidelines.services import guideline_evaluate, guideline_evaluate_from_files

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


# A PISA radius of 0.001 cm: derived values under 1e-4 in the result's findings, floats
# that orjson writes otherwise than json.dumps (7e-8 for 7e-08).
TINY_FLOATS = {
    "patient": {"age_years": 60, "sex": "male", "height_cm": 170, "weight_kg": 70},
    "echo": {
        "pisa_radius_cm": 0.001,
        "aliasing_velocity_cm_s": 10,
        "mr_peak_velocity_cm_s": 900,
        "mr_vti_cm": 10,
    },
}


def test_indented_json_is_the_bytes_of_json_dumps():
    results = [
        guideline_evaluate_from_files(data=data, guideline=code).result
        for code in ("acc_aha_2020", "esc_eacts_2025")
        for data in [*VIGNETTES, TINY_FLOATS]
    ]
    values = [
        results,
        *results,
        [],
        {},
        [[], {}, {"a": []}],
        [7e-08, 1e-05, 9e-05, 0.0001, 1e16, 1.5e300, -0.0, 0.1 + 0.2],
        {"text": 'é ✓ \u2028 \x7f \x1f "quoted" back\\slash', "n": None, "t": True},
        {"huge": 10**30},
        {1: "a key that is not a string"},
    ]
    for value in values:
        expected = json.dumps(value, indent=2, ensure_ascii=False).encode()
        assert indented_json(value) == expected


def _command_stdout(*args) -> bytes:
    """Standard output of ``manage.py evaluate`` in a process of its own: a pipe, the
    results written as bytes to its binary buffer."""
    proc = subprocess.run(
        [sys.executable, "manage.py", "evaluate", *args],
        capture_output=True,
        env={**os.environ, "DEBUG": "true"},
        check=True,
    )
    return proc.stdout


def test_results_written_to_a_pipe_are_the_bytes_of_json_dumps(tmp_path):
    inputs = [TINY_FLOATS, *MIXED] * 3  # more lines than one write of --jsonl holds
    assert len(inputs) > JSONL_FLUSH_LINES
    path = tmp_path / "in.json"
    path.write_text(json.dumps(inputs))
    indented = _command_stdout(str(path))
    results = json.loads(indented)
    assert len(results) == len(inputs)
    assert b"e-0" in indented  # the tiny floats, as json.dumps writes them
    assert (
        indented == json.dumps(results, indent=2, ensure_ascii=False).encode() + b"\n"
    )
    lines = _command_stdout("--jsonl", str(path)).splitlines()
    assert [json.loads(line) for line in lines] == results
