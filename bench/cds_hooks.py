"""Latency of the CDS Hooks service: p50/p95/p99 of a prefetch-complete patient-view
call (patient, echo Observations, Conditions, height and weight all prefetched, so no
FHIR fetch) under gunicorn (2 sync workers, DEBUG off) on loopback.

    .venv/bin/python bench/cds_hooks.py [--requests 300] [--clients 1]

A throwaway database as in bench/api.py (PostgreSQL on DATABASE_URL's server when set,
else SQLite); REDIS_URL, when set, keeps the used JWT ids (else the database does). An
EHR is registered (CDS_HOOKS_CLIENTS) with a P-384 key made here; every call carries a
fresh ES384 JWT (new jti), signed before the clock starts. ``--clients`` concurrent
callers each send their share of the requests one after another; the figure is the
client-side latency of each call. The target (docs/CODES.md "Latency"): p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import (  # noqa: E402
    HOST,
    free_port,
    prepare,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    throwaway_database,
)

from tests.interop.conftest import full_prefetch, hook_body  # noqa: E402

ISSUER = "https://bench-ehr.example.org"
ORGANIZATION = "Riverside Heart Clinic"  # seed_demo's first care site


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(share * len(ordered))) - 1)]


def call(port: int, body: bytes, token: str) -> tuple[int, float, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {
        "Host": f"{HOST}:{port}",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
    }
    started = time.perf_counter()
    try:
        conn.request(
            "POST", "/cds-services/mr-cds-patient-view", body=body, headers=headers
        )
        response = conn.getresponse()
        data = response.read()
        return response.status, time.perf_counter() - started, data
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="calls measured")
    parser.add_argument("--warmup", type=int, default=20, help="calls before measuring")
    parser.add_argument("--clients", type=int, default=1, help="concurrent callers")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mr-cds-bench-cds-"))
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench-1", alg="ES384", use="sig")
    (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    database_url, drop_database = throwaway_database(tmp)
    port = free_port()
    env = server_env(
        database_url,
        tmp,
        CDS_HOOKS_CLIENTS=json.dumps(
            [
                {
                    "iss": ISSUER,
                    "jwks_file": str(tmp / "jwks.json"),
                    "organization": ORGANIZATION,
                }
            ]
        ),
    )
    server = pidfile = None
    audience = f"http://{HOST}:{port}/cds-services/mr-cds-patient-view"
    body = json.dumps(hook_body(full_prefetch())).encode()

    def token() -> str:
        now = int(time.time())
        return jwt.encode(
            {
                "iss": ISSUER,
                "aud": audience,
                "iat": now,
                "exp": now + 600,
                "jti": str(uuid.uuid4()),
            },
            key,
            algorithm="ES384",
            headers={"kid": "bench-1", "typ": "JWT"},
        )

    try:
        print(
            f"database: {database_url.split(':')[0]}; redis: "
            f"{'yes' if os.environ.get('REDIS_URL') else 'no'}",
            flush=True,
        )
        prepare(env)
        server, pidfile = start_gunicorn(env, port, 2, tmp)
        status, _, data = call(port, body, token())
        assert status == 200, (status, data)
        cards = json.loads(data)["cards"]
        assert len(cards) == 1, data
        print(f"card: {cards[0]['indicator']}: {cards[0]['summary']}")
        for _ in range(args.warmup):
            call(port, body, token())
        tokens = [token() for _ in range(args.requests)]
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()

        def caller(mine: list[str]) -> None:
            nonlocal errors
            for signed in mine:
                status, seconds, _ = call(port, body, signed)
                with lock:
                    if status == 200:
                        latencies.append(seconds)
                    else:
                        errors += 1

        shares = [tokens[i :: args.clients] for i in range(args.clients)]
        threads = [threading.Thread(target=caller, args=(share,)) for share in shares]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        p50, p95, p99 = (percentile(latencies, s) * 1000 for s in (0.50, 0.95, 0.99))
        print(
            f"\nPOST /cds-services/mr-cds-patient-view, prefetch complete; gunicorn -w 2 "
            f"(sync), DEBUG off; {args.clients} client(s), {args.requests} calls after "
            f"{args.warmup} warm-up, {os.cpu_count()} CPUs"
        )
        print(
            f"p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   "
            f"mean {statistics.mean(latencies) * 1000:.1f} ms   "
            f"{len(latencies) / elapsed:.1f} calls/s   errors {errors}"
        )
        print(
            f"target p95 <= 300 ms: {'met' if p95 <= 300 and not errors else 'MISSED'}"
        )
        print(
            json.dumps(
                {
                    "p50_ms": p50,
                    "p95_ms": p95,
                    "p99_ms": p99,
                    "errors": errors,
                    "clients": args.clients,
                    "requests": args.requests,
                }
            )
        )
    finally:
        if pidfile is not None:
            stop_gunicorn(server, pidfile)
        drop_database()


if __name__ == "__main__":
    main()
