"""Domain <-> protobuf conversion for the topics in the registry.

Two paths: :func:`batch_to_proto` / :func:`batch_from_proto` go through validated
domain objects (ingest edges, tests); hot consumers may decode with
:func:`decode_batch` and read the protobuf directly, because the producer already
validated every reading.

This module is the only door to the generated code: nobody outside energy_core
imports ``energy_core._pb`` (an import contract), so regenerating the protobuf
modules or changing a schema touches one file. What services need of the messages
themselves (the message types for annotations, the few enum values they test,
decoders and builders of the grid and territory topics) is named here.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from energy_core._pb.energy.grid.v1 import alerts_pb2
from energy_core._pb.energy.metering.v1 import (
    consent_pb2,
    dead_letter_pb2,
    readings_pb2,
)
from energy_core._pb.energy.territory.v1 import territory_pb2
from energy_core.domain.ids import MeterScheme, meter_id
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    RowsBatch,
    Source,
    Stamp,
)
from energy_core.domain.time import from_micros, to_micros
from energy_core.domain.units import Unit
from energy_core.errors import PayloadInvalidError

pb = readings_pb2

ReadingBatchMessage = readings_pb2.ReadingBatch
"""A batch as it travels on the readings topic (what :func:`decode_batch` returns)."""
ReadingMessage = readings_pb2.Reading
KIND_INSTANT = readings_pb2.KIND_INSTANT
KIND_INTERVAL = readings_pb2.KIND_INTERVAL
SCHEME_PRM = readings_pb2.METER_SCHEME_PRM
SOURCE_ENEDIS_DATACONNECT = readings_pb2.SOURCE_ENEDIS_DATACONNECT

AlertEvent = alerts_pb2.AlertEvent
"""A congestion alert change on the grid alerts topic."""
ALERT_CHANGES = {
    "raised": alerts_pb2.ALERT_CHANGE_RAISED,
    "escalated": alerts_pb2.ALERT_CHANGE_ESCALATED,
    "deescalated": alerts_pb2.ALERT_CHANGE_DEESCALATED,
    "cleared": alerts_pb2.ALERT_CHANGE_CLEARED,
}
"""Change name (as stored in ``alert_events.change``) -> wire enum."""

TerritoryEntity = territory_pb2.TerritoryEntity
"""One record of the compacted territory topic (a oneof of the four entities)."""

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_KIND = {
    Kind.INDEX: pb.KIND_INDEX,
    Kind.INTERVAL: pb.KIND_INTERVAL,
    Kind.INSTANT: pb.KIND_INSTANT,
    Kind.MAXIMUM: pb.KIND_MAXIMUM,
}
_UNIT = {
    Unit.WH: pb.UNIT_WH,
    Unit.KWH: pb.UNIT_KWH,
    Unit.W: pb.UNIT_W,
    Unit.KW: pb.UNIT_KW,
    Unit.VA: pb.UNIT_VA,
    Unit.KVA: pb.UNIT_KVA,
    Unit.M3: pb.UNIT_M3,
    Unit.L: pb.UNIT_L,
}
_QUALITY = {
    Quality.RAW: pb.QUALITY_RAW,
    Quality.CORRECTED: pb.QUALITY_CORRECTED,
    Quality.ESTIMATED: pb.QUALITY_ESTIMATED,
}
_DIRECTION = {
    Direction.CONSUMPTION: pb.DIRECTION_CONSUMPTION,
    Direction.PRODUCTION: pb.DIRECTION_PRODUCTION,
}
_SCHEME = {
    MeterScheme.PRM: pb.METER_SCHEME_PRM,
    MeterScheme.PCE: pb.METER_SCHEME_PCE,
    MeterScheme.FLUKSO: pb.METER_SCHEME_FLUKSO,
}
_SOURCE = {
    Source.ENEDIS_DATACONNECT: pb.SOURCE_ENEDIS_DATACONNECT,
    Source.ENEDIS_SGE: pb.SOURCE_ENEDIS_SGE,
    Source.GRDF_ADICT: pb.SOURCE_GRDF_ADICT,
    Source.FLUKSO: pb.SOURCE_FLUKSO,
}
_ENERGY = {Energy.ELECTRICITY: pb.ENERGY_ELECTRICITY, Energy.GAS: pb.ENERGY_GAS}
_STAMP = {
    Stamp.START: pb.STAMP_START,
    Stamp.END: pb.STAMP_END,
    Stamp.INSTANT: pb.STAMP_INSTANT,
}


def _inverse(mapping: dict[K, V]) -> dict[V, K]:
    return {v: k for k, v in mapping.items()}


KIND_FROM_PB = _inverse(_KIND)
UNIT_FROM_PB = _inverse(_UNIT)
QUALITY_FROM_PB = _inverse(_QUALITY)
DIRECTION_FROM_PB = _inverse(_DIRECTION)
SCHEME_FROM_PB = _inverse(_SCHEME)
SOURCE_FROM_PB = _inverse(_SOURCE)
ENERGY_FROM_PB = _inverse(_ENERGY)
STAMP_FROM_PB = _inverse(_STAMP)


def reading_to_proto(reading: Reading) -> readings_pb2.Reading:
    """One validated reading -> protobuf."""
    return pb.Reading(
        kind=_KIND[reading.kind],
        unit=_UNIT[reading.unit],
        start_us=to_micros(reading.start),
        end_us=to_micros(reading.end),
        value=reading.value,
        quality=_QUALITY[reading.quality],
        direction=_DIRECTION[reading.direction],
        channel=reading.channel,
    )


def _header(batch: ReadingBatch | RowsBatch) -> readings_pb2.ReadingBatch:
    """A batch's message without its readings (both encoders start from it);
    ``produced_at`` defaults to now."""
    produced = (
        to_micros(batch.produced_at)
        if batch.produced_at is not None
        else time.time_ns() // 1000
    )
    return pb.ReadingBatch(
        meter_id=str(batch.meter),
        scheme=_SCHEME[batch.meter.scheme],
        source=_SOURCE[batch.source],
        energy=_ENERGY[batch.energy],
        stamped=_STAMP[batch.stamped],
        produced_at_us=produced,
        batch_id=batch.batch_id,
    )


def batch_to_proto(batch: ReadingBatch) -> readings_pb2.ReadingBatch:
    """A validated batch -> protobuf; ``produced_at`` defaults to now."""
    message = _header(batch)
    message.readings.extend(reading_to_proto(r) for r in batch.readings)
    return message


_CACHE_MAX = 1 << 14
_START_TAGS: dict[int, bytes] = {}
_END_TAGS: dict[int, bytes] = {}
_DOUBLE = struct.Struct("<d").pack


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative int64 as its 10-byte two's complement."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _stamp_field(cache: dict[int, bytes], tag: bytes, micros: int) -> bytes:
    """``tag + varint(micros)``, remembered: a file's PRMs share their stamps."""
    encoded = cache.get(micros)
    if encoded is None:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        encoded = cache[micros] = tag + _varint(micros)
    return encoded


