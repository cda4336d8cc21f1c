"""Federation: signed push throughput and verification cost, next to unsigned.

Same run, same payloads (one push = one SenML series of ``BENCH_RECORDS`` daily
aggregate records, as the gateway pushes them):

* **per message, CPU**: signing (Content-Digest + Ed25519 over the RFC 9421
  signature base) and verifying (parse Signature-Input, digest, Ed25519 verify,
  freshness) against the JSON encode/decode the unsigned path does anyway; and a
  pull answer's response signature (bound to the request's) made and verified;
* **over loopback HTTP**: a receiver served by uvicorn, pushes posted with httpx
  (``BENCH_CONCURRENCY`` in flight), first unsigned (JSON parsed), then signed
  (verified + nonce checked in memory). The gateway's PostgreSQL nonce store (one
  INSERT per request) and its SenML storage are not in this figure: it measures
  what signing adds to a push, not the database.

Medians of ``BENCH_RUNS`` runs.

Usage: ``uv run python bench/bench_federation.py`` (env: BENCH_PUSHES=2000,
BENCH_RECORDS=48, BENCH_CONCURRENCY=8, BENCH_RUNS=3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation_gateway.mapping import Point, to_senml
from federation_gateway.signatures import (
    parse_params,
    parse_response_params,
    sign,
    sign_response,
    verify,
    verify_response,
)
from sen1_stack.broker import free_port

KEY = Ed25519PrivateKey.generate()
KEYID = "bench.example kid"


def payload(records: int, i: int) -> bytes:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    values = [
        Point(start + timedelta(days=d), 1000.0 + d, 12, 0.1) for d in range(records)
    ]
    body = {
        "idempotency_key": f"bench-{i:08d}",
        "records": to_senml(
            "urn:sen1:iris:381510101_consumption/energy/active/P1D", "Wh", values
        ),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def cpu_costs(bodies: list[bytes], url: str) -> dict[str, float]:
    """Microseconds per message of each step."""
    now = datetime.now(UTC)
    t = time.perf_counter()
    for b in bodies:
        json.loads(b)
    parse_us = (time.perf_counter() - t) / len(bodies) * 1e6
    t = time.perf_counter()
    signed = [
        sign(KEY, keyid=KEYID, method="POST", target_uri=url, body=b, now=now)
        for b in bodies
    ]
    sign_us = (time.perf_counter() - t) / len(bodies) * 1e6
    public = KEY.public_key()
    t = time.perf_counter()
    for b, h in zip(bodies, signed, strict=True):
        headers = {k.lower(): v for k, v in h.items()}
        verify(
            headers,
            method="POST",
            target_uri=url,
            body=b,
            public_key=public,
            params=parse_params(headers["signature-input"]),
            now=now,
            max_age=timedelta(minutes=5),
            skew=timedelta(seconds=30),
        )
    verify_us = (time.perf_counter() - t) / len(bodies) * 1e6
    # A pull answer: signed by the publisher, bound to the request's signature,
    # verified by the puller (the body stands in for the answer's SenML).
    t = time.perf_counter()
    answers = [
        sign_response(
            KEY,
            keyid=KEYID,
            status=200,
            body=b,
            request_signature=h["Signature"],
            now=now,
        )
        for b, h in zip(bodies, signed, strict=True)
    ]
    answer_sign_us = (time.perf_counter() - t) / len(bodies) * 1e6
    t = time.perf_counter()
    for b, h, a in zip(bodies, signed, answers, strict=True):
        headers = {k.lower(): v for k, v in a.items()}
        verify_response(
            headers,
            status=200,
            body=b,
            request_signature=h["Signature"],
            public_key=public,
            params=parse_response_params(headers["signature-input"]),
            now=now,
            max_age=timedelta(minutes=5),
            skew=timedelta(seconds=30),
        )
    answer_verify_us = (time.perf_counter() - t) / len(bodies) * 1e6
    return {
        "json_parse_us": parse_us,
        "sign_us": sign_us,
        "verify_us": verify_us,
        "answer_sign_us": answer_sign_us,
        "answer_verify_us": answer_verify_us,
    }


def receiver(url: str) -> Starlette:
    public = KEY.public_key()
    seen: set[str] = set()

    async def unsigned(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"records": len(json.loads(body)["records"])})

    async def signed(request: Request) -> Response:
        body = await request.body()
        params = parse_params(request.headers["signature-input"])
        verify(
            request.headers,
            method="POST",
            target_uri=url + "/signed",
            body=body,
            public_key=public,
            params=params,
            now=datetime.now(UTC),
            max_age=timedelta(minutes=5),
            skew=timedelta(seconds=30),
        )
        if params.nonce in seen:
            return Response(status_code=401)
        seen.add(params.nonce)
        return JSONResponse({"records": len(json.loads(body)["records"])})

    return Starlette(
        routes=[
            Route("/unsigned", unsigned, methods=["POST"]),
            Route("/signed", signed, methods=["POST"]),
        ]
    )


async def throughput(
    url: str, bodies: list[bytes], *, signed: bool, concurrency: int
) -> float:
    """Pushes per second over loopback (signing included on the sender's side)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    target = url + ("/signed" if signed else "/unsigned")

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            headers = {"Content-Type": "application/json"}
            if signed:
                headers |= sign(
                    KEY,
                    keyid=KEYID,
                    method="POST",
                    target_uri=target,
                    body=body,
                    now=datetime.now(UTC),
                )
            response = await http.post(target, content=body, headers=headers)
            response.raise_for_status()

    async with httpx.AsyncClient() as http:
        t = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - t)


async def main() -> None:
    pushes = int(os.environ.get("BENCH_PUSHES", "2000"))
    records = int(os.environ.get("BENCH_RECORDS", "48"))
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "8"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(receiver(url), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
        await asyncio.sleep(0.01)
    bodies = [payload(records, i) for i in range(pushes)]
    results: dict[str, list[float]] = {}
    try:
        for run in range(runs):
            for k, v in cpu_costs(bodies, url + "/signed").items():
                results.setdefault(k, []).append(v)
            # alternate the order: the machine's load drifts during a run
            for signed in (False, True) if run % 2 == 0 else (True, False):
                rate = await throughput(
                    url, bodies, signed=signed, concurrency=concurrency
                )
                results.setdefault(
                    "signed_push_s" if signed else "unsigned_push_s", []
                ).append(rate)
            print(f"run {run + 1}/{runs} done", flush=True)
    finally:
        server.should_exit = True
        await task
    med = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"\nfederation bench ({platform.python_version()}, {os.cpu_count()} cpus); "
        f"{pushes} pushes of {records} SenML records ({len(bodies[0])} bytes), "
        f"concurrency {concurrency}, median of {runs}"
    )
    print(
        f"  per message: JSON parse {med['json_parse_us']:.1f} us | "
        f"sign {med['sign_us']:.1f} us | verify {med['verify_us']:.1f} us"
    )
    print(
        f"  pull answer: sign {med['answer_sign_us']:.1f} us | "
        f"verify {med['answer_verify_us']:.1f} us"
    )
    print(
        f"  over loopback HTTP: unsigned {med['unsigned_push_s']:.0f} pushes/s | "
        f"signed + verified {med['signed_push_s']:.0f} pushes/s "
        f"(ratio {med['signed_push_s'] / med['unsigned_push_s']:.2f})"
    )


if __name__ == "__main__":
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    asyncio.run(main())
