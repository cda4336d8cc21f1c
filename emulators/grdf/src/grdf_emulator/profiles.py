"""Deterministic PCEs of the emulator: the sandbox set and the demo territory's.

Every value is a pure function of (PCE, gas day) so a test can recompute it:

* one synthetic daily mean temperature for the whole territory (Grenoble-like:
  12.5 °C mean, 9.5 °C seasonal amplitude, coldest mid-January, plus a few
  hashed day-to-day swings); heating degree days ``hdd = max(0, 17 - T)``;
* heating (1 October to 15 May only) is ``hdd x surface x intensity`` with the
  intensity of the building type (flats, houses, offices, public buildings),
  reduced to 35 % on weekends for tertiary and public buildings;
* domestic hot water is a baseline per dwelling that rises in winter (colder
  inlet water), cooking a small constant, both absent in professional buildings
  except a small hot-water load on weekdays;
* a per-PCE factor (insulation, habits) and a +/-8 % hashed daily noise;
* kWh (PCS) become ``volume_brut`` in m³ through the month's conversion
  coefficient, rounded to 0.01 m³; ``energie = round(volume_brut x coeff)``;
* indexes are integer m³: ``floor(initial + cumulative volume)`` so a day's
  index difference is not its volume but the differences telescope.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

from energy_core.domain import PARIS

EPOCH = date(2019, 1, 1)
"""First gas day of every series (more than 5 years of history)."""
GAS_DAY_START = time(6, 0)

Frequency = Literal["MM", "1M", "6M", "JJ"]
Usage = Literal["flat", "house", "tertiary", "public", "hot_water"]

_INTENSITY: dict[str, float] = {  # kWh per m² per heating degree day
    "flat": 0.050,
    "house": 0.062,
    "tertiary": 0.055,
    "public": 0.070,
    "hot_water": 0.0,
}


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (not random: reproducible)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the supply contract, as GRDF knows them (checked on declare)."""

    nom: str | None
    raison_sociale: str | None
    courriel: str
    code_postal: str


@dataclass(frozen=True, slots=True)
class Address:
    numero_rue: str
    nom_rue: str
    code_postal: str
    commune: str
    complement_adresse: str | None = None


@dataclass(frozen=True, slots=True)
class GasMeter:
    """One emulated PCE (see grdf-flukso-p1.md §1.2 for the sandbox ones)."""

    pce: str
    holder: Holder
    address: Address
    usage: Usage = "flat"
    surface_m2: float = 70.0
    frequency: Frequency = "MM"
    factor: float = 1.0
    """Insulation and habits: multiplies the whole profile."""
    initial_index: int = 1000
    index_digits: int = 5
    """The index rolls over to zero past 10**digits - 1 (``flag_retour_zero``)."""
    meter_change: date | None = None
    """First gas day read on a new meter (its index restarts at 0)."""
    out_of_service: date | None = None
    """First gas day without supply (no data, declarations refused)."""
    injection: bool = False
    """A biomethane injection point (data under ``donnees_injections_publiees``)."""
    absence: tuple[date, date] | None = None
    """[start, end) of a holiday: real zero-consumption days, not missing ones."""
    reading_day: int = 1
    """Day of the month of the cyclic reading (published periods)."""
    sandbox_state: str | None = None
    """For the sandbox PCEs: the state of their pre-existing access right."""
    tags: tuple[str, ...] = field(default=())


