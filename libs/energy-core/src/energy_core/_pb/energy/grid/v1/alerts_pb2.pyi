from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_CHANGE_UNSPECIFIED: _ClassVar[AlertChange]
    ALERT_CHANGE_RAISED: _ClassVar[AlertChange]
    ALERT_CHANGE_ESCALATED: _ClassVar[AlertChange]
    ALERT_CHANGE_DEESCALATED: _ClassVar[AlertChange]
    ALERT_CHANGE_CLEARED: _ClassVar[AlertChange]
ALERT_CHANGE_UNSPECIFIED: AlertChange
ALERT_CHANGE_RAISED: AlertChange
ALERT_CHANGE_ESCALATED: AlertChange
ALERT_CHANGE_DEESCALATED: AlertChange
ALERT_CHANGE_CLEARED: AlertChange

class AlertEvent(_message.Message):
    __slots__ = ("alert_id", "iris", "change", "level", "previous_level", "load_kw", "capacity_kw", "occurred_at_us")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    IRIS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_LEVEL_FIELD_NUMBER: _ClassVar[int]
    LOAD_KW_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KW_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_US_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    iris: str
    change: AlertChange
    level: int
    previous_level: int
    load_kw: float
    capacity_kw: float
    occurred_at_us: int
    def __init__(self, alert_id: _Optional[str] = ..., iris: _Optional[str] = ..., change: _Optional[_Union[AlertChange, str]] = ..., level: _Optional[int] = ..., previous_level: _Optional[int] = ..., load_kw: _Optional[float] = ..., capacity_kw: _Optional[float] = ..., occurred_at_us: _Optional[int] = ...) -> None: ...
