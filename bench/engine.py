"""Engine benchmark: median microseconds per evaluation over the vignettes (wall time and
process CPU time: the machine is shared, CPU time is the steadier figure), and database
queries per evaluation after warm-up (through the service, with the active version).
Target (issue 18): engine only ≤ 50 µs median per evaluation in both profiles.

Run: DEBUG=true .venv/bin/python bench/engine.py [--rounds 200]
Uses DATABASE_URL / REDIS_URL when set; otherwise a throwaway SQLite database.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_line  # bench/machine.py (this script's directory)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
os.environ.setdefault("DEBUG", "true")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guidelines.engine import evaluate
    from guidelines.loaders import DATA_DIR, ruleset_load
    from guidelines.services import guideline_evaluate
    from guidelines.validation import input_parse

    call_command("migrate", verbosity=0)
    call_command("load_guidelines", stdout=open(os.devnull, "w"))  # noqa: SIM115
    inputs = [v["input"] for v in json.loads((DATA_DIR / "vignettes.json").read_text())]

    for code in ("acc_aha_2020", "esc_eacts_2025"):
        rule_set = ruleset_load(code)
        clean = [input_parse(data) for data in inputs]
        for data in clean:  # warm-up
            evaluate(data, rule_set)
        wall, cpu = [], []
        for _ in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            for data in clean:
                evaluate(data, rule_set)
            cpu.append((time.process_time() - start_cpu) / len(clean) * 1e6)
            wall.append((time.perf_counter() - start) / len(clean) * 1e6)
        print(
            f"engine only   {code:16s} median {statistics.median(wall):7.1f} µs/evaluation wall, "
            f"{statistics.median(cpu):.1f} µs CPU (p95 wall {sorted(wall)[int(len(wall) * 0.95)]:.1f}; "
            f"{args.rounds} rounds x {len(clean)} vignettes)"
        )

    # The missing-data step (SPEC 0.14 c): the same runs with the step switched off,
    # interleaved, so a slow spell of a shared machine weighs on both alike.
    from guidelines import engine

    complete = engine.complete_recommendations
    for code in ("acc_aha_2020", "esc_eacts_2025"):
        rule_set = ruleset_load(code)
        clean = [input_parse(data) for data in inputs]
        runs = {"with": [], "without": []}
        for _ in range(args.rounds):
            for label in runs:
                engine.complete_recommendations = (
                    complete if label == "with" else (lambda *a, **k: [])
                )
                start = time.process_time()
                for data in clean:
                    evaluate(data, rule_set)
                runs[label].append((time.process_time() - start) / len(clean) * 1e6)
        engine.complete_recommendations = complete
        with_step = statistics.median(runs["with"])
        without = statistics.median(runs["without"])
        print(
            f"missing-data  {code:16s} median CPU {with_step:7.1f} µs/evaluation with the step, "
            f"{without:.1f} without (+{with_step - without:.1f} µs)"
        )

    for code in ("acc_aha_2020", "esc_eacts_2025"):
        tagged = [{**data, "guideline": code} for data in inputs]
        for data in tagged:
            guideline_evaluate(data=data)  # warm-up: compile + cache the active version
        per_eval = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(args.rounds):
                start = time.perf_counter()
                for data in tagged:
                    guideline_evaluate(data=data)
                per_eval.append((time.perf_counter() - start) / len(tagged) * 1e6)
        evaluations = args.rounds * len(tagged)
        print(
            f"validate+eval {code:16s} median {statistics.median(per_eval):7.1f} µs/evaluation, "
            f"{len(queries) / evaluations:.3f} DB queries/evaluation after warm-up"
        )
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} CPUs)")
    print(machine_line())
    print(
        "command: DEBUG=true .venv/bin/python bench/engine.py " + " ".join(sys.argv[1:])
    )


if __name__ == "__main__":
    main()