def rows_to_proto(batch: RowsBatch) -> readings_pb2.ReadingBatch:
    """A validated :class:`RowsBatch` -> the same wire record as :func:`batch_to_proto`.

    The bulk path (why it exists: building one message object per reading was
    the largest cost of parsing a flux file): the readings are encoded straight
    to protobuf bytes — what a series shares (kind, unit, direction, channel)
    once per series, stamps remembered across batches — and the batch is parsed
    once by the C protobuf runtime. Field numbers are those of
    ``energy/metering/v1/readings.proto``; the wire tests check the result
    equals :func:`batch_to_proto` of the same readings.
    """
    header = _header(batch).SerializeToString()
    parts = [header]
    append = parts.append
    starts, ends, double, join = _START_TAGS, _END_TAGS, _DOUBLE, b"".join
    qualities = {q: b"\x30" + _varint(v) for q, v in _QUALITY.items()}
    for series in batch.series:
        # field 1 kind, 2 unit (varints)
        head = (
            b"\x08"
            + _varint(_KIND[series.kind])
            + b"\x10"
            + _varint(_UNIT[series.unit])
        )
        # field 7 direction, 8 channel (length-delimited)
        channel = series.channel.encode("ascii")
        tail = b"\x38" + _varint(_DIRECTION[series.direction])
        if channel:
            tail += b"\x42" + _varint(len(channel)) + channel
        for start, end, value, quality in series.rows:
            s = starts.get(start) or _stamp_field(starts, b"\x18", start)  # 3 start_us
            e = ends.get(end) or _stamp_field(ends, b"\x20", end)  # 4 end_us
            # 5 value (fixed64 double), 6 quality
            body = join((head, s, e, b"\x29", double(value), qualities[quality], tail))
            size = len(body)
            append(b"\x32" + (bytes((size,)) if size < 0x80 else _varint(size)) + body)
    message = pb.ReadingBatch()
    message.ParseFromString(join(parts))
    return message


STAMP_INSTANT = pb.STAMP_INSTANT


