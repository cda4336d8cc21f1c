"""CMD v3 answers (as plain dicts from the SOAP client) -> ReadingBatch.

v3 ``points/d`` is local Paris time WITHOUT offset (``2023-04-01 00:30:00``);
the repeated October hour follows the ``ambiguous`` setting. C5 curves are
END-stamped (``p=PT30M``), the C1-C4 sample is START-stamped: the caller says
which (it knows the point's segment from its technical data). Curve values are
mean powers in W over ``p`` -> INTERVAL Wh. In a curve, a stamp that does not
move forward (the repeated October hour written twice the same way) is read as
the second pass, whatever the setting says of a lone ambiguous stamp. ENERGIE points (``d`` a date) are the
energy of that local day in Wh.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from energy_core.domain import Energy, Kind, Reading, ReadingBatch, Source, Stamp
from energy_core.domain.ids import Prm
from energy_core.domain.time import local_day_bounds
from energy_core.domain.units import Unit
from energy_core.errors import PayloadInvalidError
from ingest_sge.mapping.local_time import Ambiguous, paris_instant

_STEP = re.compile(r"PT(\d+)M")


def _step(text: str | None, default: timedelta) -> timedelta:
    if not text:
        return default
    match = _STEP.fullmatch(text)
    if match is None:
        raise PayloadInvalidError(f"points/p: unknown step {text!r}")
    return timedelta(minutes=int(match.group(1)))


def _value(point: Mapping[str, Any]) -> float:
    try:
        return float(point["v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadInvalidError(
            f"points/v: not a number: {point.get('v')!r}"
        ) from exc


def curve_batch(
    prm: str,
    answer: Mapping[str, Any],
    *,
    end_stamped: bool,
    ambiguous: Ambiguous = Ambiguous.EARLIER,
    default_step: timedelta = timedelta(minutes=30),
) -> ReadingBatch:
    """A COURBE answer (grandeur PA, unit W) -> INTERVAL Wh readings."""
    readings: list[Reading] = []
    previous: datetime | None = None
    for grandeur in answer.get("grandeur") or ():
        if grandeur.get("unite") != "W":
            raise PayloadInvalidError(
                f"grandeur/unite {grandeur.get('unite')!r}: W expected"
            )
        for point in grandeur.get("points") or ():
            step = _step(point.get("p"), default_step)
            text = str(point.get("d", ""))
            at = paris_instant(text, field="points/d", ambiguous=ambiguous)
            if previous is not None and at <= previous:
                # the repeated October hour rendered twice without offset: the
                # second time a stamp comes, it is the second pass
                at = paris_instant(text, field="points/d", ambiguous=Ambiguous.LATER)
            previous = at
            start, end = (at - step, at) if end_stamped else (at, at + step)
            readings.append(
                Reading(
                    Kind.INTERVAL,
                    Unit.WH,
                    start,
                    end,
                    _value(point) * (step / timedelta(hours=1)),
                )
            )
    return ReadingBatch(
        meter=Prm(prm),
        source=Source.ENEDIS_SGE,
        energy=Energy.ELECTRICITY,
        readings=tuple(readings),
        stamped=Stamp.END if end_stamped else Stamp.START,
    )


def daily_energy_batch(prm: str, answer: Mapping[str, Any]) -> ReadingBatch:
    """An ENERGIE answer (EA, Wh, ``d`` a local date) -> one DAILY reading per day."""
    readings: list[Reading] = []
    for grandeur in answer.get("grandeur") or ():
        unit = Unit.parse(str(grandeur.get("unite", "")), field="grandeur/unite")
        for point in grandeur.get("points") or ():
            try:
                day = date.fromisoformat(str(point.get("d", ""))[:10])
            except ValueError as exc:
                raise PayloadInvalidError(
                    f"points/d: not a date: {point.get('d')!r}"
                ) from exc
            start, end = local_day_bounds(day)
            readings.append(Reading(Kind.INTERVAL, unit, start, end, _value(point)))
    return ReadingBatch(
        meter=Prm(prm),
        source=Source.ENEDIS_SGE,
        energy=Energy.ELECTRICITY,
        readings=tuple(readings),
        stamped=Stamp.START,
    )
