"""Which machine a benchmark ran on, and how fast it is, so that figures taken on
different machines can be compared (the same commit measured 1.7 times slower on one
session's machine than on the previous one's).

``machine()`` returns the CPU model, the interpreter (its build matters: Debian's
python3.11, built with profile-guided optimisation as the Docker image's is, ran the engine
6-12 % and this workload 27 % faster than the pyenv build of the same machine) and the CPU time of a fixed reference workload: pure Python of the kinds the engine
and Django spend their time on (dict reads, small calls, string building, Decimal
arithmetic), best of five. Divide a figure by the reference time to compare machines.

    .venv/bin/python bench/machine.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from decimal import Decimal

REFERENCE_ROUNDS = 5


def _reference_workload() -> int:
    record = {f"field_{i}": Decimal(i) / 7 for i in range(40)}
    checksum = 0
    for _ in range(300):
        parts = []
        for key, value in record.items():
            if value > 2:
                parts.append(f"{key}={value.quantize(Decimal('0.01'))}")
        checksum += len(", ".join(parts))
        checksum += sum(len(_describe(key, i)) for i, key in enumerate(record))
    return checksum


def _describe(key: str, index: int) -> str:
    return key.upper() if index % 3 else key


def reference_ms() -> float:
    """CPU milliseconds of the reference workload, best of five."""
    best = float("inf")
    for _ in range(REFERENCE_ROUNDS):
        start = time.process_time()
        _reference_workload()
        best = min(best, time.process_time() - start)
    return round(best * 1000, 2)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_version()} ({os.path.realpath(sys.executable)})",
        "reference_ms": reference_ms(),
    }


def machine_line(info: dict | None = None) -> str:
    info = info or machine()
    return (
        f"machine: {info['cpus']} x {info['cpu']}, Python {info['python']}; reference "
        f"workload {info['reference_ms']} ms CPU (bench/machine.py: divide by it to "
        "compare machines)"
    )


if __name__ == "__main__":
    info = machine()
    print(machine_line(info))
    print(json.dumps(info))
