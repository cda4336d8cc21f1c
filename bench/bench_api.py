"""api under load: rollup and readings queries, 200 connections, wrk against uvicorn.

Data (generated in PostgreSQL itself, 25 GB in ~16 min on 2 cores; kept in
``--data-dir``, by default ``.var/bench-api`` (``make clean`` removes it), so later
runs start in seconds):

* a commune of 20 IRIS, 400 parcels, 2,000 buildings and 10,000 Linky meters
  (5 per building), each with one year (2025) of 30-minute consumption intervals:
  10,000 x 17,520 = 175.2 M readings;
* rollups of every building, parcel, IRIS and the commune for that year, P1D and
  PT1H buckets (and P1M): ~22 M rows;
* 10,000 residents (consent, account, session), one per meter.

Measured, for each request kind: unloaded latency (wrk, 1 connection) and p50/p99
and throughput with 200 connections (wrk -t2 -c200, medians of ``--runs`` runs of
``--duration`` seconds, URLs and sessions drawn at random per request), against
one uvicorn process (``python -m api``, as deployed); then the raw limit: the same
SQL, in the same order, straight on asyncpg with the same concurrency and pool.

    uv run --frozen python bench/bench_api.py --data-dir /var/tmp/sen1-bench-api

``--quick``: 1,000 meters, short runs (a smoke test of the bench, not figures).
wrk is Debian's (``apt-get install wrk``). ``GET /healthz`` is measured too: the
floor of one uvicorn process with no database. Between runs the server is left to
drain what wrk left queued. The machine is printed; the load average before and
after says how much other work shared it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import itertools
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api import auth, queries
from api.main import SERVER_SETTINGS
from energy_core.domain.time import local_midnight as midnight
from energy_core.settings import PostgresSettings
from energy_store import migrate
from energy_store.db import create_pool
from sen1_stack.broker import free_port
from sen1_stack.postgres import EmbeddedPostgres

COMMUNE = "38999"
IRIS, PARCELS_PER_IRIS, BUILDINGS_PER_PARCEL, METERS_PER_BUILDING = 20, 20, 5, 5
YEAR = 2025
CONCURRENCY = 200
Request = Callable[[int], Awaitable[None]]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine() -> str:
    cpu = "cpu"
    with Path("/proc/cpuinfo").open() as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with Path("/proc/meminfo").open() as f:
        mem_kb = int(f.readline().split()[1])
    return (
        f"{platform.platform()} / {cpu} / {os.cpu_count()} cores / "
        f"{mem_kb / 2**20:.0f} GiB RAM / Python {platform.python_version()}"
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------------- data

# Every SQL text below is formatted from the module constants only.
TERRITORY = """
INSERT INTO communes VALUES ('{commune}', 'Benchville');
INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)
SELECT '{commune}' || lpad(i::text, 4, '0'), '{commune}', 'IRIS ' || i, 5000
FROM generate_series(1, {iris}) i;
INSERT INTO parcels (idu, commune_insee, iris, geometry)
SELECT '{commune}000AB' || lpad(p::text, 4, '0'), '{commune}',
       '{commune}' || lpad(((p - 1) / {parcels_per_iris} + 1)::text, 4, '0'),
       '{{"type": "Polygon", "coordinates": [[[5.7, 45.1], [5.701, 45.1],
         [5.701, 45.101], [5.7, 45.1]]]}}'
FROM generate_series(1, {parcels}) p;
INSERT INTO buildings (building_id, address, parcel_idu, iris, surface_m2,
                       building_type)
SELECT 'BENCH-' || lpad(b::text, 5, '0'), b || ' rue du Banc', p.idu, p.iris,
       60 + b % 120, 'residential'
FROM generate_series(1, {buildings}) b
JOIN parcels p ON p.idu = '{commune}000AB'
    || lpad(((b - 1) / {buildings_per_parcel} + 1)::text, 4, '0');
INSERT INTO meters (meter_id, scheme, energy, direction, sector, building_id)
SELECT (90000000000000 + m)::text, 'prm', 'electricity', 'consumption',
       'residential', 'BENCH-' || lpad(((m - 1) / {meters_per_building} + 1)::text, 5, '0')
