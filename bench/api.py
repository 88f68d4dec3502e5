"""HTTP benchmark of the REST API: gunicorn (by default 2 workers of 4 threads, DEBUG off)
on loopback, 8 concurrent clients, requests/s and p50/p99 latency for a
no-op DRF view behind the same token authentication, GET /healthz, POST /api/v1/evaluate and
POST /api/v1/encounters/{id}/assessments/, in one run.

    .venv/bin/python bench/api.py [--rounds 3] [--duration 6] [--clients 8] [--workers 2] [--threads 4]

The server runs with bench/noop_settings.py: the product's settings and URL conf plus
``POST /bench/noop`` (bench/noop_urls.py, never in the product's URL conf), a view of the
API's base class that parses the JSON body and returns ``{}``: what the framework,
middleware and token authentication cost per request. Every endpoint is reported as a
ratio of it.

A throwaway database: a fresh PostgreSQL database on the server of DATABASE_URL when it
is set (dropped afterwards), else a temporary SQLite file; it is migrated, the rule sets
and demo data are loaded and an API token is issued to demo-ehr. REDIS_URL, when set,
is passed to the server (cache and broker). The load generator is Python: several
processes with threads, one new connection per request, or wrk when it is installed
(``--loader``). The load generator shares the machine's cores with the server, so the figures are CPU-bound.

The endpoints are measured in turn, ``--rounds`` times (no-op, healthz, evaluate,
create, no-op, ...), and each figure is the median over the rounds: a slow spell of
a shared machine then weighs on all alike instead of on one. The last lines
check the issue's targets: evaluate >= 60% and creation >= 35% of the no-op's
throughput, p99 under 50 ms for both; then the 1-minute load average (the machine is
shared) and one line of JSON with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine, machine_line  # noqa: E402  (bench/machine.py)
from server import (  # noqa: E402  (bench/server.py: the setup the HTTP benchmarks share)
    HOST,
    free_port,
    new_encounter,
    prepare,
    request,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    throwaway_database,
)

EVALUATE_BODY = {
    "etiology": "degenerative_prolapse",
    "patient": {"age_years": 67, "sex": "female", "height_cm": 165, "weight_kg": 68.5},
    "symptoms": {"nyha_class": 2},
    "echo": {
        "eroa_cm2": 0.45,
        "regurgitant_volume_ml": 68,
        "regurgitant_fraction_pct": 52,
        "vena_contracta_cm": 0.72,
        "lvef_pct": 62,
        "lvesd_mm": 36,
        "lvedd_mm": 55,
        "la_volume_index_ml_m2": 48,
        "pasp_mmhg": 35,
    },
    "management": {"surgical_risk": "low", "repair_likelihood": "high"},
}
ASSESSMENT_BODY = {k: v for k, v in EVALUATE_BODY.items() if k != "patient"}
NOOP = "no-op (same auth)"
NOOP_PATH = "/bench/noop"


# --- load -----------------------------------------------------------------------------


def _client_process(port, method, path, body, token, threads, start_at, stop_at, out):
    payload = None if body is None else body
    results: list[tuple[float, int, float]] = []  # (started at, status, seconds)
    lock = threading.Lock()

    def loop():
        mine = []
        while time.time() < start_at:
            time.sleep(0.001)
        while (started := time.time()) < stop_at:
            t0 = time.perf_counter()
            try:
                status, _ = request(port, method, path, payload, token)
            except OSError:
                status = 0
            mine.append((started, status, time.perf_counter() - t0))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(results)


def drive(port, method, path, body, token, *, clients, duration, warmup, processes=4):
    """``clients`` concurrent loops (threads over ``processes`` processes)."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5 + warmup  # requests during warm-up are discarded
    stop_at = start_at + duration
    per = [clients // processes + (i < clients % processes) for i in range(processes)]
    procs = []
    for threads in per:
        if threads:
            warm_start = start_at - warmup
            p = ctx.Process(
                target=_client_process,
                args=(
                    port,
                    method,
                    path,
                    body,
                    token,
                    threads,
                    warm_start,
                    stop_at,
                    out,
                ),
            )
            p.start()
            procs.append(p)
    samples = []
    for _ in procs:
        samples.extend(out.get())
    for p in procs:
        p.join()
    # The measured window: requests started after the warm-up, before the stop.
    measured = [(st, sec) for at, st, sec in samples if start_at <= at < stop_at]
    ok = [s for st, s in measured if 200 <= st < 300]
    errors = len(measured) - len(ok)
    latencies = sorted(ok)
    return {
        "requests": len(measured),
        "errors": errors,
        "rps": len(ok) / duration,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000
        if latencies
        else None,
    }


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Host"] = "{host}"
{body}
{auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("MRCDS %d %d %d %f %f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def drive_wrk(port, method, path, body, token, *, clients, duration, warmup, tmp):
    """The same measurement with wrk (C, 2 threads): less client CPU on a 2-core box."""
    script = tmp / f"wrk-{abs(hash(path)) % 10**6}-{method}.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=method,
            host=HOST,
            body=(
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = [[{json.dumps(body)}]]"
            )
            if body is not None
            else "",
            auth=f'wrk.headers["Authorization"] = "Bearer {token}"' if token else "",
        )
    )
    url = f"http://{HOST}:{port}{path}"
    base = ["wrk", "-t2", f"-c{clients}", "-s", str(script), url]
    subprocess.run(
        [*base[:1], f"-d{max(1, int(warmup))}s", *base[1:]],
        capture_output=True,
        check=True,
    )
    out = subprocess.run(
        [*base[:1], f"-d{int(duration)}s", *base[1:]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("MRCDS "))
    requests_, errors, micros, p50, p99 = line.split()[1:]
    seconds = int(micros) / 1e6
    ok = int(requests_) - int(errors)
    return {
        "requests": int(requests_),
        "errors": int(errors),
        "rps": ok / seconds,
        "p50_ms": float(p50) / 1000,
        "p99_ms": float(p99) / 1000,
    }


def median_of(rounds: list[dict]) -> dict:
    """Each figure's median over the rounds (errors: their sum)."""
    return {
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "rps": statistics.median(r["rps"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "rounds_rps": [round(r["rps"], 1) for r in rounds],
    }


# --- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=6,
        help="seconds measured per endpoint and round",
    )
    parser.add_argument(
        "--warmup", type=float, default=1, help="seconds before measuring"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each endpoint is measured"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gunicorn worker: 4 (the default) = gthread workers as "
        "docker-compose.yml serves, whose threads overlap the waits on database "
        "commits; 1 = sync workers",
    )
    parser.add_argument(
        "--loader",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when installed (auto), or the Python one",
    )
    args = parser.parse_args()
    use_wrk = args.loader == "wrk" or (args.loader == "auto" and shutil.which("wrk"))
    threads = args.threads > 1

    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-bench-"))
    database_url, drop_database = throwaway_database(tmp)
    env = server_env(database_url, tmp)
    port = free_port()
    server = pidfile = None
    try:
        print(
            f"database: {urlsplit(database_url).scheme}; redis: "
            f"{'yes' if os.environ.get('REDIS_URL') else 'no'}",
            flush=True,
        )
        token = prepare(env)
        server, pidfile = start_gunicorn(
            {**env, "DJANGO_SETTINGS_MODULE": "bench.noop_settings"},
            port,
            args.workers,
            tmp,
            "--backlog",
            "256",
            *(["-k", "gthread", "--threads", str(args.threads)] if threads else []),
        )
        status, body = request(port, "POST", NOOP_PATH, EVALUATE_BODY)
        assert status == 401, (status, body)  # the no-op view requires the token too
        encounter_id = new_encounter(port, token, "BENCH-1")
        status, body = request(port, "POST", "/api/v1/evaluate", EVALUATE_BODY, token)
        assert status == 200, body

        status, body = request(port, "POST", NOOP_PATH, EVALUATE_BODY, token)
        assert status == 200, body
        load_before = os.getloadavg()

        runs = [
            (NOOP, "POST", NOOP_PATH, EVALUATE_BODY, token),
            ("GET /healthz", "GET", "/healthz", None, None),
            ("POST /api/v1/evaluate", "POST", "/api/v1/evaluate", EVALUATE_BODY, token),
            (
                "POST assessment (create)",
                "POST",
                f"/api/v1/encounters/{encounter_id}/assessments/",
                ASSESSMENT_BODY,
                token,
            ),
        ]
        samples = {label: [] for label, *_ in runs}
        for _ in range(args.rounds):
            for label, method, path, payload, auth in runs:
                if use_wrk:
                    figures = drive_wrk(
                        port,
                        method,
                        path,
                        payload,
                        auth,
                        clients=args.clients,
                        duration=args.duration,
                        warmup=args.warmup,
                        tmp=tmp,
                    )
                else:
                    figures = drive(
                        port,
                        method,
                        path,
                        payload,
                        auth,
                        clients=args.clients,
                        duration=args.duration,
                        warmup=args.warmup,
                    )
                samples[label].append(figures)
        results = {label: median_of(rounds) for label, rounds in samples.items()}
        base = results[NOOP]["rps"] or 1
        print(
            f"\nload generator: {'wrk -t2' if use_wrk else 'Python'}; "
            f"gunicorn -w {args.workers} ({f'gthread, {args.threads} threads' if threads else 'sync'}), "
            f"DEBUG off, {args.clients} clients, "
            f"{args.rounds} rounds of {args.duration:g} s each after {args.warmup:g} s "
            f"warm-up (medians), {os.cpu_count()} CPUs"
        )
        print(
            f"{'endpoint':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs no-op':>12}"
        )
        for label, r in results.items():
            print(
                f"{label:<28}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                f"{r['errors']:>8}{r['rps'] / base:>11.0%}"
            )
        evaluate = results["POST /api/v1/evaluate"]
        create = results["POST assessment (create)"]
        targets = [
            ("evaluate >= 60% of no-op req/s", evaluate["rps"] / base >= 0.60),
            ("creation >= 35% of no-op req/s", create["rps"] / base >= 0.35),
            ("evaluate p99 < 50 ms", evaluate["p99_ms"] < 50),
            ("creation p99 < 50 ms", create["p99_ms"] < 50),
        ]
        for label, met in targets:
            print(f"target {label:<40} {'met' if met else 'MISSED'}")
        for r in results.values():
            r["vs_noop"] = round(r["rps"] / base, 3)
        load_after = os.getloadavg()
        print(
            f"load average (1 min) before {load_before[0]:.2f}, after "
            f"{load_after[0]:.2f}; {os.cpu_count()} CPUs shared with other work"
        )
        info = machine()
        print(machine_line(info))
        print("command: .venv/bin/python bench/api.py " + " ".join(sys.argv[1:]))
        print(
            json.dumps(
                {
                    "results": results,
                    "clients": args.clients,
                    "load_1min": [load_before[0], load_after[0]],
                    "machine": info,
                }
            )
        )
    finally:
        if pidfile is not None:
            stop_gunicorn(server, pidfile)
        drop_database()


if __name__ == "__main__":
    main()
