from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MeterScheme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METER_SCHEME_UNSPECIFIED: _ClassVar[MeterScheme]
    METER_SCHEME_PRM: _ClassVar[MeterScheme]
    METER_SCHEME_PCE: _ClassVar[MeterScheme]
    METER_SCHEME_FLUKSO: _ClassVar[MeterScheme]

class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_UNSPECIFIED: _ClassVar[Source]
    SOURCE_ENEDIS_DATACONNECT: _ClassVar[Source]
    SOURCE_ENEDIS_SGE: _ClassVar[Source]
    SOURCE_GRDF_ADICT: _ClassVar[Source]
    SOURCE_FLUKSO: _ClassVar[Source]

class Energy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENERGY_UNSPECIFIED: _ClassVar[Energy]
    ENERGY_ELECTRICITY: _ClassVar[Energy]
    ENERGY_GAS: _ClassVar[Energy]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_CONSUMPTION: _ClassVar[Direction]
    DIRECTION_PRODUCTION: _ClassVar[Direction]

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    KIND_INDEX: _ClassVar[Kind]
    KIND_INTERVAL: _ClassVar[Kind]
    KIND_INSTANT: _ClassVar[Kind]
    KIND_MAXIMUM: _ClassVar[Kind]

class Unit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNIT_UNSPECIFIED: _ClassVar[Unit]
    UNIT_WH: _ClassVar[Unit]
    UNIT_KWH: _ClassVar[Unit]
    UNIT_W: _ClassVar[Unit]
    UNIT_KW: _ClassVar[Unit]
    UNIT_VA: _ClassVar[Unit]
    UNIT_KVA: _ClassVar[Unit]
    UNIT_M3: _ClassVar[Unit]
    UNIT_L: _ClassVar[Unit]

class Quality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUALITY_UNSPECIFIED: _ClassVar[Quality]
    QUALITY_RAW: _ClassVar[Quality]
    QUALITY_CORRECTED: _ClassVar[Quality]
    QUALITY_ESTIMATED: _ClassVar[Quality]

class Stamp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAMP_UNSPECIFIED: _ClassVar[Stamp]
    STAMP_START: _ClassVar[Stamp]
    STAMP_END: _ClassVar[Stamp]
    STAMP_INSTANT: _ClassVar[Stamp]
METER_SCHEME_UNSPECIFIED: MeterScheme
METER_SCHEME_PRM: MeterScheme
METER_SCHEME_PCE: MeterScheme
METER_SCHEME_FLUKSO: MeterScheme
SOURCE_UNSPECIFIED: Source
SOURCE_ENEDIS_DATACONNECT: Source
SOURCE_ENEDIS_SGE: Source
SOURCE_GRDF_ADICT: Source
SOURCE_FLUKSO: Source
ENERGY_UNSPECIFIED: Energy
ENERGY_ELECTRICITY: Energy
ENERGY_GAS: Energy
DIRECTION_UNSPECIFIED: Direction
DIRECTION_CONSUMPTION: Direction
DIRECTION_PRODUCTION: Direction
KIND_UNSPECIFIED: Kind
KIND_INDEX: Kind
KIND_INTERVAL: Kind
KIND_INSTANT: Kind
KIND_MAXIMUM: Kind
UNIT_UNSPECIFIED: Unit
UNIT_WH: Unit
UNIT_KWH: Unit
UNIT_W: Unit
UNIT_KW: Unit
UNIT_VA: Unit
UNIT_KVA: Unit
UNIT_M3: Unit
UNIT_L: Unit
QUALITY_UNSPECIFIED: Quality
QUALITY_RAW: Quality
QUALITY_CORRECTED: Quality
QUALITY_ESTIMATED: Quality
STAMP_UNSPECIFIED: Stamp
STAMP_START: Stamp
STAMP_END: Stamp
STAMP_INSTANT: Stamp

class Reading(_message.Message):
    __slots__ = ("kind", "unit", "start_us", "end_us", "value", "quality", "direction", "channel")
    KIND_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    START_US_FIELD_NUMBER: _ClassVar[int]
    END_US_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    unit: Unit
    start_us: int
    end_us: int
    value: float
    quality: Quality
    direction: Direction
    channel: str
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., unit: _Optional[_Union[Unit, str]] = ..., start_us: _Optional[int] = ..., end_us: _Optional[int] = ..., value: _Optional[float] = ..., quality: _Optional[_Union[Quality, str]] = ..., direction: _Optional[_Union[Direction, str]] = ..., channel: _Optional[str] = ...) -> None: ...

class ReadingBatch(_message.Message):
    __slots__ = ("meter_id", "scheme", "source", "energy", "stamped", "readings", "produced_at_us", "batch_id")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    STAMPED_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    PRODUCED_AT_US_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    scheme: MeterScheme
    source: Source
    energy: Energy
    stamped: Stamp
    readings: _containers.RepeatedCompositeFieldContainer[Reading]
    produced_at_us: int
    batch_id: str
    def __init__(self, meter_id: _Optional[str] = ..., scheme: _Optional[_Union[MeterScheme, str]] = ..., source: _Optional[_Union[Source, str]] = ..., energy: _Optional[_Union[Energy, str]] = ..., stamped: _Optional[_Union[Stamp, str]] = ..., readings: _Optional[_Iterable[_Union[Reading, _Mapping]]] = ..., produced_at_us: _Optional[int] = ..., batch_id: _Optional[str] = ...) -> None: ...