FROM generate_series(1, {meters}) m;
INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit)
SELECT 'urn:dev:prm:' || meter_id || '_consumption/energy/active', meter_id, 'prm',
       'consumption', 'interval', 'energy', 'Wh'
FROM meters WHERE meter_id LIKE '9%' ORDER BY meter_id;
INSERT INTO people (display_name, email)
SELECT 'bench', meter_id || '@bench.invalid' FROM meters WHERE meter_id LIKE '9%';
INSERT INTO consents (person_id, meter_id, purpose, starts_at, expires_at,
                      verification, verified_at, verified_by)
SELECT p.person_id, split_part(p.email, '@', 1), 'bench', now() - interval '1 day',
       now() + interval '2 years', 'verified', now(), 'bench'
FROM people p WHERE p.email LIKE '%@bench.invalid';
INSERT INTO occupancies (person_id, delivery_point_id, starts_at, source)
SELECT p.person_id, split_part(p.email, '@', 1), '2019-01-01', 'operator'
FROM people p WHERE p.email LIKE '%@bench.invalid';
INSERT INTO api_accounts (email, password_hash, role, person_id)
SELECT email, 'not-a-login-account', 'resident', person_id
FROM people WHERE email LIKE '%@bench.invalid';
CREATE TABLE bench_tokens (meter_id text PRIMARY KEY, token text NOT NULL);
-- Delivery points of every scope, from the meters actually generated.
CREATE TABLE bench_points AS
SELECT x.scope, x.id, count(*) AS points
FROM meters m JOIN buildings b USING (building_id)
CROSS JOIN LATERAL (VALUES ('building', b.building_id), ('parcel', b.parcel_idu),
                           ('neighbourhood', b.iris), ('commune', '{commune}'))
    AS x(scope, id)
WHERE m.meter_id LIKE '9%'
GROUP BY 1, 2;
"""

# One local day of 30-minute intervals of every bench series, laid out as Enedis
# delivers them (J+1, one meter-day of 48 intervals after another): a meter's year
# is spread over ~365 heap pages, as in production. (Generated time-major, each of
# its 17,520 intervals would sit on its own page: 200 ms for a year, unrealistic.)
READINGS = """
INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
SELECT s.series_id, t, t + interval '30 minutes',
       60 + (s.series_id % 50) + 90 * (extract(hour FROM t) BETWEEN 17 AND 20)::int, 1
FROM series s
CROSS JOIN generate_series($1::timestamptz, $2::timestamptz - interval '30 minutes',
                           interval '30 minutes') t
WHERE s.meter_id LIKE '9%'
ORDER BY s.series_id, t
"""

# Rollups of every scope (buildings 5 points: withheld; parcels 25; IRIS 500; the
# commune all), buckets as local Paris periods (session TimeZone Europe/Paris).
ROLLUPS = """
INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end, energy,
                     direction, quality, unit, value, delivery_points, max_point_value)
SELECT p.scope, p.id, $1, t, t + $2::text::interval, 'electricity', 'consumption', 'raw',
       'Wh', p.points * $3::float8, p.points, 1.5 * $3::float8
FROM bench_points p
CROSS JOIN generate_series($4::timestamptz, $5::timestamptz - $2::text::interval,
                           $2::text::interval) t
