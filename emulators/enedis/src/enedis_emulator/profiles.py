"""Deterministic meters of the emulator: sandbox customers 0-8 and demo PRMs.

Every value is a pure function of (PRM, interval) so tests can recompute totals:

* consumption mean power over an interval starting at local time ``h:m`` is
  ``W = 2 * (base + 40 * h + 3 * (m // 10) + bump)`` with ``base = 150 + seed % 200``
  (``seed`` = the PRM as an int) and ``bump = 300`` from 18:00 to 21:59 (evening peak);
  the value is even, so Wh over a half-hour is an integer;
* production mean power is ``2 * round(kwp_w * sin(pi * (t - 7) / 12))`` between
  07:00 and 19:00 local (0 elsewhere), with ``kwp_w = 1000 + seed % 2000``;
* the daily energy of a local day is exactly the sum of that day's curve energies
  (46, 48 or 50 half-hours), the daily max power is ``ceil(1.1 * max W)`` VA
  stamped at the end of the peak interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from energy_core.domain import PARIS, Prm
from energy_core.domain.time import local_day_bounds

LINKY_ROLLOUT = date(2015, 12, 1)


@dataclass(frozen=True, slots=True)
class Meter:
    """One emulated PRM and its behaviours (see enedis.md §1.8)."""

    prm: str
    client: int | None = None
    production: bool = False
    consumption: bool = True
    curve_enabled: bool = True
    activation: date = LINKY_ROLLOUT
    holes_tue_wed: bool = False
    self_consumption: bool = False
    revoked: bool = False
    late: bool = False
    """Publishes J-1 only on J+1 (the 'late meter' of the daily cycle)."""
    hourly_until: date | None = None
    """Curve at PT60M before this day, PT30M from it (mixed steps)."""
    consent_start: date | None = None
    """Enedis refuses windows starting before it (ADAM-DC-0009); None: no floor."""
    reported_activation: date | None = None
    """What customers v5 says when it is not the date the gateway enforces
    (MEDi #240: the contract's ``last_activation_date`` is not always right)."""
    insee_code: str = "38151"
    latitude: float = 45.146
    longitude: float = 5.716
    tags: tuple[str, ...] = field(default=())

    @property
    def seed(self) -> int:
        return int(self.prm)


SANDBOX: tuple[Meter, ...] = (
    Meter("22516914714270", client=0),
    Meter("11453290002823", client=1, activation=date(2019, 8, 27)),
    Meter("32320647321714", client=2, curve_enabled=False),
    Meter("12345678901234", client=3),
    Meter("10284856584123", client=3, production=True, consumption=False),
    Meter("42900589957123", client=4, holes_tue_wed=True),
    Meter("24880057139941", client=5, production=True, consumption=False),
    Meter("12655648759651", client=6, production=True, self_consumption=True),
    Meter("64975835695673", client=7, hourly_until=date(2025, 6, 1)),
    Meter("63695879465986", client=7),
    Meter("22315546958763", client=7),
    Meter("26584978546985", client=8, revoked=True),
)


def demo_meter(prm: str, index: int, today: date) -> Meter:
    """A believable demo PRM: a few are late, a few recently activated, some PV."""
    activation = LINKY_ROLLOUT
    if index % 11 == 5:
        activation = today - timedelta(days=200 + index % 90)
    return Meter(
        prm,
        production=index % 9 == 4,
        self_consumption=index % 9 == 4,
        late=index % 13 == 7,
        activation=activation,
        hourly_until=date(2025, 3, 1) if index % 17 == 3 else None,
    )


def synthetic_prm(index: int) -> str:
    """Benchmark PRMs: 14 digits, outside the sandbox and demo ranges."""
    return str(Prm(f"99{index:012d}"))


def step_of(meter: Meter, day: date) -> timedelta:
    """Curve step on ``day`` (PT60M before ``hourly_until``, else PT30M)."""
    if meter.hourly_until is not None and day < meter.hourly_until:
        return timedelta(minutes=60)
    return timedelta(minutes=30)


def _consumption_w(seed: int, local: datetime) -> int:
    bump = 300 if 18 <= local.hour < 22 else 0
    return 2 * (150 + seed % 200 + 40 * local.hour + 3 * (local.minute // 10) + bump)


def _production_w(seed: int, local: datetime) -> int:
    hours = local.hour + local.minute / 60
    if not 7 <= hours < 19:
        return 0
    return 2 * round((1000 + seed % 2000) * math.sin(math.pi * (hours - 7) / 12))


@lru_cache(maxsize=8192)
def _grid(
    day: date, minutes: int
) -> tuple[tuple[datetime, datetime, datetime, str], ...]:
    """(start UTC, end UTC, local start, end as Enedis prints it) of each interval
    of a local day; the same for every meter, so cached once per day and step."""
    start, end = local_day_bounds(day)
    step = timedelta(minutes=minutes)
    cursor, stop = start.astimezone(UTC), end.astimezone(UTC)
    out = []
    while cursor < stop:
        following = cursor + step
        out.append(
            (
                cursor,
                following,
                cursor.astimezone(PARIS),
                following.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"),
            )
        )
        cursor = following
    return tuple(out)


def _minutes(meter: Meter, day: date) -> int:
    return int(step_of(meter, day).total_seconds() // 60)


def intervals(meter: Meter, day: date) -> list[tuple[datetime, datetime]]:
    """Aware ``[start, end)`` curve intervals of a local day (46/48/50 at PT30M)."""
    return [(a, b) for a, b, _, _ in _grid(day, _minutes(meter, day))]


def end_stamps(meter: Meter, day: date) -> list[str]:
    """The curve's ``date`` strings: local end of each interval, without offset."""
    return [text for _, _, _, text in _grid(day, _minutes(meter, day))]


@lru_cache(maxsize=65_536)
def curve_day(meter: Meter, day: date, production: bool) -> tuple[tuple[int, ...], int]:
    """Mean W of each interval of ``day`` and the step in minutes (cached)."""
    minutes = _minutes(meter, day)
    values = []
    for _, _, local, _ in _grid(day, minutes):
        cons = _consumption_w(meter.seed, local) if meter.consumption else 0
        prod = _production_w(meter.seed, local) if meter.production else 0
        if meter.self_consumption:
            cons, prod = max(0, cons - prod), max(0, prod - cons)
        values.append(prod if production else cons)
    return tuple(values), minutes


def daily_wh(meter: Meter, day: date, production: bool) -> int:
    """Energy of a local day: the sum of its curve intervals."""
    values, minutes = curve_day(meter, day, production)
    return sum(v * minutes // 60 for v in values)


def max_power(meter: Meter, day: date) -> tuple[int, datetime]:
    """Daily max apparent power (VA) and the end of the peak interval."""
    values, _ = curve_day(meter, day, False)
    peak = max(range(len(values)), key=values.__getitem__)
    return math.ceil(1.1 * values[peak]), intervals(meter, day)[peak][1]


def is_hole(meter: Meter, day: date) -> bool:
    """Sandbox client 4: nothing on Tuesdays and Wednesdays."""
    return meter.holes_tue_wed and day.weekday() in (1, 2)
