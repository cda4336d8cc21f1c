"""Believable, deterministic load profiles for schools, gyms, offices and homes.

Why deterministic: the flux files, the SOAP answers and a re-run of the demo
must agree on every value (a daily ENERGIE equals the difference of two R151
indexes and the sum of that day's R50 curve), without storing anything. Each
value is a pure function of the PRM and the interval.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sge_emulator.catalogue import Point

PARIS = ZoneInfo("Europe/Paris")
INDEX_EPOCH = date(2022, 1, 1)
"""Cumulative registers count from this day (index = base + energy since)."""


def _easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's name
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """French public holidays (the fixed ones, Easter Monday, Ascension, Whit Monday)."""
    easter = _easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    days = {date(year, m, d) for m, d in fixed}
    days |= {easter + timedelta(days=n) for n in (1, 39, 50)}
    return frozenset(days)


def school_holiday(day: date) -> bool:
    """Approximate zone A (Grenoble) school holidays; exact calendars vary by year."""
    md = (day.month, day.day)
    return (
        md >= (12, 20)
        or md <= (1, 4)
        or (2, 8) <= md <= (2, 23)
        or (4, 5) <= md <= (4, 20)
        or (7, 5) <= md <= (8, 31)
        or (10, 18) <= md <= (11, 2)
    )


def heating_factor(day: date) -> float:
    """0 in summer, up to 1 in mid-January (a cosine over the year)."""
    angle = 2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25
    return float(max(0.0, math.cos(angle)) ** 1.5)


@lru_cache(maxsize=200_000)
def _seed(prm: str) -> int:
    return int.from_bytes(hashlib.sha256(prm.encode()).digest()[:8], "big")


def _noise(seed: int, slot: int) -> float:
    """A cheap deterministic hash of (PRM, slot) in [-1, 1)."""
    x = (seed ^ (slot * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 33
    return (x & 0xFFFF) / 32768.0 - 1.0


def _occupancy(profile: str, local: datetime, closed: bool) -> float:
    """Share of the building's peak use at a local time (0..1)."""
    hour = local.hour + local.minute / 60
    weekday = local.weekday()
    if profile == "school":
        if closed or weekday >= 5 or (weekday == 2 and hour >= 12.5):
            return 0.0
        return 1.0 if 7.5 <= hour < 17.5 else (0.4 if 17.5 <= hour < 19 else 0.0)
    if profile == "gym":
        if closed:
            return 0.1
        if weekday >= 5:
            return 0.8 if 9 <= hour < 18 else 0.0
        return 1.0 if 17 <= hour < 22.5 else (0.35 if 8 <= hour < 17 else 0.0)
    if profile == "office":
        if closed or weekday >= 5:
            return 0.0
        return 1.0 if 8 <= hour < 18.5 else (0.3 if 7 <= hour < 20 else 0.0)
    # home: morning and evening peaks every day
    return 0.7 if 6.5 <= hour < 8.5 else (1.0 if 18 <= hour < 22.5 else 0.25)


def mean_power_w(point: Point, start: datetime, minutes: int) -> int:
    """Mean active power (W) over ``[start, start + minutes)``; ``start`` is aware."""
    local = start.astimezone(PARIS)
    day = local.date()
    seed = _seed(point.prm)
    holidays = public_holidays(day.year)
    closed = day in holidays or (point.profile == "school" and school_holiday(day))
    peak = point.subscribed_kva * 1000 * (0.45 + 0.2 * ((seed % 97) / 97))
    base = peak * (0.08 + 0.04 * ((seed >> 8) % 11) / 11)
    heat = peak * 0.35 * heating_factor(day)
    occupancy = _occupancy(point.profile, local, closed)
    # Heating runs on a schedule: full when occupied, setback otherwise.
    value = base + occupancy * (peak - base) * 0.6 + heat * (0.4 + 0.6 * occupancy)
    slot = int(start.timestamp()) // 60
    value *= 1.0 + 0.08 * _noise(seed, slot)
    return max(0, round(value))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Aware Paris midnights of ``day`` and the next day (23/24/25 h apart)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=PARIS)


def intervals(day: date, minutes: int) -> list[datetime]:
    """UTC starts of the intervals of a Paris day (46/48/50 half-hours)."""
    start, end = day_bounds(day)
    step = timedelta(minutes=minutes)
    out = []
    t = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while t < stop:
        out.append(t)
        t += step
    return out


@lru_cache(maxsize=100_000)
def daily_energy_wh(point: Point, day: date) -> int:
    """Active energy of a Paris day (Wh): the sum of its 30-min curve / 2."""
    return sum(mean_power_w(point, t, 30) for t in intervals(day, 30)) // 2


def max_power(point: Point, day: date) -> tuple[int, datetime]:
    """The day's maximum apparent power (VA, 10-min mean x 1.05) and its instant:
    the end of the peak's 10 minutes, or the day's last second when that end is
    the next midnight (the maximum is filed under the local day of its instant)."""
    start, stop = day_bounds(day)
    best = (-1, start)
    for t in intervals(day, 10):
        va = round(mean_power_w(point, t, 10) * 1.05)
        if va > best[0]:
            best = (va, min(t + timedelta(minutes=10), stop - timedelta(seconds=1)))
    return best


_INDEX_CACHE: dict[str, tuple[date, int]] = {}


def index_wh(point: Point, day: date) -> int:
    """The cumulative register at the END of ``day`` (= 00:00 of day + 1)."""
    base = (_seed(point.prm) % 50_000) * 1000
    cached = _INDEX_CACHE.get(point.prm)
    if cached is not None and cached[0] <= day:
        cursor, total = cached
    else:
        cursor, total = INDEX_EPOCH - timedelta(days=1), base
    while cursor < day:
        cursor += timedelta(days=1)
        total += daily_energy_wh(point, cursor)
    if cached is None or cached[0] < day:
        _INDEX_CACHE[point.prm] = (day, total)
    return total


def split_hp_hc(point: Point, day: date) -> tuple[int, int]:
    """The day's energy split into off-peak (22:00-06:00) and peak hours (Wh)."""
    hc = 0
    hp = 0
    for t in intervals(day, 30):
        wh = mean_power_w(point, t, 30) // 2
        hour = t.astimezone(PARIS).hour
        if hour >= 22 or hour < 6:
            hc += wh
        else:
            hp += wh
    return hp, hc
