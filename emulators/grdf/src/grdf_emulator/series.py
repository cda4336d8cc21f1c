"""ADICT response objects built from the profiles (pure: no HTTP, no state).

Shapes follow grdf-flukso-p1.md §1.6.4-§1.6.6: nested snake_case blocks,
``horodate_Index`` with its capital I, ISO stamps with the Paris offset of the
moment, ``journee_gaziere`` for daily data only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from grdf_emulator import profiles
from grdf_emulator.profiles import GasMeter
from grdf_emulator.rights import Refusal
from grdf_emulator.validation import Window

INFORMATIVE = "Informative Journalier"
PUBLISHED = "Publiée"


@lru_cache(maxsize=16384)
def _iso(moment: datetime) -> str:
    """Cached: every PCE's informatives carry the same gas-day bounds."""
    return moment.isoformat(timespec="seconds")


def _periode(window: Window) -> dict[str, Any]:
    return {
        "valeur": window.periode,
        "date_debut": window.start.isoformat(),
        "date_fin": window.end.isoformat(),
    }


def error_object(pce: str, window: Window | None, refusal: Refusal) -> dict[str, Any]:
    """A functional error: data blocks null, ``statut_restitution`` set (HTTP 200)."""
    return {
        "pce": {"id_pce": pce},
        "periode": _periode(window) if window else None,
        "releve_debut": None,
        "releve_fin": None,
        "consommation": None,
        "statut_restitution": {"code": refusal.code, "message": refusal.message},
    }


def _index_block(value: int, at: datetime) -> dict[str, Any]:
    return {"valeur_index": value, "horodate_Index": _iso(at)}


def published_until(
    meter: GasMeter, day: date, today: date, lag: int, rate: float, catch_up: int
) -> bool:
    """Whether gas day ``day`` is visible ``today``: ``lag`` days after it, plus
    ``catch_up`` days for the PCE's late days (missing, then all at once)."""
    delay = lag + (catch_up if profiles.is_late(meter, day, rate) else 0)
    return day + timedelta(days=delay) <= today


def informative(
    meter: GasMeter, day: date, window: Window, definitive: bool
) -> dict[str, Any]:
    """One gas day of daily informative data."""
    start, end = profiles.gas_day_bounds(day)
    index_start, _ = profiles.index_at(meter, day)
    index_end, rolled = profiles.index_at(meter, day + timedelta(days=1))
    if meter.meter_change == day + timedelta(days=1):
        rolled = False  # the old meter's last day: read its own final index
    volume = profiles.daily_volume(meter, day)
    pta, pcs, coeff = profiles.conversion(day)
    return {
        "pce": {"id_pce": meter.pce},
        "periode": _periode(window),
        "releve_debut": {
            "date_releve": _iso(start),
            "index_brut_debut": _index_block(index_start, start),
            "index_converti_debut": _index_block(index_start, start),
        },
        "releve_fin": {
            "date_releve": _iso(end),
            "index_brut_fin": _index_block(index_end, end),
            "index_converti_fin": _index_block(index_end, end),
        },
        "consommation": {
            "date_debut_consommation": _iso(start),
            "date_fin_consommation": _iso(end),
            "flag_retour_zero": rolled,
            "volume_brut": volume,
            "coeff_calcul": {
                "coeff_pta": pta,
                "valeur_pcs": pcs,
                "coeff_conversion": coeff,
            },
            "volume_converti": None,
            "energie": profiles.energie(volume, day),
            "type_qualif_conso": "Mesuré",
            "sens_flux_gaz": "Consommation",
            "statut_conso": "Définitive" if definitive else "Provisoire",
            "journee_gaziere": day.isoformat(),
            "type_conso": INFORMATIVE,
        },
        "statut_restitution": None,
    }


def _releve(meter: GasMeter, day: date, suffix: str, estimated: bool) -> dict[str, Any]:
    start, _ = profiles.gas_day_bounds(day)
    index, _ = profiles.index_at(meter, day)
    return {
        "date_releve": day.isoformat(),
        "raison_releve": "RNO" if not estimated else "RNE",
        "libelle_raison_releve": "Relève normale"
        if not estimated
        else "Relève normale estimée",
        "qualite_releve": "Estimation" if estimated else "Mesure",
        "statut_releve": "Normal",
        f"index_brut_{suffix}": _index_block(index, start),
        f"index_converti_{suffix}": _index_block(index, start),
    }


