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

Demo PRMs (``Meter.home`` set) follow a believable household or building load
instead (:func:`home_curve`): see "Where the demo's data comes from" in the README.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from energy_core.domain import PARIS, Prm
from energy_core.domain.time import local_day_bounds
from energy_store.demo import DemoHome

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
    home: DemoHome | None = None
    """A demo home or building: its curve is :func:`home_curve`'s, not the formula."""

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


def demo_meter(
    prm: str, index: int, today: date, home: DemoHome | None = None
) -> Meter:
    """A believable demo PRM: a few are late, a few recently activated, some PV.

    With ``home`` (the demo territory's PRMs) the PV is the home's own and the
    curve follows its equipment; without (benchmark PRMs) the legacy formula.
    """
    activation = LINKY_ROLLOUT
    if index % 11 == 5:
        activation = today - timedelta(days=200 + index % 90)
    pv = home.pv_kwp > 0 if home is not None else index % 9 == 4
    return Meter(
        prm,
        production=pv,
        self_consumption=pv,
        late=index % 13 == 7,
        activation=activation,
        hourly_until=date(2025, 3, 1) if index % 17 == 3 else None,
        home=home,
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
    if meter.home is not None:
        return home_curve(meter, day, minutes, production), minutes
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
    """Daily max apparent power (VA) and the instant of the peak: the end of the
    peak interval, or the day's last second when that end is the next midnight
    (a day's peak is an instant of that day: clients, ours too, file the maximum
    under the local day of its instant)."""
    values, _ = curve_day(meter, day, False)
    peak = max(range(len(values)), key=values.__getitem__)
    end = intervals(meter, day)[peak][1]
    return math.ceil(1.1 * values[peak]), min(
        end, local_day_bounds(day)[1] - timedelta(seconds=1)
    )


def is_hole(meter: Meter, day: date) -> bool:
    """Sandbox client 4: nothing on Tuesdays and Wednesdays."""
    return meter.holes_tue_wed and day.weekday() in (1, 2)


# --- Demo homes: believable French load shapes -------------------------------
# Half-hourly shapes (W) hand-fitted to the published shapes named in the README:
# Enedis' RES1/PRO1 profile coefficients (the daily form of a home's and of a
# small business' non-heating load), RTE's thermosensitivity (heating grows as the
# day gets colder below ~16 °C) and the off-peak hot-water tank (HC, 22:00-06:00).

_HOME_WEEKDAY = (
    (300,) * 12 + (550, 750, 800, 650)  # 00:00-06:00 night, 06:00-08:00 breakfast
    + (420,) * 8 + (560, 600, 520) + (380,) * 5  # day, lunch, afternoon
    + (480, 640, 820, 960, 1000, 940, 840, 720, 600, 500) + (400,) * 6  # evening
)  # fmt: skip
_HOME_WEEKEND = (
    (320,) * 14 + (480, 650, 760, 720, 650, 600)  # late breakfast
    + (560, 640, 700, 640) + (540,) * 8  # lunch at home, afternoon
    + (600, 760, 900, 1000, 960, 880, 760, 640, 520, 440) + (380,) * 6
)  # fmt: skip
_OFFICE_WEEKDAY = (
    (0.18,) * 14 + (0.35, 0.6, 0.85, 1.0, 1.0, 1.0, 1.0, 0.95, 0.9, 0.95, 1.0)
    + (1.0,) * 10 + (0.85, 0.6, 0.4) + (0.25,) * 6 + (0.18,) * 4
)  # fmt: skip
_HEAT_SHAPE: tuple[float, ...] = (
    (0.7,) * 12 + (1.4, 1.6, 1.5, 1.3) + (0.8,) * 18 + (1.2, 1.4, 1.4, 1.3, 1.2, 1.1)
    + (1.0,) * 6 + (0.8,) * 2
)  # fmt: skip


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from its parts (noise without state)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64


@lru_cache(maxsize=4096)
def temperature_c(day: date) -> float:
    """Deterministic synthetic daily mean temperature of Échirolles (°C).

    A seasonal cosine fitted to Grenoble's normals (about 2.5 °C in January,
    22 °C in July), plus weather noise of ±4 °C that persists a few days.
    """
    doy = day.timetuple().tm_yday
    seasonal = 12.2 - 9.8 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    noise = sum(_unit("weather", day - timedelta(days=k)) - 0.5 for k in range(3))
    return round(seasonal + 8 * noise / 3, 1)


def _sunshine(day: date) -> float:
    """Share of clear sky of the day (0.2-1), deterministic."""
    return 0.2 + 0.8 * _unit("sun", day)


def _pv_w(kwp: float, local: datetime, day: date) -> float:
    return _pv_day(kwp, day, (local,))[0]


def _pv_day(kwp: float, day: date, starts: Iterable[datetime]) -> list[float]:
    """:func:`_pv_w` of each local start of one day, the day's terms computed once
    (the same arithmetic in the same order: the same values to the bit). A year
    of daily data for every demo PRM is some 200,000 day curves: the emulator's
    CPU was what `make run`'s backfill waited for."""
    doy = day.timetuple().tm_yday
    half_day = 4.3 + 3.2 * -math.cos(2 * math.pi * (doy + 10) / 365.25)  # 4.3 +- 3.2 h
    height = 0.55 + 0.45 * -math.cos(2 * math.pi * (doy + 10) / 365.25)
    peak = 1000 * kwp * 0.8 * height * _sunshine(day)
    out = []
    for local in starts:
        hours = local.hour + local.minute / 60 + 0.25 - 13.5  # solar noon ~13:30 local
        if abs(hours) >= half_day:
            out.append(0.0)
        else:
            out.append(peak * math.cos(math.pi / 2 * hours / half_day))
    return out


@lru_cache(maxsize=4096)
def _slots(day: date, minutes: int) -> tuple[tuple[int, datetime], ...]:
    """(half-hour index 0-47, local start) of each interval of ``day``."""
    return tuple(
        ((local.hour * 60 + local.minute) // 30, local)
        for _, _, local, _ in _grid(day, minutes)
    )


@lru_cache(maxsize=8192)
def _day_shape(
    home: DemoHome, seed: int, weekend: bool, winter: bool, ev_night: bool
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Per half-hour: the habits (x the day's factor), what is added on top (tank,
    EV, anomalies) and the heating shape, of a kind of day (cached: the per-day
    work is then one pass of multiply-adds)."""
    habit: list[float] = []
    extra: list[float] = []
    tank_slots = 4 if winter else 3
    tank_start = (44 + seed % 4) % 48
    for slot in range(48):
        added = 0.0
        if home.kind == "home":
            base = (_HOME_WEEKEND if weekend else _HOME_WEEKDAY)[slot]
            habit.append(base * 0.6 * home.scale)  # ~2.7 MWh/y at scale 1
            if home.hot_water == "electric" and (slot - tank_start) % 48 < tank_slots:
                added += 2200
            if ev_night and (slot - 45) % 48 < 6:
                added += 3700
            if home.anomaly == "night_baseload" and (slot < 12 or slot >= 46):
                added += 450
        else:
            share = 0.2 if weekend else _OFFICE_WEEKDAY[slot]
            if home.anomaly == "weekend_baseload" and weekend:
                share = max(0.6, _OFFICE_WEEKDAY[slot])
            habit.append(home.surface_m2 * 12 * share * home.scale)  # ~12 W/m2 peak
        extra.append(added)
    office_heat = 1.0 if home.kind == "home" or not weekend else 0.6
    heat = tuple(h * office_heat for h in _HEAT_SHAPE)
    return tuple(habit), tuple(extra), heat


def home_curve(
    meter: Meter, day: date, minutes: int, production: bool
) -> tuple[int, ...]:
    """Mean W of each interval of a demo home's or building's local day.

    Load = habits (weekday/weekend shape x the home's size x a daily ±15 %) +
    heating (electric only: ~0.9 W/K/m² x degrees below 16 °C, shaped morning and
    evening) + an off-peak hot-water tank + EV charging some nights + anomalies;
    PV production from day length, sun height and a cloudiness of the day. Even
    integers, so the Wh of a half-hour is an integer.
    """
    home = meter.home
    assert home is not None  # noqa: S101 - called for demo meters only
    weekend = day.weekday() >= 5
    seed = meter.seed
    heat_k = max(0.0, 16.0 - temperature_c(day))
    daily = 0.85 + 0.3 * _unit(seed, day)
    if home.anomaly == "broken_heater" and day.month in (1, 2, 3, 4, 5, 6):
        heat_k = max(heat_k, 12.0)  # stuck on, whatever the weather
    heat_w = 0.0
    if home.heating == "electric":
        heat_w = 0.9 * home.surface_m2 * heat_k * home.scale
    ev_night = home.ev and _unit("ev", seed, day) < 0.45
    habit, extra, heat = _day_shape(
        home, seed, weekend, day.month in (11, 12, 1, 2, 3), ev_night
    )
    slots = _slots(day, minutes)
    cons = [habit[i] * daily + extra[i] + heat_w * heat[i] for i, _ in slots]
    if home.pv_kwp:
        pv = _pv_day(home.pv_kwp, day, (local for _, local in slots))
    else:
        pv = [0.0] * len(slots)
    if meter.self_consumption:  # the meter sees the balance of the two
        cons, pv = (
            [max(0.0, c - p) for c, p in zip(cons, pv, strict=True)],
            [max(0.0, p - c) for c, p in zip(cons, pv, strict=True)],
        )
    out = pv if production else cons
    return tuple(2 * round(w / 2) for w in out)
