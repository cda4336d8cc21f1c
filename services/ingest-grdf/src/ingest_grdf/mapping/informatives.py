"""Daily informatives and published readings → interval readings of a PCE.

Rules, and why:
- A gas day runs 06:00 → 06:00 Europe/Paris, so it lasts 23 h on the last Sunday
  of March and 25 h on the last Sunday of October. Readings are stamped by their
  start, ``[06:00 J, 06:00 J+1)``, from ADICT's own offsets (checked against the
  Paris calendar, so a wrong offset is refused rather than stored).
- Each day gives two readings: energy in kWh (PCS) and volume in m³ — two
  series, never added (the rollups sum energy and volume separately).
- ``energie: 0`` is a reading of 0; a day ADICT does not return is no reading
  at all (a missing day is never stored as a zero).
- ``Provisoire`` is ``raw`` quality, ``Définitive`` is ``corrected``: the reading
  store replaces a stored reading with a better or different one, and the
  aggregator moves the rollups by the difference only.
- The volume is ADICT's ``volume_brut``; the indexes are only checked: their
  difference, corrected for a roll-over (``flag_retour_zero``, the register
  wrapped at 10^digits) or a meter change (the index restarts at 0), must not
  contradict the volume by more than one m³ (indexes are whole m³).
- Published (billing) readings are period totals on their own channel
  ``published``, so they are stored beside the daily ones but never rolled up
  twice (the rollups only take channel ``""``).
- An object carrying ``statut_restitution`` is a functional refusal for that
  object only: it is returned as :class:`Refused` and the rest is mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from energy_core.domain.ids import Pce
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
    Stamp,
)
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from energy_core.errors import PayloadInvalidError

GAS_DAY_HOUR = 6
PUBLISHED_CHANNEL = "published"
_QUALITY = {"Provisoire": Quality.RAW, "Définitive": Quality.CORRECTED}


@dataclass(frozen=True, slots=True)
class Refused:
    """A functional error inside a 200 stream (``statut_restitution``)."""

    code: str
    message: str
    day: date | None


def gas_day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[06:00 J, 06:00 J+1)`` Paris: 23, 24 or 25 hours.

    Returned in UTC: Python subtracts two datetimes of the same zone by wall
    clock (a DST gas day would look 24 h long), UTC instants by real time.
    """
    start = datetime.combine(day, time(GAS_DAY_HOUR), tzinfo=PARIS)
    end = datetime.combine(day + timedelta(days=1), time(GAS_DAY_HOUR), tzinfo=PARIS)
    return start.astimezone(UTC), end.astimezone(UTC)


