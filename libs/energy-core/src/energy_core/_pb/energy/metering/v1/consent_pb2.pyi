from energy_core._pb.energy.metering.v1 import readings_pb2 as _readings_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_CHANGE_UNSPECIFIED: _ClassVar[ConsentChange]
    CONSENT_CHANGE_GRANTED: _ClassVar[ConsentChange]
    CONSENT_CHANGE_REVOKED: _ClassVar[ConsentChange]
    CONSENT_CHANGE_EXPIRED: _ClassVar[ConsentChange]
CONSENT_CHANGE_UNSPECIFIED: ConsentChange
CONSENT_CHANGE_GRANTED: ConsentChange
CONSENT_CHANGE_REVOKED: ConsentChange
CONSENT_CHANGE_EXPIRED: ConsentChange

class ConsentEvent(_message.Message):
    __slots__ = ("meter_id", "scheme", "change", "consent_id", "source", "occurred_at_us", "reason")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_US_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    scheme: _readings_pb2.MeterScheme
    change: ConsentChange
    consent_id: str
    source: _readings_pb2.Source
    occurred_at_us: int
    reason: str
    def __init__(self, meter_id: _Optional[str] = ..., scheme: _Optional[_Union[_readings_pb2.MeterScheme, str]] = ..., change: _Optional[_Union[ConsentChange, str]] = ..., consent_id: _Optional[str] = ..., source: _Optional[_Union[_readings_pb2.Source, str]] = ..., occurred_at_us: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
