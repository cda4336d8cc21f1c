"""Costs in euros from dated tariffs: Base, HP/HC (the meter's off-peak hours), Tempo.

Each consumption interval is priced with the tariff in force on its local Paris day
(``valid_from`` ≤ day < ``valid_to``), so a new price never re-prices history; when
grids overlap (a new grid added without closing the previous one) the most recent
``valid_from`` wins, so adding a row is enough to change prices from that day on. The
interval's *start* decides its day and its peak/off-peak period (a half-hour never
straddles a boundary on the 30-minute grid). The standing charge is spread per local
day: monthly charge / days of that month.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from energy_core.domain.time import PARIS

TEMPO_OFFPEAK = ("22:00-06:00",)
"""Tempo HC hours; the Tempo day (its colour) runs 06:00 -> 06:00 local."""


@dataclass(frozen=True, slots=True)
class Tariff:
    """One dated price grid of an option and a subscribed power."""

    option: str
    kva: int
    valid_from: date
    valid_to: date | None
    standing_eur_month: float
    prices: dict[str, float]

    def covers(self, day: date) -> bool:
        """Whether this grid is in force on the local day."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True, slots=True)
class Contract:
    """The meter's supply contract."""

    option: str
    kva: int
    offpeak: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cost:
    """Euros for a period: energy part, standing part, and days left unpriced."""

    energy_eur: float
    standing_eur: float
    kwh: float
    unpriced_days: tuple[date, ...]

    @property
    def total_eur(self) -> float:
        """Energy plus standing charge."""
        return self.energy_eur + self.standing_eur


def _parse_ranges(ranges: Iterable[str]) -> list[tuple[time, time]]:
    parsed = []
    for item in ranges:
        start, end = item.split("-")
        parsed.append((time.fromisoformat(start), time.fromisoformat(end)))
    return parsed


def in_ranges(clock: time, ranges: Sequence[tuple[time, time]]) -> bool:
    """Whether a wall-clock time is in [start, end) of a range (may wrap midnight)."""
    for start, end in ranges:
        if start <= end:
            if start <= clock < end:
                return True
        elif clock >= start or clock < end:
            return True
    return False


def tempo_day(local: datetime) -> date:
    """The Tempo day (06:00 -> 06:00 local) an instant belongs to."""
    return (local - timedelta(hours=6)).date()


def price_key(
    contract: Contract, local: datetime, colours: dict[date, str]
) -> str | None:
    """Which price of the grid applies to an interval starting at ``local``; None
    for a Tempo interval whose day has no known colour (never guessed: a red HP
    kWh costs about five blue ones)."""
    if contract.option == "base":
        return "base"
    if contract.option == "hphc":
        offpeak = in_ranges(local.time(), _parse_ranges(contract.offpeak))
        return "hc" if offpeak else "hp"
    colour = colours.get(tempo_day(local))
    if colour is None:
        return None
    period = "hc" if in_ranges(local.time(), _parse_ranges(TEMPO_OFFPEAK)) else "hp"
    return f"{colour}_{period}"


def in_force(grids: Iterable[Tariff], day: date) -> Tariff | None:
    """The grid in force on a local day: the latest ``valid_from`` covering it."""
    covering = [t for t in grids if t.covers(day)]
    return max(covering, key=lambda t: t.valid_from, default=None)


def cost_of(
    intervals: Iterable[tuple[datetime, float]],
    *,
    contract: Contract,
    tariffs: Sequence[Tariff],
    days: Sequence[date],
    colours: dict[date, str] | None = None,
    whole_days: Iterable[tuple[datetime, float]] = (),
) -> Cost:
    """Prices ``(start, Wh)`` intervals and the standing charge of ``days``.

    ``whole_days`` are days known only by their daily total: priced at the Base
    price, and unpriced under HP/HC or Tempo, whose split a day's total cannot
    give (never guessed).
    """
    colours = colours or {}
    grids = [
        t for t in tariffs if t.option == contract.option and t.kva == contract.kva
    ]

    energy = kwh = 0.0
    unpriced: set[date] = set()
    for start, wh in intervals:
        local = start.astimezone(PARIS)
        grid = in_force(grids, local.date())
        key = price_key(contract, local, colours)
        kwh += wh / 1000
        if grid is None or key is None or key not in grid.prices:
            unpriced.add(local.date())
            continue
        energy += wh / 1000 * grid.prices[key]
    for start, wh in whole_days:
        day = start.astimezone(PARIS).date()
        grid = in_force(grids, day)
        kwh += wh / 1000
        if contract.option != "base" or grid is None or "base" not in grid.prices:
            unpriced.add(day)
            continue
        energy += wh / 1000 * grid.prices["base"]
    standing = 0.0
    for day in days:
        grid = in_force(grids, day)
        if grid is None:
            unpriced.add(day)
            continue
        standing += (
            grid.standing_eur_month / calendar.monthrange(day.year, day.month)[1]
        )
    return Cost(energy, standing, kwh, tuple(sorted(unpriced)))


