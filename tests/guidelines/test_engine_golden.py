"""The engine's output, byte for byte, against files recorded before it was reworked.

For each shipped rule set the golden file holds a snapshot of the rule-set document (so
an edit to the data files does not move these results: they test the engine, not the
thresholds), the inputs and the serialised result of each:

- every vignette of both data files (``vignettes.json``, ``vignettes_mrcds.json``);
- every case the publication gate generates from the rule set: the boundary cases of
  its severity bands and stage criteria, and each vignette with each rule cut-off placed
  on it and one step beyond (``outcomes.boundary_gate_cases``, ``threshold_gate_cases``);
- seeded random inputs over the vocabulary's ranges, with values on and beside the rule
  set's thresholds and with fields left out (missing data), half of them built from a
  vignette with fields removed or moved onto a cut-off.

``UPDATE_GOLDEN=1 .venv/bin/pytest tests/guidelines/test_engine_golden.py`` re-records
the files; do that only for a change that is meant to change the engine's output.
"""

from __future__ import annotations

import copy
import difflib
import gzip
import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from guidelines.engine import evaluate
from guidelines.loaders import (
    DATA_DIR,
    SHIPPED_RULE_SETS,
    document_read,
    ruleset_from_document,
)
from guidelines.outcomes import GateCase, boundary_gate_cases, threshold_gate_cases
from guidelines.validation import InputError, input_parse
from guidelines.vocabulary import FIELDS_BY_PATH, INPUT_FIELDS, Kind

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
RANDOM_CASES = 300
SEED = 20261207


def serialise(result: dict[str, Any]) -> str:
    """The result as stored and sent: JSON in the engine's own key order."""
    return json.dumps(result, ensure_ascii=False)


def _vignettes(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / name).read_text())


def _thresholds(rule_set) -> dict[str, list[Decimal]]:
    """Every numeric cut-off on an input field, in any row of the rule set."""
    found: dict[str, set[Decimal]] = {}
    items = (*rule_set.severity_criteria, *rule_set.stage_criteria, *rule_set.rules)
    for item in items:
        for leaf in item.condition.leaves():
            field = FIELDS_BY_PATH.get(leaf.parameter)
            if field is None or field.kind not in (Kind.DECIMAL, Kind.INTEGER):
                continue
            values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            for value in values:
                if isinstance(value, int | Decimal) and not isinstance(value, bool):
                    found.setdefault(leaf.parameter, set()).add(Decimal(value))
    return {name: sorted(values) for name, values in found.items()}


def _number(field, rng: random.Random, cuts: list[Decimal]) -> int | float:
    """A value in the field's range: on or one step beside a cut-off, or anywhere."""
    lo, hi = field.minimum, field.maximum
    if cuts and rng.random() < 0.6:
        cut = rng.choice(cuts)
        exponent = min(int(cut.normalize().as_tuple().exponent), 0)
        step = Decimal(1) if field.kind is Kind.INTEGER else Decimal(1).scaleb(exponent)
        value = min(max(cut + rng.choice((-1, 0, 0, 1)) * step, lo), hi)
    elif field.kind is Kind.INTEGER:
        value = Decimal(rng.randint(int(lo), int(hi)))
    else:
        places = rng.choice((0, 1, 2, 3))
        value = Decimal(str(round(rng.uniform(float(lo), float(hi)), places)))
        value = min(max(value, lo), hi)
    return int(value) if field.kind is Kind.INTEGER else float(value)


def _value(field, rng: random.Random, thresholds) -> Any:
    if field.kind is Kind.BOOLEAN:
        return rng.random() < 0.5
    if field.kind is Kind.CHOICE:
        return rng.choice(field.choice_values)
    return _number(field, rng, thresholds.get(field.path, []))


def _put(data: dict[str, Any], field, value: Any) -> None:
    if field.section:
        data.setdefault(field.section, {})[field.name] = value
    else:
        data[field.path] = value


