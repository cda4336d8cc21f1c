"""One database transaction per batch of Kafka records: the aggregator's write path.

Per batch of ReadingBatch records (``process``):

* undecodable or invalid records become dead letters (never an exception);
* INSTANT readings (1 Hz power) are NOT stored raw: only the last value per meter
  is kept (``aggregator_meter_power``), for live load and congestion;
* every other reading goes through ``ReadingStore.upsert`` (COPY + set-based
  upsert returning old and new values); the INTERVAL energy/volume changes then
  update the per-meter buckets and the scope rollups (:mod:`aggregator.rollups`).

All of it commits in ONE transaction; Faust acknowledges the records only after
``process`` returns, so a crash replays them and the store makes the replay a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from aggregator import rollups
from aggregator.tables import Territory
from energy_core._pb.energy.metering.v1 import readings_pb2 as pb
from energy_core.domain.readings import Kind
from energy_core.domain.time import from_micros
from energy_core.domain.units import Dimension
from energy_core.errors import PayloadInvalidError
from energy_core.wire import (
    DIRECTION_FROM_PB,
    ENERGY_FROM_PB,
    KIND_FROM_PB,
    QUALITY_FROM_PB,
    SCHEME_FROM_PB,
    UNIT_FROM_PB,
    decode_batch,
)
from energy_store.readings import ReadingStore

_UNIT_OF = {Dimension.ENERGY: "Wh", Dimension.VOLUME: "m3"}


@dataclass
class BatchResult:
    """What one transaction did (for metrics, logs and tests)."""

    records: int = 0
    readings_changed: int = 0
    rollup_changes: int = 0
    power_updates: int = 0
    dead: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(reason, error type, original bytes) of refused records."""
    produced_at_us: list[int] = field(default_factory=list)


def _check(batch: pb.ReadingBatch) -> None:
    """Cheap validation of what the store relies on (raises PayloadInvalidError)."""
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
            or r.end_us < r.start_us
        ):
            raise PayloadInvalidError("invalid reading (enum or interval)")


class Pipeline:
    """Holds the series cache and the territory; processes batches of raw values."""

    def __init__(self, territory: Territory) -> None:
        self.territory = territory
        self.store = ReadingStore()

    def _split(
        self, values: Sequence[bytes], result: BatchResult
    ) -> tuple[list[pb.ReadingBatch], dict[str, tuple[Any, ...]], dict[str, str]]:
        stored: list[pb.ReadingBatch] = []
        power: dict[str, tuple[Any, ...]] = {}
        energy_of: dict[str, str] = {}
        instant = pb.KIND_INSTANT
        for value in values:
            try:
                batch = decode_batch(value)
                _check(batch)
            except PayloadInvalidError as exc:
                result.dead.append((str(exc), type(exc).__name__, value))
                continue
            result.produced_at_us.append(batch.produced_at_us)
            energy_of[batch.meter_id] = ENERGY_FROM_PB[batch.energy].value
            instants = [r for r in batch.readings if r.kind == instant]
            if instants:
                self._last_power(batch, instants, power)
            if len(instants) == len(batch.readings):
                continue
            if instants:
                kept = pb.ReadingBatch()
                kept.CopyFrom(batch)
                del kept.readings[:]
                kept.readings.extend(r for r in batch.readings if r.kind != instant)
                batch = kept
            stored.append(batch)
        return stored, power, energy_of

    def _last_power(
        self,
        batch: pb.ReadingBatch,
        instants: list[pb.Reading],
        power: dict[str, tuple[Any, ...]],
    ) -> None:
        """Last instant of the batch; its channels (phases) summed."""
        last = max(r.start_us for r in instants)
        watts = sum(
            UNIT_FROM_PB[r.unit].to_canonical(r.value)
            for r in instants
            if r.start_us == last
        )
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

    async def process(
        self, conn: asyncpg.Connection, values: Sequence[bytes]
    ) -> BatchResult:
        """Writes one batch of records in one transaction; returns what happened."""
        result = BatchResult(records=len(values))
        stored, power, energy_of = self._split(values, result)
        async with conn.transaction():
            if stored:
                changes = await self.store.upsert(conn, stored)
                result.readings_changed = len(changes)
                rows = []
                for c in changes:
                    key = self.store.key_of(c.series_id)
                    unit = _UNIT_OF.get(key.dimension)
                    if key.kind is not Kind.INTERVAL or unit is None:
                        continue
                    place = self.territory.placement(key.meter)
                    rows.append((
                        key.meter, energy_of.get(key.meter, "electricity"),
                        key.direction.value, unit,
                        place.building_id if place else None,
                        place.parcel_idu if place else None,
                        place.iris if place else None,
                        place.commune_insee if place else None,
                        c.start, c.end, c.quality, c.value, c.old_quality, c.old_value,
                    ))  # fmt: skip
                if rows:
                    await conn.execute(rollups.STAGING)
                    await conn.copy_records_to_table(
                        "agg_changes", records=rows, columns=rollups.CHANGE_COLUMNS
                    )
                    await conn.execute(rollups.APPLY_CHANGES)
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock($1)", rollups.ROLLUP_LOCK
                    )
                    for statement in rollups.RECOMPUTE:
                        await conn.execute(statement)
                    result.rollup_changes = len(rows)
            if power:
                await conn.execute(rollups.POWER_STAGING)
                await conn.copy_records_to_table(
                    "agg_power", records=list(power.values())
                )
                await conn.execute(rollups.UPSERT_POWER)
                result.power_updates = len(power)
        return result
