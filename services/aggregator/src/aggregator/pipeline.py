"""One database transaction per batch of Kafka records: the aggregator's write path.

Per batch of ReadingBatch records (``process``):

* undecodable or invalid records become dead letters (never an exception);
* INSTANT readings (1 Hz power) are NOT stored raw: only the last value per meter
  is kept (``aggregator_meter_power``), for live load and congestion;
* every other reading goes through :meth:`ReadingStore.write` (COPY + set-based
  upsert); the changes it leaves in the transaction then update the per-meter
  day/month totals and the scope rollups, all in SQL (:mod:`aggregator.rollups`):
  no per-reading object ever comes back to Python.

All of it commits in ONE transaction; Faust acknowledges the records only after
``process`` returns, so a crash replays them and the store makes the replay a no-op.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from aggregator import power, recompute, rollups
from aggregator.tables import Territory
from energy_core.domain.time import from_micros, to_micros
from energy_core.errors import PayloadInvalidError
from energy_core.wire import (
    DIRECTION_FROM_PB,
    ENERGY_FROM_PB,
    KIND_FROM_PB,
    KIND_INSTANT,
    QUALITY_FROM_PB,
    SCHEME_FROM_PB,
    UNIT_FROM_PB,
    ReadingBatchMessage,
    ReadingMessage,
    decode_batch,
)
from energy_store.readings import ReadingStore

logger = logging.getLogger(__name__)

PERMANENT_DB_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
)
"""Errors that the same records would raise again (SQLSTATE classes 22 and 23)."""


@dataclass
class BatchResult:
    """What one transaction did (for metrics, logs and tests)."""

    records: int = 0
    readings_changed: int = 0
    rollup_changes: int = 0
    """Per-meter bucket contributions applied to the rollups."""
    power_updates: int = 0
    dead: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(reason, error type, original bytes) of refused records."""
    produced_at_us: list[int] = field(default_factory=list)


_EARLIEST_US = to_micros(datetime(1990, 1, 1, tzinfo=UTC))
_LATEST_US = to_micros(datetime(2100, 1, 1, tzinfo=UTC))
"""Timestamps outside these are refused: no meter data predates 1990, and an
instant far out of range would fail the whole batch in PostgreSQL."""


def _check(batch: ReadingBatchMessage) -> None:
    """Cheap validation of what the store relies on (raises PayloadInvalidError).

    The ingest services validate through the domain types; this guards the store
    against any other producer: one NaN would poison every sum it enters.
    """
    if not batch.meter_id or batch.scheme not in SCHEME_FROM_PB:
        raise PayloadInvalidError("missing meter id or unknown scheme")
    if batch.energy not in ENERGY_FROM_PB:
        raise PayloadInvalidError("unknown energy")
    for r in batch.readings:
        if (
            r.kind not in KIND_FROM_PB
            or r.unit not in UNIT_FROM_PB
            or r.quality not in QUALITY_FROM_PB
            or r.direction not in DIRECTION_FROM_PB
        ):
            raise PayloadInvalidError("invalid reading: unknown enum value")
        if not (_EARLIEST_US <= r.start_us <= r.end_us <= _LATEST_US):
            raise PayloadInvalidError("invalid reading: interval out of order or range")
        if not math.isfinite(r.value):
            raise PayloadInvalidError("invalid reading: value is not a finite number")


def _count(status: str) -> int:
    """Rows of a command status such as ``INSERT 0 42``."""
    return int(status.rsplit(" ", 1)[-1])


