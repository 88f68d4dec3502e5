"""Batch command benchmark: microseconds per evaluation of ``manage.py evaluate`` on a
batch of N inputs (the vignettes repeated, both rule sets), output included: default
(indented JSON array) and ``--jsonl`` (one compact line per result).

Measured in-process (``call_command`` writing to a temporary file, reading the input
file, best of --rounds) so that the process start-up (seconds on a loaded machine) does
not blur the cost per evaluation; a breakdown (JSON decoding, validation, engine, JSON
encoding, output) tells where the CPU time of --jsonl goes.

Target (issue 18.2): --jsonl ≤ 150 µs per evaluation on 10,000 inputs, output included.

Run: DEBUG=true .venv/bin/python bench/batch.py [--count 10000]
Uses DATABASE_URL / REDIS_URL when set; otherwise a throwaway SQLite database.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine, machine_line  # bench/machine.py

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DEBUG", "true")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
MANAGE = [sys.executable, str(ROOT / "manage.py")]  # set-up steps only


def run(args, input_path: Path) -> tuple[float, float, int]:
    """Wall and process CPU seconds of one run, and the bytes written."""
    from django.core.management import call_command

    with tempfile.TemporaryFile("w+") as out:
        start, start_cpu = time.perf_counter(), time.process_time()
        call_command("evaluate", *args, str(input_path), stdout=out)
        elapsed = time.perf_counter() - start
        return elapsed, time.process_time() - start_cpu, out.tell()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--skip-default",
        action="store_true",
        help="measure --jsonl only (the default mode is slow)",
    )

    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([*MANAGE, "migrate", "--verbosity=0"], check=True)
    subprocess.run([*MANAGE, "load_guidelines"], check=True, capture_output=True)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")
    import django

    django.setup()
    import orjson

    from guidelines import engine
    from guidelines.management.commands.evaluate import JSONL_FLUSH_LINES
    from guidelines.services import active_rule_set
    from guidelines.validation import input_parse

    vignettes = json.loads((ROOT / "guidelines/data/vignettes.json").read_text())
    inputs = []
    for i in range(args.count):
        data = dict(vignettes[i % len(vignettes)]["input"])
        data["guideline"] = ("acc_aha_2020", "esc_eacts_2025")[
            (i // len(vignettes)) % 2
        ]
        inputs.append(data)
    work = Path(tempfile.mkdtemp())
    (work / "batch.json").write_text(json.dumps(inputs))
    (work / "batch.jsonl").write_text("".join(json.dumps(d) + "\n" for d in inputs))
    (work / "empty.json").write_text("[]")

    rows = []
    modes = [
        ("--jsonl (JSON array in)", ["--jsonl"], "batch.json"),
        ("--jsonl (JSON Lines in)", ["--jsonl"], "batch.jsonl"),
    ]
    if not args.skip_default:
        modes.insert(0, ("default (indented)", [], "batch.json"))
    for label, flags, name in modes:
        runs = [run(flags, work / name) for _ in range(args.rounds)]
        elapsed, size = min(r[0] for r in runs), runs[0][2]
        cpu = min(r[1] for r in runs)
        per_eval, cpu_per_eval = elapsed / args.count * 1e6, cpu / args.count * 1e6
        rows.append(
            {
                "mode": label,
                "us_per_evaluation": round(per_eval, 1),
                "cpu_us_per_evaluation": round(cpu_per_eval, 1),
                "output_bytes": size,
                "total_s": round(elapsed, 2),
            }
        )
        print(
            f"{label:26s} {per_eval:8.1f} µs/evaluation wall, {cpu_per_eval:.1f} µs CPU "
            f"({args.count} inputs, {elapsed:.2f} s total, {size / 1e6:.1f} MB out)"
        )
    # Where the time goes, the command's steps one after the other on the JSON Lines
    # input, each run streaming as the command does (a result is dropped once written):
    # the figure of a step is the difference between the runs with and without it
    # (best of --rounds), so that no step is timed with 10,000 results kept alive.
    rule_sets = {
        code: active_rule_set(code) for code in ("acc_aha_2020", "esc_eacts_2025")
    }
    lines = (work / "batch.jsonl").read_text().splitlines(keepends=True)

    def decode():
        for line in lines:
            json.loads(line)

    def validate():
        for line in lines:
            input_parse(json.loads(line))

    def evaluate():
        for line in lines:
            clean = input_parse(json.loads(line))
            engine.evaluate(clean, rule_sets[clean["guideline"]])

    def encode():
        for line in lines:
            clean = input_parse(json.loads(line))
            result = engine.evaluate(clean, rule_sets[clean["guideline"]])
            orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)

    def write():
        with open(os.devnull, "wb") as out:
            chunk = []
            for line in lines:
                clean = input_parse(json.loads(line))
                result = engine.evaluate(clean, rule_sets[clean["guideline"]])
                chunk.append(orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE))
                if len(chunk) >= JSONL_FLUSH_LINES:
                    out.write(b"".join(chunk))
                    chunk.clear()
            out.write(b"".join(chunk))

    steps = {
        "JSON decoding": decode,
        "validation": validate,
        "engine": evaluate,
        "compact JSON": encode,
        "output (joined, /dev/null)": write,
    }
    cumulative = {label: [] for label in steps}
    clock = time.process_time  # CPU: the machine is shared
    for _ in range(args.rounds):
        for label, step in steps.items():
            start = clock()
            step()
            cumulative[label].append(clock() - start)
    breakdown, previous = {}, 0.0
    for label, runs in cumulative.items():
        total = min(runs) / args.count * 1e6
        breakdown[label] = round(total - previous, 1)
        previous = total
    print(
        "breakdown (CPU µs/evaluation, --jsonl steps): "
        + ", ".join(f"{k} {v}" for k, v in breakdown.items())
        + f"; sum {previous:.1f}"
    )
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} CPUs)")
    info = machine()
    print(machine_line(info))
    print(
        "command: DEBUG=true .venv/bin/python bench/batch.py " + " ".join(sys.argv[1:])
    )
    print(
        json.dumps(
            {
                "count": args.count,
                "rows": rows,
                "breakdown_us": breakdown,
                "load_1min": os.getloadavg()[0],
                "machine": info,
            }
        )
    )


if __name__ == "__main__":
    main()
