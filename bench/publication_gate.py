"""Publication gate benchmark: how many cases the gate runs per reference and how long
one gate run takes (cold, then with the outcomes of the reference reused), for a draft
of each shipped rule set with the C2 LVESD threshold moved from 40 to 45 mm; prints the
changed outcomes found. Pure: the data files and the vignettes, no database.

Run: DEBUG=true .venv/bin/python bench/publication_gate.py [--rounds 5]
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "true")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from guidelines import outcomes
    from guidelines.loaders import (
        DATA_DIR,
        SHIPPED_RULE_SETS,
        clinical_hash,
        document_read,
        ruleset_from_document,
    )

    vignettes = json.loads((DATA_DIR / "vignettes.json").read_text())
    print(f"command: {' '.join(sys.argv)}")
    for code in SHIPPED_RULE_SETS:
        doc = document_read(code)
        moved = copy.deepcopy(doc)
        for row in moved["stage"]:
            if row["key"] == "c2_lvesd":
                row["when"] = ["echo.lvesd_mm", ">=", 45]
        reference, draft = ruleset_from_document(doc), ruleset_from_document(moved)
        bases = [
            outcomes.GateCase(f"vignette {v['id']}", v["input"], {})
            for v in vignettes
            if code in v["expected"].get("profiles", {})
        ]
        cases = [
            *outcomes.boundary_gate_cases(reference),
            *bases,
            *outcomes.threshold_gate_cases(reference, bases),
        ]
        keys = {"reference_key": clinical_hash(doc), "draft_key": clinical_hash(moved)}
        cold, warm = [], []
        for _ in range(args.rounds):
            outcomes._SUMMARIES.clear()
            for times, kwargs in ((cold, {}), (warm, keys), (warm, keys)):
                start = time.perf_counter()
                found = outcomes.outcome_changes(
                    cases=cases,
                    draft=draft,
                    reference=reference,
                    label="file",
                    **kwargs,
                )
                times.append(time.perf_counter() - start)
        print(
            f"{code}: {len(cases)} cases ({len(bases)} vignettes, "
            f"{len(outcomes.rule_thresholds(reference))} rule cut-offs); gate run "
            f"median {statistics.median(cold) * 1000:.0f} ms cold, "
            f"{statistics.median(warm) * 1000:.0f} ms with outcomes reused; "
            f"{len(found)} changed outcomes:"
        )
        for change in found:
            print(f"  - {change.text[:160]}")


if __name__ == "__main__":
    main()
