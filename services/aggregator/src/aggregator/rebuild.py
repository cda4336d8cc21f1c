"""Rebuilds every rollup from the stored readings (``python -m aggregator rebuild``).

Why: rollups follow stored values by deltas, so a change of the RULES (not of the
data) is not picked up by itself. Migration ``1101_aggregator_delivery_points``
changed them (sums and point counts per delivery point, settled data over device
data) and empties the derived tables; this command recomputes them, and is the
path after any later rule change or after attaching devices to delivery points.

Run it with the aggregator workers stopped. It empties the per-point day/month
rows and the rollups, then replays the stored readings through the write path's
own SQL (:meth:`aggregator.pipeline.Pipeline.roll_up`), as if every reading were
new, a group of delivery points per transaction: each point with ALL its devices
in the same transaction, which the source precedence needs (it reads a point's
readings back). Live power, load samples and alerts are not touched.

:func:`rebuild_if_requested` makes it automatic: a migration that changes a rule
leaves a row in ``aggregator_pending_rebuilds``, and every worker calls it before
it consumes anything; the first one rebuilds under an advisory lock, the others
wait for the lock and find nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import asyncpg

from aggregator.pipeline import Pipeline

logger = logging.getLogger(__name__)

_CHANGES = """
CREATE TEMP TABLE IF NOT EXISTS sen1_changes (
    series_id bigint, start_ts timestamptz, end_ts timestamptz,
    value double precision, quality smallint,
    old_end_ts timestamptz, old_value double precision, old_quality smallint
) ON COMMIT DELETE ROWS
"""
"""The reading store's change table (energy_store.readings.CHANGES), filled here
with every stored reading of the group as new."""

_REPLAY = """
INSERT INTO sen1_changes
SELECT r.series_id, r.start_ts, r.end_ts, r.value, r.quality, NULL, NULL, NULL
FROM series s JOIN readings r USING (series_id)
WHERE s.meter_id = ANY($1::text[]) AND s.kind = 'interval'
"""

_METERS = "SELECT DISTINCT meter_id FROM series WHERE kind = 'interval'"


def _groups(pipeline: Pipeline, meters: list[str], size: int) -> Iterator[list[str]]:
    """Meters grouped by the delivery point they count for, ``size`` points a group;
    unattached devices are left out (they count nowhere)."""
    territory = pipeline.territory
    by_point: dict[str, set[str]] = {}
    for meter in meters:
        place = territory.placement(meter)
        point = meter if place is None else place.point
        if point is None:
            continue
        by_point.setdefault(point, {point}).add(meter)
    points = sorted(by_point)
    for i in range(0, len(points), size):
        yield sorted(set().union(*(by_point[p] for p in points[i : i + size])))


async def rebuild(pool: asyncpg.Pool, pipeline: Pipeline, *, points: int = 200) -> int:
    """Recomputes every rollup; returns the number of readings replayed."""
    async with pool.acquire() as conn:
        await conn.execute(
            "TRUNCATE rollups, aggregator_meter_days, aggregator_meter_months"
        )
        meters = [r["meter_id"] for r in await conn.fetch(_METERS)]
        energy = {
            r["meter_id"]: r["energy"]
            for r in await conn.fetch("SELECT meter_id, energy FROM meters")
        }
        replayed = 0
        for group in _groups(pipeline, meters, points):
            async with conn.transaction():
                await conn.execute(f"SET LOCAL work_mem = '{pipeline.work_mem}'")
                await conn.execute(_CHANGES)
                replayed += int((await conn.execute(_REPLAY, group)).split()[-1])
                await pipeline.roll_up(
                    conn, ((m, energy.get(m, "electricity")) for m in group)
                )
    logger.info("rollups rebuilt from %d stored readings", replayed)
    return replayed


REBUILD_LOCK = 0x5E1_A66
"""Advisory lock key of the automatic rebuild (one at a time across workers)."""


async def rebuild_if_requested(pool: asyncpg.Pool, pipeline: Pipeline) -> int | None:
    """Runs :func:`rebuild` once if a migration asked for it; returns the readings
    replayed, or None when nothing was pending.

    The marker rows are deleted in the same session after the rebuild, so a crash
    in the middle leaves them and the next start rebuilds again (it is idempotent).
    """
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", REBUILD_LOCK)
        try:
            reasons = [
                r["reason"]
                for r in await conn.fetch(
                    "SELECT reason FROM aggregator_pending_rebuilds"
                )
            ]
            if not reasons:
                return None
            logger.info("rollup rebuild requested by %s", ", ".join(sorted(reasons)))
            replayed = await rebuild(pool, pipeline)
            await conn.execute(
                "DELETE FROM aggregator_pending_rebuilds WHERE reason = ANY($1::text[])",
                reasons,
            )
            return replayed
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", REBUILD_LOCK)
