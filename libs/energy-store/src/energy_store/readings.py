"""The reading store: idempotent, set-based upserts of normalised reading batches.

Write path (the architecture's measured figures): COPY every reading of a set of
batches into a temporary staging table, then one INSERT … ON CONFLICT that

* writes new readings,
* replaces a stored reading only by a better or different one (quality rank
  estimated < raw < corrected; the same rank with another value is a re-publication),
* leaves identical re-deliveries untouched,

and returns what actually changed, with the previous value, so that callers can
maintain rollups from stored values rather than from deliveries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from energy_core._pb.energy.metering.v1 import readings_pb2 as pb
from energy_core.domain.readings import SeriesKey
from energy_core.domain.time import from_micros
from energy_core.wire import (
    DIRECTION_FROM_PB,
    KIND_FROM_PB,
    QUALITY_FROM_PB,
    SCHEME_FROM_PB,
    UNIT_FROM_PB,
)

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS sen1_staging (
    seq bigint, series_id bigint, start_ts timestamptz, end_ts timestamptz,
    value double precision, quality smallint
) ON COMMIT DELETE ROWS
"""

_UPSERT = """
WITH incoming AS (
    SELECT DISTINCT ON (series_id, start_ts) series_id, start_ts, end_ts, value, quality
    FROM sen1_staging
    ORDER BY series_id, start_ts, quality DESC, seq DESC
), previous AS (
    SELECT r.series_id, r.start_ts, r.value, r.quality
    FROM readings r JOIN incoming i USING (series_id, start_ts)
), written AS (
    INSERT INTO readings AS r (series_id, start_ts, end_ts, value, quality)
    SELECT series_id, start_ts, end_ts, value, quality FROM incoming
    ON CONFLICT (series_id, start_ts) DO UPDATE
        SET end_ts = EXCLUDED.end_ts, value = EXCLUDED.value,
            quality = EXCLUDED.quality, ingested_at = now()
        WHERE EXCLUDED.quality > r.quality
           OR (EXCLUDED.quality = r.quality
               AND (EXCLUDED.value <> r.value OR EXCLUDED.end_ts <> r.end_ts))
    RETURNING r.series_id, r.start_ts, r.end_ts, r.value, r.quality
)
SELECT w.series_id, w.start_ts, w.end_ts, w.value, w.quality,
       p.value AS old_value, p.quality AS old_quality
FROM written w LEFT JOIN previous p USING (series_id, start_ts)
"""

_INSERT_SERIES = """
INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit, channel)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::text[])
ON CONFLICT (urn) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A reading whose stored value changed; ``old_value`` is None when it is new."""

    series_id: int
    start: datetime
    end: datetime
    value: float
    quality: int
    old_value: float | None
    old_quality: int | None

    @property
    def delta(self) -> float:
        """What the change adds to any sum that contained the old value."""
        return self.value - (self.old_value or 0.0)


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """What the store knows of a series (to route changes to rollups)."""

    series_id: int
    key: SeriesKey


def _series_key(batch: pb.ReadingBatch, reading: pb.Reading) -> SeriesKey:
    return SeriesKey(
        scheme=SCHEME_FROM_PB[batch.scheme],
        meter=batch.meter_id,
        direction=DIRECTION_FROM_PB[reading.direction],
        kind=KIND_FROM_PB[reading.kind],
        dimension=UNIT_FROM_PB[reading.unit].dimension,
        channel=reading.channel,
    )


class ReadingStore:
    """Writes reading batches; keeps a cache of series ids (they never change)."""

    def __init__(self) -> None:
        self._series: dict[SeriesKey, int] = {}
        self._keys: dict[int, SeriesKey] = {}

    async def series_ids(
        self, conn: asyncpg.Connection, keys: Iterable[SeriesKey]
    ) -> dict[SeriesKey, int]:
        """Ids of the given series, creating the missing ones."""
        wanted = set(keys)
        missing = [k for k in wanted if k not in self._series]
        if missing:
            columns: list[list[str]] = [[] for _ in range(8)]
            for k in missing:
                unit = {"energy": "Wh", "power": "W", "apparent_power": "VA"}.get(
                    k.dimension.value, "m3"
                )
                row = (
                    k.urn,
                    k.meter,
                    k.scheme.value,
                    k.direction.value,
                    k.kind.value,
                    k.dimension.value,
                    unit,
                    k.channel,
                )
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
            await conn.execute(_INSERT_SERIES, *columns)
            rows = await conn.fetch(
                "SELECT series_id, urn FROM series WHERE urn = ANY($1::text[])",
                columns[0],
            )
            by_urn = {r["urn"]: r["series_id"] for r in rows}
            for k in missing:
                self._series[k] = by_urn[k.urn]
                self._keys[by_urn[k.urn]] = k
        return {k: self._series[k] for k in wanted}

    async def upsert(
        self, conn: asyncpg.Connection, batches: Sequence[pb.ReadingBatch]
    ) -> list[StoredChange]:
        """Writes the batches in the caller's transaction; returns what changed.

        Values are converted to canonical units (Wh, W, VA, m3). Must run inside a
        transaction (the staging table empties on commit).
        """
        keyed = [
            (_series_key(batch, reading), reading)
            for batch in batches
            for reading in batch.readings
        ]
        if not keyed:
            return []
        ids = await self.series_ids(conn, (k for k, _ in keyed))
        seq = itertools.count()
        records = [
            (
                next(seq),
                ids[key],
                from_micros(r.start_us),
                from_micros(r.end_us),
                UNIT_FROM_PB[r.unit].to_canonical(r.value),
                QUALITY_FROM_PB[r.quality].rank,
            )
            for key, r in keyed
        ]
        await conn.execute(_STAGING)
        await conn.copy_records_to_table("sen1_staging", records=records)
        rows = await conn.fetch(_UPSERT)
        await conn.execute("TRUNCATE sen1_staging")
        return [
            StoredChange(
                series_id=r["series_id"],
                start=r["start_ts"],
                end=r["end_ts"],
                value=r["value"],
                quality=r["quality"],
                old_value=r["old_value"],
                old_quality=r["old_quality"],
            )
            for r in rows
        ]

    def key_of(self, series_id: int) -> SeriesKey:
        """The series key of an id this store has resolved (e.g. from a change)."""
        return self._keys[series_id]


async def write_batches(pool: asyncpg.Pool, batches: Sequence[pb.ReadingBatch]) -> int:
    """Convenience: one transaction, returns the number of readings changed."""
    store = ReadingStore()
    async with pool.acquire() as conn, conn.transaction():
        return len(await store.upsert(conn, batches))