"""


def schema_fingerprint() -> str:
    """Hash of every migration file: the kept database is regenerated when the
    schema it was generated with is not the current one."""
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    digest = hashlib.sha256()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


async def generate(pool: asyncpg.Pool, meters: int) -> None:
    """The territory, meters, residents, a year of readings and of rollups."""
    t0 = time.perf_counter()
    buildings = -(-meters // METERS_PER_BUILDING)
    async with pool.acquire() as conn:
        await conn.execute("SET TimeZone = 'Europe/Paris'")
        await conn.execute(
            TERRITORY.format(
                commune=COMMUNE,
                iris=IRIS,
                parcels_per_iris=PARCELS_PER_IRIS,
                parcels=IRIS * PARCELS_PER_IRIS,
                buildings=buildings,
                buildings_per_parcel=BUILDINGS_PER_PARCEL,
                meters_per_building=METERS_PER_BUILDING,
                meters=meters,
            )
        )
        rows = await conn.fetch(
            "SELECT meter_id FROM meters WHERE meter_id LIKE '9%' ORDER BY meter_id"
        )
        tokens = [
            (r["meter_id"], auth.SESSION_PREFIX + secrets.token_urlsafe(32))
            for r in rows
        ]
        await conn.copy_records_to_table("bench_tokens", records=tokens)
        await conn.executemany(
            """INSERT INTO api_sessions (token_sha256, account_id, expires_at)
               SELECT $1, account_id, now() + interval '10 years' FROM api_accounts
               WHERE email = $2""",
            [(auth.digest(t), f"{m}@bench.invalid") for m, t in tokens],
        )
    log(f"  territory, {meters:,} meters, residents: {time.perf_counter() - t0:.0f} s")

    t0 = time.perf_counter()
    first, last = midnight(date(YEAR, 1, 1)), midnight(date(YEAR + 1, 1, 1))
    span = (date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days
    days = [midnight(date(YEAR, 1, 1) + timedelta(days=d)) for d in range(span + 1)]
    queue = list(itertools.pairwise(days))  # local days: 23, 24 or 25 hours
    total = len(queue)

    async def worker() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SET TimeZone = 'Europe/Paris'; SET work_mem = '256MB'")
            while queue:
                span = queue.pop(0)
                await conn.execute(READINGS, *span)
                if (total - len(queue)) % 30 == 0:
                    log(f"    readings: {total - len(queue)}/{total} days")

    await asyncio.gather(worker(), worker())  # two cores, two backends
    log(f"  readings: {time.perf_counter() - t0:.0f} s")

    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute("SET TimeZone = 'Europe/Paris'")
        for bucket, step, wh in (
            ("P1D", "1 day", 8_000.0),
            ("PT1H", "1 hour", 333.0),
            ("P1M", "1 month", 240_000.0),
        ):
            await conn.execute(ROLLUPS, bucket, step, wh, first, last)
    log(f"  rollups: {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute("VACUUM (ANALYZE)")
        # the data is complete, for this schema
        await conn.execute("CREATE TABLE bench_done (schema text NOT NULL)")
        await conn.execute("INSERT INTO bench_done VALUES ($1)", schema_fingerprint())
    log(f"  VACUUM ANALYZE: {time.perf_counter() - t0:.0f} s")


# ---------------------------------------------------------------------- load


@dataclass(frozen=True)
class Kind:
    """One request kind: its URLs (and sessions), and the raw same-SQL version."""

    name: str
    paths: list[str]
    tokens: list[str] | None
    raw: Request | None


LUA = """
local paths = {%(paths)s}
local tokens = %(tokens)s
local n = #paths
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end
request = function()
  local i = math.random(n)
  local headers = {}
  if tokens then headers["Authorization"] = "Bearer " .. tokens[i] end
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"p50_us": %%.0f, "p99_us": %%.0f, "requests": %%.0f, ' ..
    '"duration_us": %%.0f, "non_2xx": %%.0f, "socket_errors": %%.0f}\\n',
    latency:percentile(50), latency:percentile(99), summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def settle(base: str) -> None:
    """Waits until the server has drained what wrk left queued (a run's last
    requests keep it busy for seconds), so that no run pays for the previous one."""
    host, port = base.removeprefix("http://").split(":")
    calm = 0
    for _ in range(600):
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        conn.close()
        calm = calm + 1 if time.perf_counter() - t < 0.02 else 0
        if calm == 5:
            return
        time.sleep(0.2)
    raise RuntimeError("the server did not settle within two minutes")


