"""The demo territory is Échirolles' real IRIS, with parcels generated inside them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from energy_core.domain.readings import Energy
from energy_core.domain.territory import BuildingType
from energy_store import demo

SHARED = Path(demo.__file__).parent / "data" / "iris_38151_2020.geojson"


def test_the_fifteen_real_iris_with_their_names_types_and_contours() -> None:
    territory = demo.build()
    real = {
        f["properties"]["code_iris"]: f
        for f in json.loads(SHARED.read_text())["features"]
    }
    assert len(territory.neighbourhoods) == 15
    for hood in territory.neighbourhoods:
        feature = real[hood.iris]
        assert hood.name == feature["properties"]["nom_iris"]
        assert hood.geometry == feature["geometry"]
    names = {n.iris: n.name for n in territory.neighbourhoods}
    assert names["381510101"] == "Ouest Nord"
    assert names["381510201"] == "Z.A. du Centre"


def test_every_parcel_lies_inside_its_iris_with_a_valid_idu() -> None:
    territory = demo.build()
    rings = {n.iris: n.geometry["coordinates"][0] for n in territory.neighbourhoods}  # type: ignore[index]
    idus = [p.idu for p in territory.parcels]
    assert len(set(idus)) == len(idus)
    for parcel in territory.parcels:
        assert len(parcel.idu) == 14
        assert parcel.idu.startswith("38151000")
        for lon, lat in parcel.geometry["coordinates"][0]:
            assert demo.inside(lon, lat, rings[parcel.iris]), parcel.idu
    assert Counter(p.iris for p in territory.parcels).keys() == rings.keys()


def test_activity_iris_hold_professional_buildings_housing_iris_homes() -> None:
    territory = demo.build()
    activity = {"381510102", "381510201", "381510304"}
    for iris in {n.iris for n in territory.neighbourhoods}:
        kinds = Counter(b.building_type for b in territory.buildings if b.iris == iris)
        residential = kinds[BuildingType.RESIDENTIAL] / sum(kinds.values())
        assert residential == 0 if iris in activity else residential > 0.7, iris
        buildings = {b.building_id for b in territory.buildings if b.iris == iris}
        points = [m for m in territory.meters if m.building_id in buildings
                  and m.is_delivery_point and m.energy is Energy.ELECTRICITY]  # fmt: skip
        assert len(points) >= 10, iris  # every IRIS passes the rule of 10


def test_the_flukso_houses_sit_in_a_small_capacity_housing_iris() -> None:
    territory = demo.build()
    houses = {d.building_id for d in territory.flukso_devices}
    assert len(houses) == 16
    assert {b.iris for b in territory.buildings if b.building_id in houses} == {
        demo.FLUKSO_IRIS
    }
    capacities = {n.iris: n.capacity_kw for n in territory.neighbourhoods}
    assert capacities[demo.FLUKSO_IRIS] == 25.0
    assert all(c >= 50 for i, c in capacities.items() if i != demo.FLUKSO_IRIS)


def test_homes_are_varied_and_include_anomalies() -> None:
    territory = demo.build()
    assert set(territory.homes) == {str(p) for p in territory.prms}
    homes = territory.homes.values()
    assert {h.heating for h in homes} >= {"electric", "gas", "collective"}
    assert {h.anomaly for h in homes} >= {
        None,
        "night_baseload",
        "broken_heater",
        "weekend_baseload",
    }
    assert any(h.ev for h in homes)
    assert any(h.pv_kwp for h in homes)
    assert demo.build() == territory  # deterministic


def test_every_meter_is_consented_by_someone() -> None:
    """Homes by their resident; public buildings by the commune's property manager
    (one multi-site portfolio), tertiary ones by their owner."""
    territory = demo.build()
    consented = [m for r in territory.residents for m in r.meters]
    assert sorted(consented) == sorted(str(m.meter) for m in territory.meters)
    manager = next(r for r in territory.residents if r.email.startswith("patrimoine"))
    public = {b.building_id for b in territory.buildings
              if b.building_type is BuildingType.PUBLIC}  # fmt: skip
    assert {str(m.meter) for m in territory.meters if m.building_id in public} == set(
        manager.meters
    )
    assert len(public) >= 10