def peek_stamp(data: bytes) -> int:
    """The ``stamped`` field of a serialized ReadingBatch, without decoding its
    readings (0 when absent or unreadable).

    Why: a consumer that wants only live records (stamped INSTANT) would
    otherwise decode every backfill record, a year of readings each. Serializers
    write fields in number order, so ``stamped`` (5) comes before ``readings``
    (6); the scan stops there.
    """
    pos, size = 0, len(data)
    try:
        while pos < size:
            key, pos = _read_varint(data, pos)
            field, wire = key >> 3, key & 7
            if field >= 6:
                return 0
            if wire == 0:
                value, pos = _read_varint(data, pos)
                if field == 5:
                    return value
            elif wire == 2:
                length, pos = _read_varint(data, pos)
                pos += length
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                return 0
    except IndexError:
        return 0
    return 0


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """A base-128 varint at ``pos``: (value, next position); IndexError if cut."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _enum(mapping: Mapping[Any, T], value: int, field: str) -> T:
    try:
        return mapping[value]
    except KeyError:
        raise PayloadInvalidError(f"{field}: unknown enum value {value}") from None


def batch_from_proto(message: readings_pb2.ReadingBatch) -> ReadingBatch:
    """Protobuf -> validated domain batch (raises InvalidValueError/PayloadInvalidError)."""
    meter = meter_id(_enum(SCHEME_FROM_PB, message.scheme, "scheme"), message.meter_id)
    readings = tuple(
        Reading(
            kind=_enum(KIND_FROM_PB, r.kind, "kind"),
            unit=_enum(UNIT_FROM_PB, r.unit, "unit"),
            start=from_micros(r.start_us),
            end=from_micros(r.end_us),
            value=r.value,
            quality=_enum(QUALITY_FROM_PB, r.quality, "quality"),
            direction=_enum(DIRECTION_FROM_PB, r.direction, "direction"),
            channel=r.channel,
        )
        for r in message.readings
    )
    return ReadingBatch(
        meter=meter,
        source=_enum(SOURCE_FROM_PB, message.source, "source"),
        energy=_enum(ENERGY_FROM_PB, message.energy, "energy"),
        readings=readings,
        stamped=_enum(STAMP_FROM_PB, message.stamped, "stamped"),
        produced_at=from_micros(message.produced_at_us),
        batch_id=message.batch_id,
    )


def decode_batch(data: bytes) -> readings_pb2.ReadingBatch:
    """Bytes from the readings topic -> protobuf (raises PayloadInvalidError)."""
    message = pb.ReadingBatch()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise PayloadInvalidError(f"not a ReadingBatch: {exc}") from exc
    return message


def dead_letter(
    *,
    service: str,
    origin: str,
    payload: bytes,
    error: BaseException | None = None,
    reason: str = "",
    error_type: str = "",
    occurred_at: datetime | None = None,
) -> dead_letter_pb2.DeadLetter:
    """Builds a dead letter that keeps the original bytes and the reason.

    Give the ``error`` that refused the record (its message is the reason, its
    class the type), or ``reason`` and ``error_type`` when there is no exception.
    """
    if error is not None:
        reason = reason or str(error)
        error_type = error_type or type(error).__name__
    return dead_letter_pb2.DeadLetter(
        service=service,
        reason=reason,
        error_type=error_type,
        origin=origin,
        payload=payload,
        occurred_at_us=(
            to_micros(occurred_at) if occurred_at else time.time_ns() // 1000
        ),
    )


CONSENT_GRANTED = consent_pb2.CONSENT_CHANGE_GRANTED
CONSENT_REVOKED = consent_pb2.CONSENT_CHANGE_REVOKED
CONSENT_EXPIRED = consent_pb2.CONSENT_CHANGE_EXPIRED


def consent_event(
    *,
    meter: str,
    scheme: MeterScheme,
    change: consent_pb2.ConsentChange,
    source: Source,
    occurred_at: datetime,
    consent_ids: Sequence[str] = (),
    reason: str = "",
) -> consent_pb2.ConsentEvent:
    """Builds a consent event (topic ``CONSENT_EVENTS``, key the meter id).

    The id is validated against its scheme (an event never names a malformed
    PRM); several consent ids are joined by commas, as consumers split them.
    """
    return consent_pb2.ConsentEvent(
        meter_id=str(meter_id(scheme, str(meter))),
        scheme=_SCHEME[scheme],
        change=change,
        consent_id=",".join(consent_ids),
        source=_SOURCE[source],
        occurred_at_us=to_micros(occurred_at),
        reason=reason,
    )


ALERT_CHANGE_NAMES = _inverse(ALERT_CHANGES)
"""Wire enum -> change name (``unspecified`` is absent: callers choose the default)."""


def decode_alert(data: bytes) -> alerts_pb2.AlertEvent:
    """Bytes from the grid alerts topic -> AlertEvent (raises PayloadInvalidError)."""
    try:
        return alerts_pb2.AlertEvent.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise PayloadInvalidError(f"not an AlertEvent: {exc}") from exc


def decode_dead_letter(data: bytes) -> dead_letter_pb2.DeadLetter:
    """Bytes from the dead-letter topic -> DeadLetter (raises PayloadInvalidError)."""
    try:
        return dead_letter_pb2.DeadLetter.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise PayloadInvalidError(f"not a DeadLetter: {exc}") from exc


_TERRITORY_KINDS = {
    "neighbourhood": territory_pb2.Neighbourhood,
    "parcel": territory_pb2.Parcel,
    "building": territory_pb2.Building,
    "meter": territory_pb2.Meter,
}


def territory_entity(kind: str, values: Mapping[str, Any]) -> TerritoryEntity:
    """A territory record of ``kind`` (neighbourhood, parcel, building, meter)."""
    try:
        message = _TERRITORY_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown territory entity kind {kind!r}") from None
    return territory_pb2.TerritoryEntity(**{kind: message(**values)})


def decode_territory_entity(data: bytes) -> TerritoryEntity:
    """Bytes from the territory topic -> TerritoryEntity (raises PayloadInvalidError)."""
    message = territory_pb2.TerritoryEntity()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise PayloadInvalidError(f"not a TerritoryEntity: {exc}") from exc
    return message