def published(
    meter: GasMeter, period: tuple[date, date], window: Window, injection: bool
) -> dict[str, Any]:
    """One published (billing) period: the readings at both ends and the bill's
    publication slip; one conversion coefficient for the whole period (its
    middle month's), so ``energie`` is not the sum of the daily ones."""
    first, after = period
    volume = round(
        sum(
            profiles.daily_volume(meter, first + timedelta(days=i))
            for i in range((after - first).days)
        ),
        2,
    )
    middle = first + (after - first) / 2
    pta, pcs, coeff = profiles.conversion(middle)
    start, _ = profiles.gas_day_bounds(first)
    end, _ = profiles.gas_day_bounds(after)
    estimated = meter.frequency == "6M" and profiles.is_late(meter, after, 0.25)
    _, rolled = profiles.index_at(meter, after)
    common = {
        "flag_retour_zero": rolled,
        "volume_brut": volume,
        "coeff_calcul": {
            "coeff_pta": pta,
            "valeur_pcs": pcs,
            "coeff_conversion": coeff,
        },
        "volume_converti": None,
        "energie": round(volume * coeff),
        "journee_gaziere": None,
    }
    quality = "Estimé" if estimated else "Mesuré"
    block_name = "injection" if injection else "consommation"
    if injection:  # the injection block suffixes its fields (§1.6.4)
        block = {
            "date_debut_injection": _iso(start),
            "date_fin_injection": _iso(end),
            **common,
            "type_qualif_injection": quality,
            "sens_flux_gaz": "Production",
            "statut_injection": "Définitive",
            "type_injection": PUBLISHED,
        }
    else:
        block = {
            "date_debut_consommation": _iso(start),
            "date_fin_consommation": _iso(end),
            **common,
            "type_qualif_conso": quality,
            "sens_flux_gaz": "Consommation",
            "statut_conso": "Définitive",
            "type_conso": PUBLISHED,
        }
    return {
        "pce": {"id_pce": meter.pce},
        "periode": _periode(window),
        "releve_debut": _releve(meter, first, "debut", False),
        "releve_fin": _releve(meter, after, "fin", estimated),
        block_name: block,
        "bordereau_publication": {
            "date_debut_bordereau": first.isoformat(),
            "date_fin_bordereau": (after - timedelta(days=1)).isoformat(),
            "nb_jour_gazier": (after - first).days,
        },
        "statut_restitution": None,
    }


def contractual(
    meter: GasMeter, today: date, shape: str, filters: list[str]
) -> dict[str, Any]:
    """``donnees_contractuelles`` in the Swagger 1.6 shape or the later nested one."""
    car = profiles.car_kwh(meter, today)
    peak = max(
        profiles.daily_kwh(meter, date(today.year - 1, 1, 1) + timedelta(days=i))
        for i in range(365)
    )
    cja = round(peak * 1.2)
    profil = profiles.profile_type(car)
    start_service = date(2008 + int(profiles._unit("mes", meter.pce) * 12), 3, 1)
    block: dict[str, Any]
    if shape == "nested":
        block = {
            "car": {"car_actuelle": car, "car_future": round(car * 0.98)},
            "cja": {
                "cja": cja,
                "cja_journaliere": cja,
                "cja_mensuelle": round(cja * 30.4),
            },
            "profil": {
                "profil_type_actuel": profil,
                "date_debut_profil_type_actuel": f"{today.year - 1}-04-01",
                "date_fin_profil_type_actuel": f"{today.year}-03-31",
                "profil_type_futur": profil,
            },
            "tarif_acheminement": profiles.tariff(car),
            "date_mes": start_service.isoformat(),
            "modulation": {
                "modulation_n_1": round(peak / max(car / 365, 1), 2),
                "modulation_n_2": None,
                "modulation_n_3": None,
                "assiette": car,
            },
            "consommation_journaliere_plafond": round(peak * 1.5),
            "date_publication": f"{today.year}-04-01",
        }
    else:
        block = {
            "car": car,
            "cja": cja,
            "profil": {"profil_type_actuel": profil},
            "tarif_acheminement": profiles.tariff(car),
            "date_mes": start_service.isoformat(),
        }
    if filters:
        block = {key: value for key, value in block.items() if key in filters}
    return {
        "pce": {"id_pce": meter.pce},
        "donnees_contractuelles": block,
        "statut_restitution": None,
    }


CONTRACT_FILTERS = (
    "car",
    "cja",
    "profil",
    "tarif_acheminement",
    "date_mes",
    "modulation",
    "consommation_journaliere_plafond",
    "date_publication",
)


def technical(meter: GasMeter, shape: str) -> dict[str, Any]:
    address = meter.address
    block: dict[str, Any] = {
        "situation_compteur": {
            "numero_rue": address.numero_rue,
            "nom_rue": address.nom_rue,
            "complement_adresse": address.complement_adresse,
            "code_postal": address.code_postal,
            "commune": address.commune,
        },
        "caracteristiques_compteur": {
            "frequence": meter.frequency,
            "client_sensible_mig": "Non",
        },
        "pitd": {"identifiant_pitd": "GD0383", "libelle_pitd": "GRENOBLE"},
    }
    if shape == "nested":
        big = meter.usage in ("tertiary", "public")
        block["caracteristiques_compteur"].update(
            {
                "code_calibre": "G16" if big else "G4",
                "code_debit": "25" if big else "6",
                "code_debit_normalise": "25 m3/h" if big else "6 m3/h",
                "pression_livraison": "21 mbar",
                "matricule_compteur": f"GZ{meter.pce[-8:]}",
            }
        )
        block["regime_propriete"] = {"regime": "Location", "proprietaire": "GRDF"}
    return {
        "pce": {"id_pce": meter.pce},
        "donnees_techniques": block,
        "statut_restitution": None,
    }
