"""Contractual and technical data (pure): what placement and euros need.

Both shapes ADICT has served are read: Swagger 1.6's scalar ``car``/``cja`` and
``profil_type_actuel``, and the later nested blocks (``car_actuelle``, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GasContract:
    """Tariff option, annual reference consumption (CAR, kWh), profile, frequency."""

    tariff_option: str | None
    car_kwh: float | None
    profile: str | None
    frequency: str | None
    conversion_coefficient: float | None


def _first(block: dict[str, Any], *names: str) -> Any:
    for name in names:
        if block.get(name) is not None:
            return block[name]
    return None


def _scalar(value: Any, *inner: str) -> Any:
    if isinstance(value, dict):
        return _first(value, *inner)
    return value


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def map_contract(
    contractual: dict[str, Any],
    technical: dict[str, Any] | None = None,
    conversion_coefficient: float | None = None,
) -> GasContract:
    """Reads what is there; an absent block (refused scope) leaves fields None.

    The conversion coefficient (kWh PCS per m³) is not contract data: ADICT
    gives it per gas day in ``coeff_calcul``; the caller passes the latest one.
    """
    c = contractual.get("donnees_contractuelles") or {}
    t = (technical or {}).get("donnees_techniques") or {}
    car = _scalar(c.get("car"), "car_actuelle", "valeur")
    profil = _scalar(c.get("profil"), "profil_type_actuel", "valeur")
    option = _scalar(c.get("tarif_acheminement"), "valeur", "libelle")
    frequency = _scalar(t.get("caracteristiques_compteur"), "frequence")
    return GasContract(
        tariff_option=str(option) if option is not None else None,
        car_kwh=_float(car),
        profile=str(profil) if profil is not None else None,
        frequency=str(frequency) if frequency is not None else None,
        conversion_coefficient=conversion_coefficient,
    )
