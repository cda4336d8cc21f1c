"""Mapping of ADICT objects: gas days, DST, qualities, zero vs missing, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from energy_core.domain.ids import Pce
from energy_core.domain.readings import Energy, Quality
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from ingest_grdf.mapping import (
    Holder,
    RightState,
    declaration_body,
    gas_day_bounds,
    map_contract,
    map_informatives,
    map_published,
    map_right,
)

PCE = Pce("21380000000001")
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def day_object(
    day: date,
    energie: float = 120,
    volume: float = 10.5,
    statut: str = "Provisoire",
    index: tuple[int, int] = (1000, 1011),
    rolled: bool = False,
) -> dict[str, Any]:
    start, end = (t.astimezone(PARIS) for t in gas_day_bounds(day))
    return {
        "pce": {"id_pce": str(PCE)},
        "releve_debut": {"index_brut_debut": {"valeur_index": index[0]}},
        "releve_fin": {"index_brut_fin": {"valeur_index": index[1]}},
        "consommation": {
            "date_debut_consommation": start.isoformat(),
            "date_fin_consommation": end.isoformat(),
            "flag_retour_zero": rolled,
            "volume_brut": volume,
            "coeff_calcul": {"coeff_conversion": 11.4},
            "energie": energie,
            "statut_conso": statut,
            "journee_gaziere": day.isoformat(),
            "type_conso": "Informative Journalier",
        },
        "statut_restitution": None,
    }


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 28), 23), (date(2026, 10, 24), 25), (date(2026, 6, 1), 24)],
)
def test_gas_day_lasts_23_24_or_25_hours(day: date, hours: int) -> None:
    batch, refused, invalid = map_informatives(PCE, [day_object(day)], NOW)
    assert batch is not None
    assert not refused
    assert not invalid
    kwh = [r for r in batch.readings if r.unit is Unit.KWH]
    assert len(kwh) == 1
    assert kwh[0].end - kwh[0].start == timedelta(hours=hours)
    assert kwh[0].start.astimezone(PARIS).hour == 6


def test_energy_and_volume_are_two_readings_of_gas() -> None:
    batch, _, _ = map_informatives(PCE, [day_object(date(2026, 1, 5))], NOW)
    assert batch is not None
    assert batch.energy is Energy.GAS
    assert {(r.unit, r.value) for r in batch.readings} == {
        (Unit.KWH, 120),
        (Unit.M3, 10.5),
    }


def test_definitive_outranks_provisional() -> None:
    day = date(2026, 1, 5)
    prov, _, _ = map_informatives(PCE, [day_object(day, statut="Provisoire")], NOW)
    final, _, _ = map_informatives(
        PCE, [day_object(day, 118, statut="Définitive")], NOW
    )
    assert prov is not None
    assert final is not None
    assert prov.readings[0].quality is Quality.RAW
    assert final.readings[0].quality is Quality.CORRECTED
    assert final.readings[0].quality.rank > prov.readings[0].quality.rank


def test_zero_is_a_reading_and_a_missing_day_is_none() -> None:
    days = [date(2026, 8, 1), date(2026, 8, 3)]  # 2 August is missing
    objects = [day_object(d, energie=0, volume=0, index=(500, 500)) for d in days]
    batch, _, _ = map_informatives(PCE, objects, NOW)
    assert batch is not None
    starts = sorted({r.start.date() for r in batch.readings})
    assert starts == days
    assert all(r.value == 0 for r in batch.readings)


def test_roll_over_and_meter_change_keep_the_volume() -> None:
    rolled = day_object(date(2026, 1, 5), volume=12, index=(99995, 7), rolled=True)
    new_meter = day_object(date(2026, 1, 6), volume=3, index=(51234, 3))
    batch, _, invalid = map_informatives(PCE, [rolled, new_meter], NOW)
    assert invalid == []
    assert batch is not None
    assert sorted(r.value for r in batch.readings if r.unit is Unit.M3) == [3, 12]


def test_contradicting_indexes_are_invalid_not_fatal() -> None:
    bad = day_object(date(2026, 1, 5), volume=10, index=(1000, 1500))
    good = day_object(date(2026, 1, 6))
    batch, _, invalid = map_informatives(PCE, [bad, good], NOW)
    assert len(invalid) == 1
    assert batch is not None
    assert len(batch.readings) == 2


def test_a_wrong_offset_is_refused() -> None:
    obj = day_object(date(2026, 3, 29))
    obj["consommation"]["date_fin_consommation"] = "2026-03-30T06:00:00+01:00"
    batch, _, invalid = map_informatives(PCE, [obj], NOW)
    assert batch is None
    assert len(invalid) == 1


def test_functional_error_is_per_object() -> None:
    refused = {
        "pce": {"id_pce": str(PCE)},
        "periode": {"date_debut": "2026-01-07", "date_fin": "2026-01-08"},
        "consommation": None,
        "statut_restitution": {"code": "2000100", "message": "partiel"},
    }
    batch, errors, _ = map_informatives(
        PCE, [day_object(date(2026, 1, 6)), refused], NOW
    )
    assert batch is not None
    assert len(batch.readings) == 2
    assert errors[0].code == "2000100"
    assert errors[0].day == date(2026, 1, 7)


def test_published_period_totals_are_on_their_own_channel() -> None:
    obj = {
        "pce": {"id_pce": str(PCE)},
        "consommation": {
            "date_debut_consommation": "2026-01-01T06:00:00+01:00",
            "date_fin_consommation": "2026-02-01T06:00:00+01:00",
            "volume_brut": 300.0,
            "energie": 3400,
            "type_qualif_conso": "Mesuré",
        },
        "statut_restitution": None,
    }
    batch, _, invalid = map_published(PCE, [obj], NOW)
    assert invalid == []
    assert batch is not None
    assert {r.channel for r in batch.readings} == {"published"}
    assert {r.value for r in batch.readings} == {300.0, 3400}


def test_rights_states_ignore_case_and_accents() -> None:
    base = {
        "id_droit_acces": "x1",
        "id_pce": str(PCE),
        "date_debut_droit_acces": "2026-01-01",
        "date_fin_droit_acces": "2027-01-01",
        "perim_donnees_conso_debut": "2024-01-01",
        "perim_donnees_conso_fin": "2026-06-30",
        "perim_donnees_informatives": "vrai",
        "perim_donnees_publiees": "Faux",
    }
    for text, state in [
        ("À valider", RightState.PENDING),
        ("A valider", RightState.PENDING),
        ("Active", RightState.ACTIVE),
        ("Révoquée", RightState.REVOKED),
        ("Obsolète", RightState.EXPIRED),
    ]:
        right = map_right({**base, "etat_droit_acces": text})
        assert right.state is state
    right = map_right({**base, "etat_droit_acces": "Active"})
    assert right.informatives
    assert not right.published
    assert right.clamp(date(2023, 1, 1), date(2026, 11, 1)) == (
        date(2024, 1, 1),
        date(2026, 7, 1),
    )
    assert right.clamp(date(2026, 8, 1), date(2026, 9, 1)) is None
    assert right.collectable(date(2026, 5, 1))
    assert not right.collectable(date(2027, 2, 1))


def test_declaration_body_has_one_identity() -> None:
    person = declaration_body(
        Holder("Résident 002", None, "r@x.invalid", "38130"),
        date(2026, 11, 23),
        date(2029, 11, 23),
        date(2023, 11, 23),
        date(2029, 11, 23),
    )
    assert person["nom_titulaire"] == "Résident 002"
    assert "raison_sociale" not in person
    assert person["perim_donnees_informatives"] == "Vrai"
    with pytest.raises(ValueError, match="not both"):
        declaration_body(
            Holder("A", "B", "r@x.invalid", "38130"),
            date(2026, 11, 23),
            date(2029, 11, 23),
            date(2023, 11, 23),
            date(2029, 11, 23),
        )


def test_contract_both_shapes() -> None:
    flat = map_contract(
        {
            "donnees_contractuelles": {
                "car": 12000,
                "profil": {"profil_type_actuel": "P012"},
                "tarif_acheminement": "T2",
            }
        },
        {"donnees_techniques": {"caracteristiques_compteur": {"frequence": "MM"}}},
        11.3,
    )
    nested = map_contract(
        {
            "donnees_contractuelles": {
                "car": {"car_actuelle": 12000},
                "profil": {"profil_type_actuel": "P012"},
                "tarif_acheminement": "T2",
            }
        }
    )
    assert (flat.car_kwh, flat.profile, flat.tariff_option, flat.frequency) == (
        12000,
        "P012",
        "T2",
        "MM",
    )
    assert flat.conversion_coefficient == 11.3
    assert nested.car_kwh == 12000
    assert nested.frequency is None


def test_proof_check_in_sen1_words() -> None:
    from ingest_grdf.mapping import proof_of

    assert proof_of("Preuve en attente") == "requested"
    assert proof_of("Preuve en cours de vérification") == "checking"
    assert proof_of("PREUVE VÉRIFIÉE OK") == "ok"
    assert proof_of("Preuve Vérifiée KO") == "ko"
    assert proof_of(None) is None
    assert proof_of("") is None
    assert proof_of("something new") is None