def _random_input(rng: random.Random, thresholds, bases) -> dict[str, Any]:
    if rng.random() < 0.5:  # anywhere in the vocabulary, about half the fields absent
        data: dict[str, Any] = {}
        for field in INPUT_FIELDS:
            if field.path != "guideline" and (field.required or rng.random() < 0.5):
                _put(data, field, _value(field, rng, thresholds))
        if rng.random() < 0.3:
            data["prior_echos"] = [
                {
                    "months_ago": months,
                    "lvef_pct": rng.randint(20, 75),
                    "lvesd_mm": rng.randint(25, 60),
                }
                for months in sorted(rng.sample(range(1, 120), rng.randint(1, 3)))
            ]
        return data
    data = copy.deepcopy(rng.choice(bases))  # a vignette with gaps and moved values
    for section, values in list(data.items()):
        if isinstance(values, dict):
            for name in list(values):
                field = FIELDS_BY_PATH.get(f"{section}.{name}")
                if field is not None and not field.required and rng.random() < 0.25:
                    del values[name]
    numeric = [p for p in thresholds if p in FIELDS_BY_PATH]
    for path in rng.sample(numeric, rng.randint(1, 3)):
        field = FIELDS_BY_PATH[path]
        _put(data, field, _number(field, rng, thresholds[path]))
    return data


def golden_cases(code: str, rule_set) -> list[tuple[str, dict[str, Any]]]:
    """(name, input) of every recorded case, in a fixed order."""
    cases = [
        (f"vignette {v['id']} ({name})", v["input"])
        for name in ("vignettes.json", "vignettes_mrcds.json")
        for v in _vignettes(name)
    ]
    gate_vignettes = [
        GateCase(f"vignette {v['id']}", v["input"], {})
        for v in _vignettes("vignettes.json")
        if code in v["expected"].get("profiles", {})
    ]
    cases += [(f"boundary {c.label}", c.input) for c in boundary_gate_cases(rule_set)]
    cases += [
        (f"threshold {c.label} on {c.base}", c.input)
        for c in threshold_gate_cases(rule_set, gate_vignettes)
    ]
    rng = random.Random(f"{SEED} {code}")  # noqa: S311 (reproducible, not secret)
    thresholds = _thresholds(rule_set)
    bases = [
        v["input"]
        for name in ("vignettes.json", "vignettes_mrcds.json")
        for v in _vignettes(name)
    ]
    count = 0
    while count < RANDOM_CASES:
        data = _random_input(rng, thresholds, bases)
        try:
            input_parse(data)
        except InputError:
            continue
        cases.append((f"random {count}", data))
        count += 1
    return cases


def _run(rule_set, data: dict[str, Any]) -> str | None:
    try:
        clean = input_parse(data)
    except InputError:
        return None  # the gate skips an input the contract refuses; so do we
    return serialise(evaluate(clean, rule_set))


def _record(code: str, path: Path) -> None:
    document = json.loads(json.dumps(document_read(code), default=str))
    rule_set = ruleset_from_document(document)
    results: dict[str, int] = {}
    cases = []
    for name, data in golden_cases(code, rule_set):
        text = _run(rule_set, data)
        if text is None:
            continue
        index = results.setdefault(text, len(results))
        cases.append({"name": name, "input": data, "result": index})
    golden = {"document": document, "cases": cases, "results": list(results)}
    blob = json.dumps(golden, ensure_ascii=False, indent=1).encode()
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(gzip.compress(blob, mtime=0))


def _diff(expected: str, actual: str) -> str:
    lines = [
        json.dumps(json.loads(text), indent=1, ensure_ascii=False).splitlines()
        for text in (expected, actual)
    ]
    return "\n".join(list(difflib.unified_diff(*lines, lineterm="", n=2))[:60])


@pytest.mark.parametrize("code", SHIPPED_RULE_SETS)
def test_engine_output_matches_the_recorded_output_byte_for_byte(code):
    path = GOLDEN_DIR / f"engine_{code}.json.gz"
    if UPDATE:
        _record(code, path)
    assert path.exists(), f"no golden file {path.name}: record it with UPDATE_GOLDEN=1"
    golden = json.loads(gzip.decompress(path.read_bytes()))
    rule_set = ruleset_from_document(golden["document"])
    names = [case["name"] for case in golden["cases"]]
    assert sum(name.startswith("random ") for name in names) == RANDOM_CASES
    assert sum(name.startswith("threshold ") for name in names) > 100
    mismatches = []
    for number, case in enumerate(golden["cases"]):
        expected = golden["results"][case["result"]]
        actual = _run(rule_set, case["input"])
        if actual != expected:
            mismatches.append((f"case {number}, {case['name']}", expected, actual))
    report = "\n\n".join(
        f"{name}:\n{_diff(expected, actual) if actual else 'input now refused'}"
        for name, expected, actual in mismatches[:3]
    )
    assert not mismatches, f"{len(mismatches)} of {len(names)} differ\n{report}"