def _stamp(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise PayloadInvalidError(f"{field}: missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PayloadInvalidError(f"{field}: not an ISO timestamp") from exc
    if moment.tzinfo is None:
        raise PayloadInvalidError(f"{field}: no offset")
    return moment


def _number(block: dict[str, Any], field: str) -> float:
    value = block.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadInvalidError(f"{field}: not a number")
    if value < 0:
        raise PayloadInvalidError(f"{field}: negative")
    return float(value)


def _refusal(obj: dict[str, Any]) -> Refused | None:
    status = obj.get("statut_restitution")
    if not status:
        return None
    if not isinstance(status, dict):
        raise PayloadInvalidError("statut_restitution: not an object")
    periode = obj.get("periode") or {}
    day = None
    if isinstance(periode, dict) and isinstance(periode.get("date_debut"), str):
        try:
            day = date.fromisoformat(periode["date_debut"])
        except ValueError:
            day = None
    return Refused(str(status.get("code", "")), str(status.get("message", "")), day)


def _index(block: Any, field: str) -> int | None:
    if not isinstance(block, dict):
        return None
    inner = block.get(field)
    if not isinstance(inner, dict):
        return None
    value = inner.get("valeur_index")
    return int(value) if isinstance(value, int | float) else None


def _check_indexes(obj: dict[str, Any], volume: float, rolled: bool) -> None:
    """Index difference vs volume: tolerant of roll-over and meter change."""
    first = _index(obj.get("releve_debut"), "index_brut_debut")
    last = _index(obj.get("releve_fin"), "index_brut_fin")
    if first is None or last is None:
        return
    if last >= first:
        delta = last - first
    elif rolled:  # the register wrapped at 10^digits
        digits = max(len(str(first)), 1)
        delta = 10**digits - first + last
    else:  # a new meter restarted at 0: its own index is the volume since
        delta = last
    if abs(delta - volume) > 1.0 + 0.01 * volume:
        raise PayloadInvalidError(
            "index_brut: the index difference contradicts volume_brut"
        )


Mapped = tuple[
    ReadingBatch | None, list[Refused], list[tuple[dict[str, Any], Exception]]
]
"""A stream's batch (None when no reading came out), refused and invalid objects."""


def _map_objects(
    pce: Pce,
    objects: list[dict[str, Any]],
    produced_at: datetime,
    read: Callable[[dict[str, Any]], Iterable[Reading]],
) -> Mapped:
    """Both streams sort their objects the same way: a refusal is kept apart, an
    object ``read`` refuses as invalid is kept with its error (one bad object
    never stops the rest), the readings of the others form one batch."""
    readings: list[Reading] = []
    refused: list[Refused] = []
    invalid: list[tuple[dict[str, Any], Exception]] = []
    for obj in objects:
        try:
            refusal = _refusal(obj)
            if refusal is not None:
                refused.append(refusal)
                continue
            readings.extend(read(obj))
        except PayloadInvalidError as exc:
            invalid.append((obj, exc))
    if not readings:
        return None, refused, invalid
    batch = ReadingBatch(
        meter=pce,
        source=Source.GRDF_ADICT,
        energy=Energy.GAS,
        readings=tuple(readings),
        stamped=Stamp.START,
        produced_at=produced_at,
    )
    return batch, refused, invalid


def map_informatives(
    pce: Pce, objects: list[dict[str, Any]], produced_at: datetime
) -> Mapped:
    """The gas days of a stream as one batch, the refused objects, the invalid ones."""
    return _map_objects(pce, objects, produced_at, _informative)


def _informative(obj: dict[str, Any]) -> tuple[Reading, Reading]:
    conso = obj.get("consommation")
    if not isinstance(conso, dict):
        raise PayloadInvalidError("consommation: missing")
    day_text = conso.get("journee_gaziere")
    if not isinstance(day_text, str):
        raise PayloadInvalidError("journee_gaziere: missing")
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise PayloadInvalidError("journee_gaziere: not a date") from exc
    start = _stamp(conso.get("date_debut_consommation"), "date_debut_consommation")
    end = _stamp(conso.get("date_fin_consommation"), "date_fin_consommation")
    expected = gas_day_bounds(day)
    if (start, end) != expected:
        raise PayloadInvalidError("date_debut/fin_consommation: not the gas day")
    quality = _QUALITY.get(str(conso.get("statut_conso")))
    if quality is None:
        raise PayloadInvalidError("statut_conso: neither Provisoire nor Définitive")
    energy = _number(conso, "energie")
    volume = _number(conso, "volume_brut")
    _check_indexes(obj, volume, bool(conso.get("flag_retour_zero")))
    start, end = expected  # UTC instants, whatever offset form ADICT used
    return (
        Reading(
            Kind.INTERVAL, Unit.KWH, start, end, energy, quality, Direction.CONSUMPTION
        ),
        Reading(
            Kind.INTERVAL, Unit.M3, start, end, volume, quality, Direction.CONSUMPTION
        ),
    )


def map_published(
    pce: Pce, objects: list[dict[str, Any]], produced_at: datetime
) -> Mapped:
    """Published (billing) periods as period totals on channel ``published``."""
    return _map_objects(pce, objects, produced_at, _published)


def _published(obj: dict[str, Any]) -> tuple[Reading, Reading]:
    block = obj.get("consommation") or obj.get("injection")
    if not isinstance(block, dict):
        raise PayloadInvalidError("consommation: missing")
    injection = "injection" in obj and obj.get("injection") is not None
    suffix = "injection" if injection else "consommation"
    start = _stamp(block.get(f"date_debut_{suffix}"), f"date_debut_{suffix}")
    end = _stamp(block.get(f"date_fin_{suffix}"), f"date_fin_{suffix}")
    if end <= start:
        raise PayloadInvalidError(f"date_fin_{suffix}: not after the start")
    qualif = block.get(f"type_qualif_{'injection' if injection else 'conso'}")
    quality = Quality.ESTIMATED if qualif == "Estimé" else Quality.CORRECTED
    direction = Direction.PRODUCTION if injection else Direction.CONSUMPTION
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    energy = _number(block, "energie")
    volume = _number(block, "volume_brut")
    return (
        Reading(
            Kind.INTERVAL,
            Unit.KWH,
            start,
            end,
            energy,
            quality,
            direction,
            PUBLISHED_CHANNEL,
        ),
        Reading(
            Kind.INTERVAL,
            Unit.M3,
            start,
            end,
            volume,
            quality,
            direction,
            PUBLISHED_CHANNEL,
        ),
    )
