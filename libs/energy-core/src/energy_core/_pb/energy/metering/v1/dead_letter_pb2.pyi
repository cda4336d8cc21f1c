from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DeadLetter(_message.Message):
    __slots__ = ("service", "reason", "error_type", "origin", "payload", "occurred_at_us")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_US_FIELD_NUMBER: _ClassVar[int]
    service: str
    reason: str
    error_type: str
    origin: str
    payload: bytes
    occurred_at_us: int
    def __init__(self, service: _Optional[str] = ..., reason: _Optional[str] = ..., error_type: _Optional[str] = ..., origin: _Optional[str] = ..., payload: _Optional[bytes] = ..., occurred_at_us: _Optional[int] = ...) -> None: ...
