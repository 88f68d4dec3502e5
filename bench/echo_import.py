"""Time of the echo SR import service (read from bytes, walk, map, validate): a TID 5200
report of 10 measurements and one of 300 (30 sections of 10), median and p95 over
``--repeat`` runs. No database: the service without a patient record.

    .venv/bin/python bench/echo_import.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings_test")

import django  # noqa: E402

django.setup()

from assessments.echo_import.services import echo_import  # noqa: E402
from tests.echo_import.builders import (  # noqa: E402
    FLOW,
    METHOD,
    PISA,
    REGURGITANT,
    echo_sr,
    mitral_section,
    num,
)


def section(index: int):
    return mitral_section(
        [
            num(
                "SCT",
                "399367004",
                "Cardiovascular Orifice Area",
                "0.45",
                "cm2",
                modifiers=[(FLOW, REGURGITANT), (METHOD, PISA)],
            ),
            num(
                "SCT",
                "399027007",
                "Cardiovascular Orifice Diameter",
                "6",
                "mm",
                modifiers=[(FLOW, REGURGITANT)],
            ),
            num(
                "LN",
                "20355-4",
                "Peak Blood Velocity",
                "5.1",
                "m/s",
                modifiers=[(FLOW, REGURGITANT)],
            ),
            num("LN", "18043-0", "LVEF", "62", "%"),
            num("LN", "29438-9", "LVIDs", "4.1", "cm"),
            num("LN", "29436-3", "LVIDd", "5.5", "cm"),
            num("LN", "80064-9", "MR volume (PISA)", "68", "mL"),
            num("LN", "80070-6", "E wave", "1.4", "m/s"),
            num("LN", "79984-1", "LAVI", "52", "mL/m2"),
            num("99LOCAL", f"X-{index}", "Cart value", "3", "cm"),
        ]
    )


def measure(data: bytes, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        echo_import(data=data)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="runs per report")
    args = parser.parse_args()
    print(f"command: .venv/bin/python bench/echo_import.py --repeat {args.repeat}")
    for sections in (1, 30):
        data = echo_sr([section(i) for i in range(sections)])
        median, p95 = measure(data, args.repeat)
        print(
            f"{sections * 10:4d} measurements, {len(data):7d} bytes: "
            f"median {median:6.2f} ms, p95 {p95:6.2f} ms"
        )


if __name__ == "__main__":
    main()
