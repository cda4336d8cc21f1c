"""The city dashboard's reads: the map per level (``/v1/map/{level}``) and the series
(``/v1/rollups``), unloaded and under concurrent dashboard clients.

Data: the territory of ``bench_api.py`` (a commune of 20 IRIS, 400 parcels, 2,000
buildings, 10,000 delivery points: 5 per building, so buildings are withheld,
parcels hold 25 points, IRIS 500) and a year (2025) of its rollups: P1D and P1M of
every building, parcel, IRIS and the commune, PT1H of the commune and the IRIS
(~1 M rows; no readings, which the city reads never touch). Generated in PostgreSQL
itself in a minute or two, kept in ``--data-dir`` (default ``.var/bench-city``).

Measured against one uvicorn process (``python -m api``, as deployed):

* unloaded: each request kind alone, one at a time, median (and slowest) of
  ``--repeat`` calls after a warm-up; the target is a year of IRIS or parcel data
  in <= 100 ms;
* under load: ``--clients`` concurrent dashboard users, each opening the city
  page's year view over and over (the map calls: IRIS and parcels for the year
  and parcels for 364 days, a custom span of whole days; then the four series
  calls: electricity, production, gas, last year), for ``--duration`` seconds,
  ``--runs`` times: per-call p50/p99, and how long the whole view takes.
  ``--clients 0`` gives the unloaded figures only.

The load generator runs in this process (asyncio + httpx) on the same machine as
the server and PostgreSQL: on 2 shared cores the loaded figures are upper bounds.

    uv run --frozen python bench/bench_city.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from bench_api import (
    BUILDINGS_PER_PARCEL,
    COMMUNE,
    IRIS,
    METERS_PER_BUILDING,
    PARCELS_PER_IRIS,
    TERRITORY,
    YEAR,
    load_average,
    log,
    machine,
    schema_fingerprint,
    start_api,
    stop,
    wait_ready,
)

from api.main import SERVER_SETTINGS
from energy_core.domain.time import local_midnight as midnight
from energy_core.settings import PostgresSettings
from energy_store import migrate
from energy_store.db import create_pool
from sen1_stack.broker import free_port
from sen1_stack.postgres import EmbeddedPostgres

METERS = IRIS * PARCELS_PER_IRIS * BUILDINGS_PER_PARCEL * METERS_PER_BUILDING

# Like bench_api's ROLLUPS, for some scopes only ($6); values vary per scope and
# bucket so that the map has classes to draw.
ROLLUPS = """
INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end, energy,
                     direction, quality, unit, value, delivery_points, max_point_value)
SELECT p.scope, p.id, $1, t, t + $2::text::interval, 'electricity', 'consumption', 'raw',
       'Wh', p.points * $3::float8 * (0.8 + 0.4 * ((hashtext(p.id) & 1023) / 1023.0)),
       p.points, 1.5 * $3::float8
FROM bench_points p
CROSS JOIN generate_series($4::timestamptz, $5::timestamptz - $2::text::interval,
                           $2::text::interval) t