@dataclass(frozen=True, slots=True)
class GasPrice:
    """A dated regulated benchmark gas price (the CRE's *prix repère*), per band.

    Gas is priced per kWh PCS (what ADICT's ``energie`` counts) with one price
    for every hour, so a gas day's total is enough to price it; the gas day runs
    06:00 -> 06:00 Paris and is priced on the Paris date it starts.
    """

    band: str
    valid_from: date
    valid_to: date | None
    standing_eur_month: float
    eur_per_kwh: float

    def covers(self, day: date) -> bool:
        """Whether this price is in force on the local day."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def gas_cost(
    gas_days: Iterable[tuple[datetime, float]],
    *,
    prices: Sequence[GasPrice],
    band: str = "B1",
) -> Cost:
    """Prices ``(gas day start, Wh PCS)`` totals and the standing charge of those days.

    Never summed with electricity: a resident's bill is the two costs side by side
    (or an explicit total of their euros).
    """
    grids = [p for p in prices if p.band == band]
    energy = standing = kwh = 0.0
    unpriced: set[date] = set()
    for start, wh in gas_days:
        day = start.astimezone(PARIS).date()
        covering = [p for p in grids if p.covers(day)]
        price = max(covering, key=lambda p: p.valid_from, default=None)
        kwh += wh / 1000
        if price is None:
            unpriced.add(day)
            continue
        energy += wh / 1000 * price.eur_per_kwh
        standing += (
            price.standing_eur_month / calendar.monthrange(day.year, day.month)[1]
        )
    return Cost(energy, standing, kwh, tuple(sorted(unpriced)))


@dataclass(frozen=True, slots=True)
class GasBand:
    """A band of the benchmark gas price: annual kWh PCS in ``[min, max)``."""

    band: str
    min_kwh_year: float
    max_kwh_year: float | None

    def holds(self, kwh_year: float) -> bool:
        """Whether a PCE consuming ``kwh_year`` a year falls in this band."""
        return self.min_kwh_year <= kwh_year and (
            self.max_kwh_year is None or kwh_year < self.max_kwh_year
        )


DEFAULT_GAS_BAND = "B1"
"""The band of a home heated by gas, used when GRDF gave neither a CAR nor a
tariff option (e.g. no contract data asked in the right's scope)."""
_OPTION_BANDS = {"T1": "B0", "T2": "B1"}
"""Without a CAR, GRDF's distribution tariff option: T1 is a PCE of under
6,000 kWh a year (cooking and hot water: B0), T2 one of 6,000 to 300,000 (most
often a heated home: B1). T3, T4 and TP are beyond the benchmark bands."""


def gas_band(
    car_kwh: float | None, tariff_option: str | None, bands: Sequence[GasBand]
) -> tuple[str | None, str]:
    """The benchmark band of a PCE and what it was chosen from.

    The CAR (GRDF's reference annual consumption) decides when known (and the
    bands are loaded); else the tariff option; else the heating band. A CAR beyond every band, or a
    T3/T4/TP option, has no band (None): such a PCE is not priced with a
    household benchmark.
    """
    if car_kwh is not None and bands:
        held = next((b.band for b in bands if b.holds(car_kwh)), None)
        return held, f"CAR {round(car_kwh):d} kWh/yr"
    if tariff_option:
        return _OPTION_BANDS.get(tariff_option.upper()), f"option {tariff_option}"
    return DEFAULT_GAS_BAND, "no CAR nor option known"