class Pipeline:
    """Holds the series cache and the territory; processes batches of raw values."""

    def __init__(self, territory: Territory, *, work_mem_mb: int = 256) -> None:
        self.territory = territory
        self.store = ReadingStore()
        self.work_mem = f"{int(work_mem_mb)}MB"

    def _split(
        self, values: Sequence[bytes], result: BatchResult
    ) -> tuple[list[ReadingBatchMessage], dict[str, tuple[Any, ...]]]:
        stored: list[ReadingBatchMessage] = []
        power: dict[str, tuple[Any, ...]] = {}
        instant = KIND_INSTANT
        for value in values:
            try:
                batch = decode_batch(value)
                _check(batch)
            except PayloadInvalidError as exc:
                result.dead.append((str(exc), type(exc).__name__, value))
                continue
            result.produced_at_us.append(batch.produced_at_us)
            instants = [r for r in batch.readings if r.kind == instant]
            if instants:
                self._last_power(batch, instants, power)
            if len(instants) == len(batch.readings):
                continue
            if instants:
                kept = ReadingBatchMessage()
                kept.CopyFrom(batch)
                del kept.readings[:]
                kept.readings.extend(r for r in batch.readings if r.kind != instant)
                batch = kept
            stored.append(batch)
        return stored, power

    def _last_power(
        self,
        batch: ReadingBatchMessage,
        instants: list[ReadingMessage],
        power: dict[str, tuple[Any, ...]],
    ) -> None:
        """Last instant of the batch; its channels (phases) summed.

        A three-phase home sends its phases (channels ``l1``..``l3``) and their sum
        (channel ``""``): the sum is used when present, else the phases are added.
        """
        last = max(r.start_us for r in instants)
        at_last = [r for r in instants if r.start_us == last]
        totals = [r for r in at_last if not r.channel] or at_last
        watts = sum(UNIT_FROM_PB[r.unit].to_canonical(r.value) for r in totals)
        previous = power.get(batch.meter_id)
        if previous is not None and previous[4] > from_micros(last):
            return
        place = self.territory.placement(batch.meter_id)
        direction = DIRECTION_FROM_PB[instants[0].direction].value
        power[batch.meter_id] = (
            batch.meter_id,
            place.iris if place else None,
            direction,
            watts,
            from_micros(last),
        )

    def _placements(
        self, stored: Sequence[ReadingBatchMessage]
    ) -> list[tuple[Any, ...]]:
        """One agg_meters row per meter of the batch (its energy and placement)."""
        rows: dict[str, tuple[Any, ...]] = {}
        for batch in stored:
            meter = batch.meter_id
            if meter in rows:
                continue
            place = self.territory.placement(meter)
            energy = ENERGY_FROM_PB[batch.energy].value
            if place is None:
                rows[meter] = (meter, energy, None, None, None, None)
            else:
                rows[meter] = (
                    meter, energy, place.building_id, place.parcel_idu, place.iris,
                    place.commune_insee,
                )  # fmt: skip
        return list(rows.values())

    async def _roll_up(
        self, conn: asyncpg.Connection, stored: Sequence[ReadingBatchMessage]
    ) -> int:
        """Stored changes -> per-meter totals -> rollups; returns the contributions."""
        await conn.execute(rollups.TABLES)
        await conn.copy_records_to_table(
            "agg_meters",
            records=self._placements(stored),
            columns=rollups.METER_COLUMNS,
        )
        await conn.execute(rollups.SIDES)
        await conn.execute(rollups.ANALYZE_SIDES)
        contributions = 0
        contributions += _count(await conn.execute(rollups.DAYS))
        await conn.execute(rollups.ANALYZE_DAYS)
        contributions += _count(await conn.execute(rollups.SUB_DAILY))
        if await conn.fetchval(rollups.UNCOVERED):
            await conn.execute(rollups.LOOKUP)
        for statement in (rollups.SUB_DAILY_SCOPE, rollups.MONTHS):
            contributions += _count(await conn.execute(statement))
        if contributions:
            await conn.execute(rollups.APPLY)
            if await conn.fetchval(recompute.PENDING):
                for statement in recompute.RECOMPUTE:
                    await conn.execute(statement)
        return contributions

    async def write(self, pool: asyncpg.Pool, values: Sequence[bytes]) -> BatchResult:
        """:meth:`process`, isolating records PostgreSQL refuses as data.

        A data or constraint error fails the whole transaction; retrying it would
        stall every partition behind one record. The batch is then written record
        by record, and each record refused alone becomes a dead letter with
        PostgreSQL's reason. Other errors (connection lost, deadlock) propagate:
        the caller retries the batch.
        """
        try:
            async with pool.acquire() as conn:
                return await self.process(conn, values)
        except PERMANENT_DB_ERRORS:
            logger.warning("a batch of %d records was refused; isolating", len(values))
        result = BatchResult(records=len(values))
        for value in values:
            try:
                async with pool.acquire() as conn:
                    one = await self.process(conn, [value])
            except PERMANENT_DB_ERRORS as exc:
                result.dead.append(
                    (f"refused by PostgreSQL: {exc}", type(exc).__name__, value)
                )
                continue
            result.readings_changed += one.readings_changed
            result.rollup_changes += one.rollup_changes
            result.power_updates += one.power_updates
            result.dead += one.dead
            result.produced_at_us += one.produced_at_us
        return result

    async def process(
        self, conn: asyncpg.Connection, values: Sequence[bytes]
    ) -> BatchResult:
        """Writes one batch of records in one transaction; returns what happened."""
        result = BatchResult(records=len(values))
        stored, last_power = self._split(values, result)
        power_rows = list(last_power.values())
        async with conn.transaction():
            await conn.execute(f"SET LOCAL work_mem = '{self.work_mem}'")
            if stored:
                result.readings_changed = await self.store.write(conn, stored)
            if result.readings_changed:
                result.rollup_changes = await self._roll_up(conn, stored)
            if power_rows:
                await conn.execute(power.STAGING)
                await conn.copy_records_to_table("agg_power", records=power_rows)
                await conn.execute(power.UPSERT)
                result.power_updates = len(power_rows)
        return result