@lru_cache(maxsize=8192)
def gas_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Aware [start, end) of gas day ``day``: 06:00 Paris to 06:00 Paris the next day.

    23 h on the last Sunday of March's gas day (Saturday 06:00 to Sunday 06:00
    straddles the 02:00 -> 03:00 jump), 25 h in October; never ambiguous, since
    06:00 is outside both transitions.
    """
    start = datetime.combine(day, GAS_DAY_START, tzinfo=PARIS)
    end = datetime.combine(day + timedelta(days=1), GAS_DAY_START, tzinfo=PARIS)
    return start, end


def gas_day_hours(day: date) -> float:
    start, end = gas_day_bounds(day)
    # in UTC: subtracting two datetimes of the same zone would give wall-clock time
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600


@lru_cache(maxsize=8192)
def temperature(day: date) -> float:
    """Synthetic daily mean temperature of the territory (°C), shared by all PCEs.

    Cached (like :func:`conversion` and :func:`gas_day_bounds`): every PCE asks
    the same days, and four hashes a day per PCE were a quarter of the
    emulator's CPU in `make run`'s demo fill."""
    doy = day.timetuple().tm_yday
    seasonal = 12.5 - 9.5 * math.cos(2 * math.pi * (doy - 15) / 365.25)
    # weather systems last days: sum of three hashed slow waves plus a daily jitter
    ordinal = day.toordinal()
    swing = sum(
        2.2
        * math.sin(2 * math.pi * (ordinal / period + _unit("wave", day.year, period)))
        for period in (5.3, 9.7, 17.1)
    )
    return round(seasonal + swing / 1.6 + 2.0 * (_unit("t", day) - 0.5), 1)


def heating_degree_days(day: date) -> float:
    return max(0.0, 17.0 - temperature(day))


def heating_on(day: date) -> bool:
    """The heating season (1 October to 15 May), as boilers are set in France."""
    return day.month >= 10 or day.month <= 4 or (day.month == 5 and day.day <= 15)


def conversion(day: date) -> tuple[float, float, float]:
    """(coeff_pta, valeur_pcs, coeff_conversion) of the month of ``day``.

    PCS varies a little with the gas mix each month; PTA corrects to normal
    conditions at Échirolles' altitude (about 230 m).
    """
    return _conversion(day.year, day.month)


@lru_cache(maxsize=1024)
def _conversion(year: int, month: int) -> tuple[float, float, float]:
    pta = 0.9865
    pcs = round(11.22 + 0.22 * _unit("pcs", year, month), 3)
    return pta, pcs, round(pta * pcs, 3)


def daily_kwh(meter: GasMeter, day: date) -> float:
    """Gas energy (kWh PCS) of one gas day before rounding to the meter's m³."""
    if day < EPOCH or (meter.out_of_service and day >= meter.out_of_service):
        return 0.0
    if in_absence(meter, day):
        return 0.0
    weekend = day.weekday() >= 5
    professional = meter.usage in ("tertiary", "public")
    heating = 0.0
    if heating_on(day):
        heating = heating_degree_days(day) * meter.surface_m2 * _INTENSITY[meter.usage]
        if professional and weekend:
            heating *= 0.35
    winter = 1 + 0.25 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365.25)
    if professional:
        water = 0.0 if weekend else 0.02 * meter.surface_m2
        cooking = 0.0
    else:
        water = (4.0 + 0.03 * meter.surface_m2) * winter
        cooking = 0.6 + (0.3 if weekend else 0.0)
    noise = 1 + 0.16 * (_unit("n", meter.pce, day) - 0.5)
    return max(0.0, (heating + water + cooking) * meter.factor * noise)


def daily_volume(meter: GasMeter, day: date) -> float:
    """``volume_brut`` of a gas day: m³ to the hundredth (never negative).

    Read from the year's array (computed once per PCE and year): the
    informatives and the indexes ask the same days again and again.
    """
    if day < EPOCH:
        return _volume(meter, day)
    return _year_volumes(meter, day.year)[(day - date(day.year, 1, 1)).days]


@lru_cache(maxsize=32_768)
def _year_volumes(meter: GasMeter, year: int) -> array[float]:
    """Every gas day's volume of ``year`` (365 or 366 values)."""
    out = array("d")
    day = date(year, 1, 1)
    while day.year == year:
        out.append(_volume(meter, day))
        day += timedelta(days=1)
    return out


def _volume(meter: GasMeter, day: date) -> float:
    _, _, coeff = conversion(day)
    return round(daily_kwh(meter, day) / coeff, 2)


def energie(volume: float, day: date) -> int:
    """The published rule: ``energie = round(volume_brut x coeff_conversion)``."""
    return round(volume * conversion(day)[2])


@lru_cache(maxsize=32_768)
def _year_cumulative(meter: GasMeter, year: int) -> array[float]:
    """Cumulative volume since EPOCH before each gas day of ``year`` and after
    its last one (366 or 367 values). One compact array per PCE and year, so a
    benchmark of thousands of PCEs over years stays small in memory."""
    total = _year_cumulative(meter, year - 1)[-1] if year > EPOCH.year else 0.0
    out = array("d", [total])
    for volume in _year_volumes(meter, year):
        total = round(total + volume, 2)
        out.append(total)
    return out


def _cum_total(meter: GasMeter, day: date) -> float:
    if day <= EPOCH:
        return 0.0
    return _year_cumulative(meter, day.year)[(day - date(day.year, 1, 1)).days]


def _cum_before(meter: GasMeter, day: date) -> float:
    """Volume consumed from EPOCH (or the meter change) up to ``day`` 06:00."""
    total = _cum_total(meter, day)
    if meter.meter_change and day >= meter.meter_change:
        total -= _cum_total(meter, meter.meter_change)
    return total


def _raw_index(meter: GasMeter, day: date) -> int:
    changed = meter.meter_change is not None and day >= meter.meter_change
    initial = 0 if changed else meter.initial_index
    return math.floor(initial + _cum_before(meter, day))


def index_at(meter: GasMeter, day: date) -> tuple[int, bool]:
    """Integer m³ index at the start of gas day ``day``, and whether it has rolled
    over to zero since the previous day's start (``flag_retour_zero``)."""
    modulus = 10**meter.index_digits
    raw = _raw_index(meter, day)
    previous = _raw_index(meter, day - timedelta(days=1)) if day > EPOCH else raw
    rolled = raw // modulus > previous // modulus and meter.meter_change != day
    return raw % modulus, rolled


def is_late(meter: GasMeter, day: date, rate: float) -> bool:
    """Whether this gas day is one of the PCE's late ones (missing, then caught up)."""
    return _unit("late", meter.pce, day) < rate


