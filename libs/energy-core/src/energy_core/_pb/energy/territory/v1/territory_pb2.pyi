from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Neighbourhood(_message.Message):
    __slots__ = ("iris", "commune_insee", "name", "capacity_kw")
    IRIS_FIELD_NUMBER: _ClassVar[int]
    COMMUNE_INSEE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_KW_FIELD_NUMBER: _ClassVar[int]
    iris: str
    commune_insee: str
    name: str
    capacity_kw: float
    def __init__(self, iris: _Optional[str] = ..., commune_insee: _Optional[str] = ..., name: _Optional[str] = ..., capacity_kw: _Optional[float] = ...) -> None: ...

class Parcel(_message.Message):
    __slots__ = ("idu", "commune_insee", "iris")
    IDU_FIELD_NUMBER: _ClassVar[int]
    COMMUNE_INSEE_FIELD_NUMBER: _ClassVar[int]
    IRIS_FIELD_NUMBER: _ClassVar[int]
    idu: str
    commune_insee: str
    iris: str
    def __init__(self, idu: _Optional[str] = ..., commune_insee: _Optional[str] = ..., iris: _Optional[str] = ...) -> None: ...

class Building(_message.Message):
    __slots__ = ("building_id", "parcel_idu", "iris", "commune_insee", "building_type", "surface_m2")
    BUILDING_ID_FIELD_NUMBER: _ClassVar[int]
    PARCEL_IDU_FIELD_NUMBER: _ClassVar[int]
    IRIS_FIELD_NUMBER: _ClassVar[int]
    COMMUNE_INSEE_FIELD_NUMBER: _ClassVar[int]
    BUILDING_TYPE_FIELD_NUMBER: _ClassVar[int]
    SURFACE_M2_FIELD_NUMBER: _ClassVar[int]
    building_id: str
    parcel_idu: str
    iris: str
    commune_insee: str
    building_type: str
    surface_m2: float
    def __init__(self, building_id: _Optional[str] = ..., parcel_idu: _Optional[str] = ..., iris: _Optional[str] = ..., commune_insee: _Optional[str] = ..., building_type: _Optional[str] = ..., surface_m2: _Optional[float] = ...) -> None: ...

class Meter(_message.Message):
    __slots__ = ("meter_id", "scheme", "energy", "building_id", "direction", "sector", "iris", "parcel_idu", "commune_insee", "delivery_point_id")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    BUILDING_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    IRIS_FIELD_NUMBER: _ClassVar[int]
    PARCEL_IDU_FIELD_NUMBER: _ClassVar[int]
    COMMUNE_INSEE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    scheme: str
    energy: str
    building_id: str
    direction: str
    sector: str
    iris: str
    parcel_idu: str
    commune_insee: str
    delivery_point_id: str
    def __init__(self, meter_id: _Optional[str] = ..., scheme: _Optional[str] = ..., energy: _Optional[str] = ..., building_id: _Optional[str] = ..., direction: _Optional[str] = ..., sector: _Optional[str] = ..., iris: _Optional[str] = ..., parcel_idu: _Optional[str] = ..., commune_insee: _Optional[str] = ..., delivery_point_id: _Optional[str] = ...) -> None: ...

class TerritoryEntity(_message.Message):
    __slots__ = ("neighbourhood", "parcel", "building", "meter")
    NEIGHBOURHOOD_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    BUILDING_FIELD_NUMBER: _ClassVar[int]
    METER_FIELD_NUMBER: _ClassVar[int]
    neighbourhood: Neighbourhood
    parcel: Parcel
    building: Building
    meter: Meter
    def __init__(self, neighbourhood: _Optional[_Union[Neighbourhood, _Mapping]] = ..., parcel: _Optional[_Union[Parcel, _Mapping]] = ..., building: _Optional[_Union[Building, _Mapping]] = ..., meter: _Optional[_Union[Meter, _Mapping]] = ...) -> None: ...
