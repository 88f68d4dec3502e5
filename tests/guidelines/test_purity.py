"""The engine is pure: importing and running it loads nothing from Django."""

import subprocess
import sys

CODE = """
import json, sys
from guidelines.loaders import DATA_DIR, ruleset_load
from guidelines.engine import evaluate
from guidelines.validation import input_parse
vignette = json.loads((DATA_DIR / "vignettes.json").read_text())[0]
evaluate(input_parse(vignette["input"]), ruleset_load("acc_aha_2020"))
print(sorted(m for m in sys.modules if m == "django" or m.startswith("django.")))
"""


def test_engine_imports_nothing_from_django():
    proc = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"
