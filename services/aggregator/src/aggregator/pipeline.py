"""One database transaction per batch of Kafka records (cut into transactions of at
most ``max_readings`` readings, :func:`chunks`): the aggregator's write path.

Per batch of ReadingBatch records (``process``):

* undecodable or invalid records become dead letters (never an exception);
* INSTANT readings (1 Hz power) are NOT stored raw: only the last value per meter
  and direction is kept (``aggregator_meter_power``), for live load and congestion;
* every other reading goes through :meth:`ReadingStore.write` (COPY + set-based
  upsert); the changes it leaves in the transaction then update the per-point
  day/month totals and the scope rollups, all in SQL (:mod:`aggregator.rollups`):
  no per-reading object ever comes back to Python.

All of it commits in ONE transaction; Faust acknowledges the records only after
``process`` returns, so a crash replays them and the store makes the replay a no-op.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from aggregator import power, recompute, rollups
from aggregator.territory import Territory
from energy_core.domain.time import from_micros, to_micros
from energy_core.errors import PayloadInvalidError
from energy_core.wire import (
    DIRECTION_FROM_PB,
    ENERGY_FROM_PB,
    KIND_FROM_PB,
    KIND_INSTANT,
    KIND_INTERVAL,
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


_POWER_CHANNELS = frozenset({"", "l1", "l2", "l3"})
"""Channels of a live power: the total, or the phases when no total was sent."""


def _count(status: str) -> int:
    """Rows of a command status such as ``INSERT 0 42``."""
    return int(status.rsplit(" ", 1)[-1])


_LONG_US = 20 * 3600 * 1_000_000
"""A reading this long is a day or a month (a Paris day lasts 23 to 25 hours)."""


def chunks(values: Sequence[bytes], max_readings: int) -> list[list[bytes]]:
    """A batch cut into transactions of at most ``max_readings`` readings: records
    of live power first, then of days and months, then the rest.

    A backfill's batch holds a few thousand records of a year of days or a week
    of half-hours each (over a million readings): one transaction for all of it
    kept every result invisible until the slowest part committed (measured: the
    demo's last year of daily data waited 50 s behind curves in the same batch).
    Days first is what the dashboards show first, their energy (electricity's
    days, gas days, months) before a day's maximum power (as many readings, shown
    only in a resident's detail: the demo's gas waited behind a year of it); live power goes before them
    (measured: behind a backfill's 40 s batch the demo's live load went stale
    and the operator page showed none). The order changes only between
    records of different series (a series is daily or not), so each series keeps
    its order; the rollups are deltas, correct in any order of arrival. An
    undecodable record goes first: it only becomes a dead letter.
    """
    total = 0
    keyed: list[tuple[int, int, bytes]] = []
    for value in values:
        try:
            batch = decode_batch(value)
        except PayloadInvalidError:
            keyed.append((0, 0, value))
            continue
        n = len(batch.readings)
        total += n
        first = batch.readings[0] if n else None
        if first is not None and first.kind == KIND_INSTANT:
            rank = 0  # live power: its neighbourhood's load must not go stale
        elif first is not None and first.end_us - first.start_us >= _LONG_US:
            # energy of days, gas days and months; then a day's max power
            rank = 1 if first.kind == KIND_INTERVAL else 2
        else:
            rank = 3
        keyed.append((rank, n, value))
    if total <= max_readings:
        return [list(values)]
    keyed.sort(key=lambda k: k[0])  # stable: each series keeps its order
    out: list[list[bytes]] = [[]]
    size = 0
    for _, n, value in keyed:
        if out[-1] and size + n > max_readings:
            out.append([])
            size = 0
        out[-1].append(value)
        size += n
    return out


class Pipeline:
    """Holds the series cache and the territory; processes batches of raw values."""

    def __init__(
        self,
        territory: Territory,
        *,
        work_mem_mb: int = 256,
        max_readings: int = 150_000,
    ) -> None:
        self.territory = territory
        self.max_readings = max_readings
        self.store = ReadingStore()
        self.work_mem = f"{int(work_mem_mb)}MB"

    def _split(
        self, values: Sequence[bytes], result: BatchResult
    ) -> tuple[list[ReadingBatchMessage], list[tuple[Any, ...]]]:
        stored: list[ReadingBatchMessage] = []
        instants_of: dict[tuple[str, Any], list[ReadingMessage]] = {}
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
            for r in instants:
                instants_of.setdefault((batch.meter_id, r.direction), []).append(r)
            if len(instants) == len(batch.readings):
                continue
            if instants:
                kept = ReadingBatchMessage()
                kept.CopyFrom(batch)
                del kept.readings[:]
                kept.readings.extend(r for r in batch.readings if r.kind != instant)
                batch = kept
            stored.append(batch)
        return stored, self._power_rows(instants_of)

    def _power_rows(
        self, instants_of: dict[tuple[str, Any], list[ReadingMessage]]
    ) -> list[tuple[Any, ...]]:
        """agg_power rows: each (meter, direction)'s power at its last instant."""
        power = [
            self._last_power(meter, direction, readings)
            for (meter, direction), readings in sorted(instants_of.items())
        ]
        return [row for row in power if row is not None]

    async def write_power(self, pool: asyncpg.Pool, values: Sequence[bytes]) -> int:
        """Only the live power of these records (their INSTANT readings), in one
        short transaction; returns the (meter, direction) powers written.

        The live consumer's path (:mod:`aggregator.live_power`). Records that do
        not decode are skipped: the readings agent sees them too and dead-letters
        them. The upsert keeps the newest power, so this path and the agent's may
        write the same gauges in any order.
        """
        instants_of: dict[tuple[str, Any], list[ReadingMessage]] = {}
        for value in values:
            try:
                batch = decode_batch(value)
                _check(batch)
            except PayloadInvalidError:
                continue
            for r in batch.readings:
                if r.kind == KIND_INSTANT:
                    instants_of.setdefault((batch.meter_id, r.direction), []).append(r)
        rows = self._power_rows(instants_of)
        if rows:
            async with pool.acquire() as conn, conn.transaction():
                await _upsert_power(conn, rows)
        return len(rows)

    def _last_power(
        self, meter: str, direction: Any, instants: list[ReadingMessage]
    ) -> tuple[Any, ...] | None:
        """The meter's power in ONE direction at its last instant in the batch.

        Gathered over the whole batch per (meter, direction), so the order of the
        readings and records does not matter, and a device measuring both
        directions (FLM03 ``pplus``/``pminus`` per phase, a PV sensor) keeps an
        import and an export: they are never added together nor labelled with the
        direction of whichever reading came first. A three-phase home sends its
        phases (channels ``l1``..``l3``) and their sum (channel ``""``): the sum is
        used when present, else the phases present are added (one value per phase;
        other channels such as ``net`` are derived and never added).
        """
        last = max(r.start_us for r in instants)
        at_last = [r for r in instants if r.start_us == last]
        watts_of: dict[str, float] = {}
        for r in at_last:
            if r.channel not in _POWER_CHANNELS:
                continue
            watts = UNIT_FROM_PB[r.unit].to_canonical(r.value)
            watts_of[r.channel] = max(watts, watts_of.get(r.channel, watts))
        if not watts_of:
            return None
        total = watts_of[""] if "" in watts_of else sum(watts_of.values())
        place = self.territory.placement(meter)
        point = meter if place is None else place.point
        anchor = self.territory.placement(point) if point else None
        anchor = anchor or place  # the point's neighbourhood, as for the rollups
        return (
            meter,
            point,
            anchor.iris if anchor else None,
            DIRECTION_FROM_PB[direction].value,
            total,
            from_micros(last),
        )

    def _placements(self, meters: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """agg_meters rows: each meter of the batch with the delivery point it counts
        for and that point's placement; for a point with devices, also the point and
        ALL its devices (the precedence reads their readings back).

        A meter the registry does not know counts as its own point, unplaced (its
        day rows are kept, no rollup sees it); an unattached device counts nowhere.
        """
        rows: dict[str, tuple[Any, ...]] = {}
        territory = self.territory

        def add(meter: str, energy: str) -> None:
            if meter in rows:
                return
            place = territory.placement(meter)
            if place is None:
                rows[meter] = (
                    meter,
                    meter,
                    False,
                    False,
                    energy,
                    None,
                    None,
                    None,
                    None,
                )
                return
            point = place.point
            if point is None:
                rows[meter] = (meter, None, True, False, energy, None, None, None, None)
                return
            anchor = territory.placement(point) or place
            shared = point in territory.devices
            rows[meter] = (
                meter, point, place.is_device, shared, energy, anchor.building_id,
                anchor.parcel_idu, anchor.iris, anchor.commune_insee,
            )  # fmt: skip
            if shared:
                add(point, energy)
                for device in sorted(territory.devices[point]):
                    add(device, energy)

        for meter, energy in meters:
            add(meter, energy)
        return list(rows.values())

    async def roll_up(
        self, conn: asyncpg.Connection, meters: Iterable[tuple[str, str]]
    ) -> int:
        """Stored changes (``sen1_changes``) of these (meter, energy) -> per-point
        totals -> rollups; returns the contributions."""
        await conn.execute(rollups.TABLES)
        placements = self._placements(meters)
        await conn.copy_records_to_table(
            "agg_meters", records=placements, columns=rollups.METER_COLUMNS
        )
        shared = any(row[3] for row in placements)  # a point with devices
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
        if shared:  # never on the PRM-only path (backfills of settled data)
            await conn.execute(rollups.SHARED)
            if await conn.fetchval(rollups.SHARED_PENDING):
                await conn.execute(rollups.ANALYZE_SHARED)
                contributions += _count(await conn.execute(rollups.SHARED_SCOPE))
        if contributions:
            await conn.execute(rollups.APPLY)
            if await conn.fetchval(recompute.PENDING):
                for statement in recompute.RECOMPUTE:
                    await conn.execute(statement)
        return contributions

    async def write(self, pool: asyncpg.Pool, values: Sequence[bytes]) -> BatchResult:
        """:meth:`write_chunk` for each chunk of :func:`chunks` (one transaction
        each), merged: the caller acknowledges the whole batch after the last one
        committed, so a crash in between replays chunks the store turns into no-ops.
        """
        parts = chunks(values, self.max_readings)
        if len(parts) == 1:
            return await self.write_chunk(pool, parts[0])
        result = BatchResult()
        for part in parts:
            one = await self.write_chunk(pool, part)
            result.records += one.records
            result.readings_changed += one.readings_changed
            result.rollup_changes += one.rollup_changes
            result.power_updates += one.power_updates
            result.dead += one.dead
            result.produced_at_us += one.produced_at_us
        return result

    async def write_chunk(
        self, pool: asyncpg.Pool, values: Sequence[bytes]
    ) -> BatchResult:
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
        stored, power_rows = self._split(values, result)
        async with conn.transaction():
            await conn.execute(f"SET LOCAL work_mem = '{self.work_mem}'")
            if stored:
                result.readings_changed = await self.store.write(conn, stored)
            if result.readings_changed:
                result.rollup_changes = await self.roll_up(
                    conn,
                    ((b.meter_id, ENERGY_FROM_PB[b.energy].value) for b in stored),
                )
            if power_rows:
                await _upsert_power(conn, power_rows)
                result.power_updates = len(power_rows)
        return result


async def _upsert_power(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Each meter's last power into ``aggregator_meter_power`` (newest wins)."""
    await conn.execute(power.STAGING)
    await conn.copy_records_to_table("agg_power", records=rows)
    await conn.execute(power.UPSERT)
