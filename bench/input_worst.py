"""The worst input of the numeric fields: how long ``input_parse`` takes on hostile
numbers (exponents, huge JSON numbers, long digit strings) against a normal input.

    .venv/bin/python bench/input_worst.py [--repeat 200]

Every numeric field of the vocabulary is given each hostile value in turn; each figure
is the best of ``--repeat`` runs (the shared machine's noise removed), and the worst
over fields and values is reported. Target (issue 14): under 5 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from guidelines.validation import InputError, input_parse  # noqa: E402
from guidelines.vocabulary import INPUT_FIELDS, Kind  # noqa: E402

HOSTILE = {
    '"1e1000000"': "1e1000000",
    '"-1E+999999999"': "-1E+999999999",
    '"1e-1000000"': "1e-1000000",
    "100000 nines": "9" * 100_000,
    "100000 zeros then 5": "0" * 100_000 + "5",
    '"0.<100000 zeros>1"': "0." + "0" * 100_000 + "1",
    "JSON 1e1000000 (inf)": float("inf"),
    "JSON NaN": float("nan"),
    "JSON 1e308": 1e308,
    "JSON 4000-digit integer": 10**4000,
    '"NaN"': "NaN",
    '"Infinity"': "Infinity",
}
NORMAL = {"patient": {"age_years": 67, "sex": "female"}}


def best_of(data, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        with contextlib.suppress(InputError):
            input_parse(data)
        best = min(best, time.perf_counter() - start)
    return best


def with_value(spec, value):
    data = {"patient": dict(NORMAL["patient"])}
    if spec.section:
        data.setdefault(spec.section, {})[spec.name] = value
    else:
        data[spec.path] = value
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    numeric = [f for f in INPUT_FIELDS if f.kind in (Kind.DECIMAL, Kind.INTEGER)]
    normal = best_of(NORMAL, args.repeat)
    print(f"command: .venv/bin/python bench/input_worst.py --repeat {args.repeat}")
    print(
        f"{len(numeric)} numeric fields x {len(HOSTILE)} hostile values, "
        f"best of {args.repeat} runs each"
    )
    print(f"normal input: {normal * 1e3:.3f} ms")
    worst = (0.0, "", "")
    print(f"{'value':<28}{'worst field':<40}{'ms':>8}")
    for label, value in HOSTILE.items():
        per_field = [
            (best_of(with_value(spec, value), args.repeat), spec.path)
            for spec in numeric
        ]
        seconds, path = max(per_field)
        print(f"{label:<28}{path:<40}{seconds * 1e3:>8.3f}")
        if seconds > worst[0]:
            worst = (seconds, label, path)
    seconds, label, path = worst
    verdict = "met" if seconds < 0.005 else "MISSED"
    print(f"worst: {seconds * 1e3:.3f} ms ({label} in {path}); target < 5 ms {verdict}")


if __name__ == "__main__":
    main()