WHERE p.scope = ANY($6::text[])
"""
ALL = ["building", "parcel", "neighbourhood", "commune"]


async def generate(pool: asyncpg.Pool) -> None:
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute("SET TimeZone = 'Europe/Paris'")
        await conn.execute(
            TERRITORY.format(
                commune=COMMUNE,
                iris=IRIS,
                parcels_per_iris=PARCELS_PER_IRIS,
                parcels=IRIS * PARCELS_PER_IRIS,
                buildings=METERS // METERS_PER_BUILDING,
                buildings_per_parcel=BUILDINGS_PER_PARCEL,
                meters_per_building=METERS_PER_BUILDING,
                meters=METERS,
            )
        )
        log(f"  territory: {time.perf_counter() - t0:.0f} s")
        first, last = midnight(date(YEAR, 1, 1)), midnight(date(YEAR + 1, 1, 1))
        for bucket, step, wh, scopes in (
            ("P1D", "1 day", 8_000.0, ALL),
            ("P1M", "1 month", 240_000.0, ALL),
            ("PT1H", "1 hour", 333.0, ["neighbourhood", "commune"]),
        ):
            await conn.execute(ROLLUPS, bucket, step, wh, first, last, scopes)
            log(f"  rollups {bucket}: {time.perf_counter() - t0:.0f} s")
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CREATE TABLE bench_done (schema text NOT NULL)")
        await conn.execute("INSERT INTO bench_done VALUES ($1)", schema_fingerprint())
    log(f"  generated in {time.perf_counter() - t0:.0f} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def unloaded(
    http: httpx.AsyncClient, kinds: list[tuple[str, str]], repeat: int
) -> None:
    log(f"unloaded: one request at a time, median of {repeat} after a warm-up")
    for name, url in kinds:
        r = await http.get(url)
        assert r.status_code == 200, (name, r.text[:300])
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            r = await http.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        verdict = "met" if statistics.median(times) <= 100 else "MISSED"
        log(
            f"  {name:<46} median {statistics.median(times):7.1f} ms  "
            f"min {min(times):7.1f}  max {max(times):7.1f}  ({len(r.content):,} B)"
            f"  <= 100 ms: {verdict}"
        )


async def loaded(
    base: str, view: list[tuple[str, str]], clients: int, seconds: float
) -> dict[str, list[float]]:
    """``clients`` users opening the year view in a loop: maps first, then series."""
    per: dict[str, list[float]] = {name: [] for name, _ in view}
    per["whole view"] = []
    end = time.perf_counter() + seconds
    maps = [(n, u) for n, u in view if "/v1/map/" in u]
    series = [(n, u) for n, u in view if "/v1/map/" not in u]

    async def timed(http: httpx.AsyncClient, name: str, url: str) -> None:
        t = time.perf_counter()
        r = await http.get(url)
        per[name].append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")

    async def user() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            while time.perf_counter() < end:
                t = time.perf_counter()
                await asyncio.gather(*(timed(http, n, u) for n, u in maps))
                await asyncio.gather(*(timed(http, n, u) for n, u in series))
                per["whole view"].append((time.perf_counter() - t) * 1000)

    await asyncio.gather(*(user() for _ in range(clients)))
    return per


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_CITY_DATA_DIR", ".var/bench-city")),
    )
    p.add_argument("--repeat", type=int, default=15, help="unloaded calls per kind")
    p.add_argument(
        "--clients",
        type=int,
        default=20,
        help="concurrent dashboards (0: the unloaded single-query timings only)",
    )
    p.add_argument("--duration", type=float, default=20, help="seconds per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--pool", type=int, default=10, help="POSTGRES_POOL_MAX_SIZE")
    return p.parse_args()


async def main() -> None:
    args = parse()
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()} (other work on the machine)")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(args.data_dir / "pg", port=free_port())
    pg.start()
    server = None
    try:
        pg.create_database("bench")
        dsn = pg.dsn("bench")
        admin = await asyncpg.connect(dsn)
        try:
            ready = await admin.fetchval(
                "SELECT to_regclass('bench_done') IS NOT NULL"
            ) and await admin.fetchval(
                "SELECT schema = $1 FROM bench_done LIMIT 1", schema_fingerprint()
            )
            print(f"postgres: {await admin.fetchval('SHOW server_version')}")
        finally:
            await admin.close()
        if not ready:
            log("generating the territory and a year of rollups")
            admin = await asyncpg.connect(pg.dsn())
            try:
                await admin.execute("DROP DATABASE bench")
                await admin.execute("CREATE DATABASE bench")
            finally:
                await admin.close()
            migrate.upgrade(dsn)
            pool = await create_pool(
                PostgresSettings(dsn=dsn, pool_min_size=1, pool_max_size=2),
                server_settings=SERVER_SETTINGS,
            )
            try:
                await generate(pool)
            finally:
                await pool.close()
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetchval("SELECT count(*) FROM rollups")
            iris = await conn.fetchval(
                "SELECT min(iris) FROM neighbourhoods WHERE commune_insee = $1", COMMUNE
            )
            parcel = await conn.fetchval(
                "SELECT min(idu) FROM parcels WHERE iris = $1", iris
            )
        finally:
            await conn.close()
        log(f"data: {rows:,} rollup rows; IRIS {iris}, parcel {parcel}")
        server, base = start_api(dsn, args.pool)
        year = f"start={YEAR}-01-01&end={YEAR + 1}-01-01"
        days = f"start={YEAR}-01-01&end={YEAR}-12-31"  # 11 months + 30 days
        q = f"commune={COMMUNE}&{year}"
        kinds = [
            ("map IRIS, a year (12 x P1M, 20 IRIS)", f"/v1/map/neighbourhood?{q}"),
            ("map parcels, a year (12 x P1M, 400 parcels)", f"/v1/map/parcel?{q}"),
            (
                "  the same, values only (as the page asks)",
                f"/v1/map/parcel?{q}&geometry=false",
            ),
            (
                "map IRIS, 364 days (11 P1M + 30 P1D), values",
                f"/v1/map/neighbourhood?commune={COMMUNE}&{days}&geometry=false",
            ),
            (
                "map parcels, 364 days (11 P1M + 30 P1D), values",
                f"/v1/map/parcel?commune={COMMUNE}&{days}&geometry=false",
            ),
            (
                "map buildings of a parcel, a year",
                f"/v1/map/building?{q}&parcel={parcel}",
            ),
            (
                "series of one IRIS, a year of P1D",
                f"/v1/rollups/neighbourhood/{iris}?bucket=P1D&{year}",
            ),
            (
                "series of one parcel, a year of P1D",
                f"/v1/rollups/parcel/{parcel}?bucket=P1D&{year}",
            ),
            (
                "series of the commune, a year of P1M",
                f"/v1/rollups/commune/{COMMUNE}?bucket=P1M&{year}",
            ),
        ]
        prev = f"start={YEAR - 1}-01-01&end={YEAR}-01-01"
        series = f"/v1/rollups/commune/{COMMUNE}?bucket=P1M&{year}&limit=5000"
        view = [
            ("map IRIS", f"/v1/map/neighbourhood?{q}&geometry=false"),
            ("map parcels", f"/v1/map/parcel?{q}&geometry=false"),
            (
                "map parcels, 364 days",
                f"/v1/map/parcel?commune={COMMUNE}&{days}&geometry=false",
            ),
            ("series electricity", series),
            ("series production", series + "&direction=production"),
            ("series gas", series + "&energy=gas"),
            (
                "series last year",
                f"/v1/rollups/commune/{COMMUNE}?bucket=P1M&{prev}&limit=5000",
            ),
        ]
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            await wait_ready(http)
            r = await http.get(kinds[1][1])
            doc = r.json()
            states = {f["properties"]["state"] for f in doc["features"]}
            assert len(doc["features"]) == IRIS * PARCELS_PER_IRIS, len(doc["features"])
            assert "published" in states, states
            await unloaded(http, kinds, args.repeat)
        if args.clients <= 0 or args.runs <= 0:
            log("under load: skipped (--clients 0): the unloaded figures only")
        else:
            log(
                f"under load: {args.clients} dashboards opening the year view "
                f"(3 map calls, then 4 series calls), {args.duration:.0f} s x {args.runs}"
            )
            runs = [
                await loaded(base, view, args.clients, args.duration)
                for _ in range(args.runs)
            ]
            for name, _ in [*view, ("whole view", "")]:
                p50 = statistics.median(statistics.median(r[name]) for r in runs)
                p99 = statistics.median(pct(r[name], 0.99) for r in runs)
                n = sum(len(r[name]) for r in runs)
                log(
                    f"  {name:<22} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
                    f"({n:,} calls; medians of {args.runs} runs)"
                )
            views = statistics.median(
                len(r["whole view"]) / args.duration for r in runs
            )
            log(f"  views per second: {views:.1f}")
    finally:
        if server is not None:
            stop(server)
        pg.stop()
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    asyncio.run(main())
