"""Prover benchmark: process CPU seconds per safety invariant and in total, for each
shipped rule set (the work the publication gate adds; the budget is a minute).

Run: .venv/bin/python bench/prove.py [--json]
Pure: no database. CPU time (``time.process_time``), as the machine is shared.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_SECONDS = 60  # issue 19: publication stays under a minute


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    from guidelines.loaders import SHIPPED_RULE_SETS, ruleset_load
    from guidelines.prover import ruleset_prove

    start = time.process_time()
    reports = [ruleset_prove(ruleset_load(code)) for code in SHIPPED_RULE_SETS]
    total = time.process_time() - start
    if args.json:
        print(
            json.dumps(
                {
                    "total_cpu_s": round(total, 3),
                    "rule_sets": [r.as_dict() for r in reports],
                },
                indent=2,
            )
        )
        return 0 if all(r.ok for r in reports) else 1
    for report in reports:
        print(f"{report.rule_set} {report.version}")
        for o in report.outcomes:
            print(f"  {o.key:36} {o.status:12} {o.seconds:6.2f} s")
        print(f"  {'total':36} {'':12} {report.seconds:6.2f} s")
    print(
        f"all rule sets: {total:.2f} s CPU (budget {BUDGET_SECONDS} s per publication)"
    )
    return 0 if all(r.ok for r in reports) and total < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