def reading_periods(meter: GasMeter, start: date, end: date) -> list[tuple[date, date]]:
    """Published (billing) periods [a, b) overlapping [start, end).

    ``MM``/``1M`` meters are read monthly on ``reading_day``; ``6M`` meters every
    six months (January and July for even PCE hashes, April and October else);
    ``JJ`` (daily-read industrial) monthly as well.
    """
    step = 6 if meter.frequency == "6M" else 1
    offset = (0 if _unit("6m", meter.pce) < 0.5 else 3) if step == 6 else 0
    bounds: list[date] = []
    year, month = EPOCH.year - 1, 1 + offset
    while True:
        bound = date(year, month, meter.reading_day)
        if bound > end + timedelta(days=200):
            break
        bounds.append(bound)
        month += step
        while month > 12:
            month -= 12
            year += 1
    periods = list(itertools.pairwise(bounds))
    first = bisect_right([b for _, b in periods], start)
    return [(a, b) for a, b in periods[first:] if a < end]


def car_kwh(meter: GasMeter, today: date) -> int:
    """Consommation Annuelle de Référence: energy of the last complete year (kWh)."""
    year = today.year - 1
    day, total = date(year, 1, 1), 0.0
    while day.year == year:
        total += daily_kwh(meter, day)
        day += timedelta(days=1)
    return round(total)


def profile_type(car: int) -> str:
    """GRDF standard profiles by annual consumption (P011 cooking/hot water,
    P012 individual heating, P013/P014 collective and tertiary)."""
    if car < 6000:
        return "P011"
    if car < 30000:
        return "P012"
    if car < 300000:
        return "P013"
    return "P014"


def tariff(car: int) -> str:
    if car < 6000:
        return "T1"
    if car < 300000:
        return "T2"
    if car < 5_000_000:
        return "T3"
    return "T4"


_SANDBOX_HOLDER = Holder("DUPONT", None, "titulaire.bas@example.invalid", "75015")
_SANDBOX_ADDRESS = Address("12", "RUE DU BAC A SABLE", "75015", "PARIS")


def _sandbox(pce: str, state: str, **kwargs: object) -> GasMeter:
    return GasMeter(
        pce,
        holder=_SANDBOX_HOLDER,
        address=_SANDBOX_ADDRESS,
        sandbox_state=state,
        tags=("sandbox",),
        **kwargs,  # type: ignore[arg-type]
    )


SANDBOX: tuple[GasMeter, ...] = (
    # The PCE ids are the sandbox's own (grdf-flukso-p1.md §1.2); which behaviour
    # each one shows beyond its access state is the emulator's choice.
    _sandbox("09999999900617", "Active", usage="house", surface_m2=110),
    _sandbox("09999999975102", "Active", usage="flat", frequency="6M"),
    _sandbox(
        "GI999055",
        "Active",
        usage="tertiary",
        surface_m2=900,
        frequency="JJ",
        initial_index=99_200,
        index_digits=5,
    ),
    _sandbox(
        "GI151947",
        "Active",
        usage="hot_water",
        frequency="1M",
        injection=True,
    ),
    _sandbox("GI999947", "Active", usage="public", surface_m2=1500, frequency="JJ"),
    _sandbox(
        "GI999150",
        "Active",
        usage="house",
        surface_m2=140,
        meter_change=date(2024, 6, 12),
    ),
    _sandbox("09999999932770", "Révoquée", usage="flat"),
    _sandbox("09999999930215", "Obsolète", usage="flat"),
    _sandbox("GI999092", "Active", usage="house", out_of_service=date(2023, 9, 1)),
)


def demo_meter(
    pce: str,
    holder: Holder,
    address: Address,
    usage: Usage,
    surface_m2: float,
) -> GasMeter:
    """A demo PCE: its profile varies with surface, usage and a hashed factor."""
    unit = _unit("demo", pce)
    absence = None
    if unit < 0.2:  # a fifth of homes leave two weeks in August
        start = date(2000, 8, 1 + int(unit * 50))
        absence = (start, start + timedelta(days=14))
    return GasMeter(
        pce,
        holder=holder,
        address=address,
        usage=usage,
        surface_m2=surface_m2,
        frequency="MM",
        factor=round(0.75 + 0.6 * unit, 3),
        initial_index=int(1000 + 40000 * _unit("index", pce)),
        absence=absence,
        reading_day=1 + int(27 * _unit("reading", pce)),
        tags=("demo",),
    )


def in_absence(meter: GasMeter, day: date) -> bool:
    """Demo absences recur every year (same dates), sandbox ones are absolute."""
    if meter.absence is None:
        return False
    start, end = meter.absence
    if start.year == 2000:
        start, end = start.replace(year=day.year), end.replace(year=day.year)
    return start <= day < end


def synthetic_pce(index: int) -> str:
    """Benchmark PCEs: 14 digits, outside the sandbox and demo ranges."""
    return f"29{index:012d}"