def start_api(dsn: str, pool: int) -> tuple[subprocess.Popen[bytes], str]:
    """One uvicorn process (``python -m api``) on a free port with a pool of
    ``pool`` connections and no alert subscription: (the process, its base URL).
    Both API benches time this same server; :func:`stop` ends it."""
    port = free_port()
    env = {
        **os.environ,
        "POSTGRES_DSN": dsn,
        "POSTGRES_POOL_MIN_SIZE": str(pool),
        "POSTGRES_POOL_MAX_SIZE": str(pool),
        "API_HTTP_PORT": str(port),
        "API_SUBSCRIBE_ALERTS": "false",
        "API_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "api"], env=env)
    return server, f"http://127.0.0.1:{port}"


async def wait_ready(http: httpx.AsyncClient) -> None:
    """Waits (up to ~30 s) for ``/readyz``; the first timed call then finds the
    server up, and one that never comes up fails on that call, not here."""
    for _ in range(300):
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM; uvicorn drains what wrk left queued (seconds under load), then KILL."""
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


def lua_list(items: list[str]) -> str:
    return ",".join(json.dumps(i) for i in items)


def wrk(
    base: str, kind: Kind, connections: int, seconds: int, tmp: Path
) -> dict[str, Any]:
    """One wrk run; its Lua ``done`` prints the exact percentiles."""
    script = tmp / "bench.lua"
    tokens = "{" + lua_list(kind.tokens) + "}" if kind.tokens else "nil"
    script.write_text(LUA % {"paths": lua_list(kind.paths), "tokens": tokens})
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "60s",
            "-s",
            str(script),
            base,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    settle(base)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    if result["non_2xx"] or result["socket_errors"] or not result["requests"]:
        raise RuntimeError(f"{kind.name}: errors or no answer in the run: {result}")
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


async def raw_run(kind: Kind, seconds: float, concurrency: int) -> dict[str, Any]:
    """The same SQL straight on asyncpg: ``concurrency`` workers for ``seconds``."""
    raw = kind.raw
    if raw is None:
        raise ValueError(f"{kind.name} has no raw form")
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    counter = iter(range(10**12))

    async def worker() -> None:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            await raw(next(counter))
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    ordered = sorted(latencies)
    return {
        "p50_us": ordered[len(ordered) // 2] * 1e6,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6,
        "rps": len(ordered) / elapsed,
    }


def line(name: str, conc: int, runs: list[dict[str, Any]]) -> str:
    med = {
        k: statistics.median(r[k] for r in runs) for k in ("p50_us", "p99_us", "rps")
    }
    spread = [round(r["p99_us"] / 1000, 1) for r in runs]
    return (
        f"{name:<48} c={conc:<3} p50 {med['p50_us'] / 1000:8.1f} ms  "
        f"p99 {med['p99_us'] / 1000:8.1f} ms  {med['rps']:7.0f} req/s  "
        f"(median of {len(runs)}; p99 runs {spread})"
    )


# ---------------------------------------------------------------------- main


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_API_DATA_DIR", ".var/bench-api")),
        help="keep (and reuse) the database here (default .var/bench-api, ~25 GB)",
    )
    p.add_argument("--quick", action="store_true", help="1,000 meters, short runs")
    p.add_argument("--meters", type=int, default=10_000)
    p.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--pool", type=int, default=10, help="POSTGRES_POOL_MAX_SIZE")
    p.add_argument("--only", help="comma-separated kinds to measure (substring)")
    p.add_argument(
        "--generate-only", action="store_true", help="build --data-dir, measure nothing"
    )
    args = p.parse_args()
    if args.quick:
        args.meters, args.duration, args.runs = 1_000, 3, 1
    return args


async def main() -> None:
    args = parse()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()} (other work on the machine)")
    base_dir = args.data_dir
    base_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(base_dir / "pg", port=free_port())
    pg.start()
    server = None
    try:
        pg.create_database("bench")
        dsn = pg.dsn("bench")
        # The raw limit uses the api's own pool shape and session settings.
        pool = await create_pool(
            PostgresSettings(dsn=dsn, pool_min_size=args.pool, pool_max_size=args.pool),
            server_settings=SERVER_SETTINGS,
        )
        async with pool.acquire() as conn:
            print(
                f"postgres: {await conn.fetchval('SHOW server_version')}, "
                f"shared_buffers {await conn.fetchval('SHOW shared_buffers')}"
            )
            ready = await conn.fetchval("SELECT to_regclass('bench_done') IS NOT NULL")
            if ready:  # generated by an older schema (migrations edited): redo it
                ready = await conn.fetchval(  # to_jsonb: older ones have no column
                    "SELECT to_jsonb(b) ->> 'schema' = $1 FROM bench_done b LIMIT 1",
                    schema_fingerprint(),
                )
        if not ready:  # none, a partial one (interrupted) or stale: start afresh
            log(f"generating {args.meters:,} meters x one year of 30-minute readings")
            await pool.close()
            admin = await asyncpg.connect(pg.dsn())
            try:
                await admin.execute("DROP DATABASE bench")
                await admin.execute("CREATE DATABASE bench")
            finally:
                await admin.close()
            migrate.upgrade(dsn)
            pool = await create_pool(
                PostgresSettings(dsn=dsn, pool_min_size=2, pool_max_size=args.pool),
                server_settings=SERVER_SETTINGS,
            )
            await generate(pool, args.meters)
        async with pool.acquire() as conn:
            counts = await conn.fetchrow(
                """SELECT (SELECT count(*) FROM bench_tokens) AS meters,
                          (SELECT sum(reltuples)::bigint FROM pg_class
                           WHERE relname LIKE 'readings_20%' AND relkind = 'r')
                              AS readings,
                          pg_size_pretty(pg_database_size(current_database())) AS size"""
            )
            tokens = await conn.fetch(
                "SELECT meter_id, token FROM bench_tokens ORDER BY 1"
            )
            iris = [
                r[0]
                for r in await conn.fetch(
                    "SELECT id FROM bench_points WHERE scope = 'neighbourhood'"
                )
            ]
            buildings = [
                r[0]
                for r in await conn.fetch(
                    "SELECT id FROM bench_points WHERE scope = 'building'"
                )
            ]
        log(
            f"data: {counts['meters']:,} meters, ~{counts['readings']:,} readings, "
            f"database {counts['size']}"
        )
        if args.generate_only:
            await pool.close()
            return
        meters = [r["meter_id"] for r in tokens]
        sessions = [r["token"] for r in tokens]

        t0, t1 = midnight(date(YEAR, 1, 1)), midnight(date(YEAR + 1, 1, 1))
        june = midnight(date(YEAR, 6, 10)), midnight(date(YEAR, 6, 11))

        async def raw_rollup(
            scope: str, sid: str, bucket: str, a: datetime, b: datetime
        ) -> None:
            async with pool.acquire() as conn:
                chain = await queries.family(conn, scope=scope, scope_id=sid)
                assert chain is not None
                rows = await queries.rollups(
                    conn,
                    scope=scope,
                    chain=chain,
                    bucket=bucket,
                    energy="electricity",
                    direction="consumption",
                    start=a,
                    end=b,
                    limit=1001,
                    min_points=10,
                    max_share=0.85,
                )
                assert rows

        async def raw_meter(k: int, what: str) -> None:
            async with pool.acquire() as conn:  # the api's first query: the session
                principal = await auth.resolve(conn, sessions[k])
            assert principal is not None
            assert principal.person_id is not None
            async with pool.acquire() as conn:
                meter = await queries.meter_for(
                    conn,
                    person_id=principal.person_id,
                    meter_id=meters[k],
                    direction="consumption",
                )
                assert meter is not None
                series, daily = meter["series"], meter["daily_series"]
                if what == "curve":
                    rows = await queries.load_curve(
                        conn,
                        person_id=principal.person_id,
                        meter_id=meters[k],
                        series=series,
                        start=june[0],
                        end=june[1],
                        limit=2001,
                    )
                else:  # daily totals over March, or over the whole year
                    start, end = (
                        (midnight(date(YEAR, 3, 1)), midnight(date(YEAR, 4, 1)))
                        if what == "month"
                        else (t0, t1)
                    )
                    rows = await queries.totals(
                        conn,
                        person_id=principal.person_id,
                        meter_id=meters[k],
                        series=series,
                        daily_series=daily,
                        start=start,
                        end=end,
                        per="day",
                    )
                assert rows

        def per_meter(name: str, query: str, span: str) -> Kind:
            """A resident's own readings: ``/v1/meters/{m}/`` + ``query`` for
            each meter, with its session; the raw SQL reads the same ``span``."""
            return Kind(
                name,
                [f"/v1/meters/{m}/{query}" for m in meters],
                sessions,
                lambda n: raw_meter(n % len(meters), span),
            )

        kinds = [
            # The floor: no database, no auth; what one uvicorn process does alone.
            Kind("GET /healthz (no database: the floor)", ["/healthz"], None, None),
            Kind(
                "rollup neighbourhood P1D x 365 (public)",
                [
                    f"/v1/rollups/neighbourhood/{i}?bucket=P1D&start={YEAR}-01-01&end={YEAR + 1}-01-01"
                    for i in iris
                ],
                None,
                lambda n: raw_rollup(
                    "neighbourhood", iris[n % len(iris)], "P1D", t0, t1
                ),
            ),
            Kind(
                "rollup building PT1H x 24 (public)",
                [
                    f"/v1/rollups/building/{b}?bucket=PT1H&start={YEAR}-06-10&end={YEAR}-06-11"
                    for b in buildings
                ],
                None,
                lambda n: raw_rollup(
                    "building", buildings[n % len(buildings)], "PT1H", *june
                ),
            ),
            per_meter(
                "readings load curve, one day (48)",
                f"readings?start={YEAR}-06-10T00:00:00%2B02:00&end={YEAR}-06-11T00:00:00%2B02:00",
                "curve",
            ),
            per_meter(
                "readings daily x 31 (1,488 intervals)",
                f"daily?start={YEAR}-03-01&end={YEAR}-04-01",
                "month",
            ),
            per_meter(
                "readings daily x 365 (17,520 intervals)",
                f"daily?start={YEAR}-01-01&end={YEAR + 1}-01-01",
                "year",
            ),
        ]
        if args.only:
            wanted = [w.strip() for w in args.only.split(",")]
            kinds = [k for k in kinds if any(w in k.name for w in wanted)]

        server, base = start_api(dsn, args.pool)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await wait_ready(http)
            for kind in kinds:  # each URL kind answers 200 with data before we time it
                headers = (
                    {"authorization": f"Bearer {kind.tokens[0]}"} if kind.tokens else {}
                )
                r = await http.get(kind.paths[0], headers=headers)
                assert r.status_code == 200, (kind.name, r.text[:300])
                assert kind.raw is None or r.json()["items"], kind.name
        log(
            f"uvicorn: 1 process (python -m api), pool {args.pool}; "
            f"wrk -t2 -c{CONCURRENCY} -d{args.duration}s x {args.runs}"
        )
        results = []
        with tempfile.TemporaryDirectory(prefix="bench-api-wrk-") as scripts:
            tmp = Path(scripts)
            for kind in kinds:
                wrk(base, kind, 1, 2, tmp)  # warm-up
                alone = [wrk(base, kind, 1, max(2, args.duration // 3), tmp)]
                log(line("api  " + kind.name, 1, alone))
                wrk(base, kind, CONCURRENCY, max(2, args.duration // 3), tmp)  # warm-up
                loaded = [
                    wrk(base, kind, CONCURRENCY, args.duration, tmp)
                    for _ in range(args.runs)
                ]
                log(line("api  " + kind.name, CONCURRENCY, loaded))
                results.append((kind, loaded))
        stop(server)
        server = None
        log(f"raw: the same SQL on asyncpg, pool {args.pool}, {CONCURRENCY} workers")
        for kind, _ in results:
            if kind.raw is None:
                continue
            await raw_run(kind, 2, CONCURRENCY)  # warm-up
            alone = [await raw_run(kind, max(2, args.duration // 3), 1)]
            log(line("raw  " + kind.name, 1, alone))
            runs = [
                await raw_run(kind, args.duration, CONCURRENCY)
                for _ in range(args.runs)
            ]
            log(line("raw  " + kind.name, CONCURRENCY, runs))
        await pool.close()
    finally:
        if server is not None:
            stop(server)
        pg.stop()
    print(
        f"load average at end: {load_average()}; target: p99 <= 50 ms at c={CONCURRENCY}"
    )


if __name__ == "__main__":
    asyncio.run(main())
