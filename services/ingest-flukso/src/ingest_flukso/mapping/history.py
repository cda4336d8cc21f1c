"""First contact: the past of a PV sensor from flukso.net, mapped to readings.

Live MQTT only tells what happens from now on; flukso.net keeps a sensor's past
(contract §2.3: 1-minute averages for 24 h, 1-day for a year). When the service
meets a production sensor it has never fetched history for, it asks:

- ``interval=year&resolution=day``: one average power per UTC day for a year
  (365 small points, end-stamped); every whole UTC day that ends at or before
  ``days_until`` (the UTC midnight before the first live minute) becomes ONE
  reading;
- the rest, ``[days_until, first live minute)``, is an ordinary :class:`Gap` that
  the minute backfill fetches (less than 24 h: within the minute history).

So history, backfilled minutes and live minutes never overlap.

Why production sensors only, and why a day reading ends at the Paris midnight:
flukso.net's day buckets are UTC days, ``[00:00Z, 24:00Z)``, i.e. 01:00 to 01:00
Paris time in winter (02:00 to 02:00 in summer), so a bucket straddles two Paris
days. A PV panel produces nothing between 00:00 and 02:00 Paris time (night all
year in France), so the bucket's whole energy lies in ``[00:00Z, Paris midnight)``
and the reading is stamped so: it then fits one Paris day (23 or 22 h, a native
interval, not a ``daily`` series) and the aggregator counts it as that day's gross
production. A consumption sensor draws power at night, so its day bucket would
have to be split by a guess; it gets no day history (its point's settled Enedis
data covers its past anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from energy_core.domain import PARIS, Direction, Energy, Kind, Quality, Reading, Unit
from energy_core.domain.ids import FluksoSensorId
from ingest_flukso.mapping.payloads import SensorInfo
from ingest_flukso.mapping.series import BUCKET, Emitted, Gap

DAY = 86_400
"""flukso.net's ``day`` resolution (UTC days: buckets end on unix multiples)."""
MAX_W = 72_000.0
"""The RRD's range (±20 Wh/s): a larger average cannot come from flukso.net."""


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    """What to fetch for one sensor met for the first time."""

    sensor: FluksoSensorId
    days_until: int
    """Unix s of a UTC midnight: day buckets ending later are left out."""
    gap: Gap | None
    """Minutes ``[days_until, first live minute)`` for the minute backfill."""


def wants_history(info: SensorInfo) -> bool:
    """Whether a sensor's day history maps to Paris days (see the module doc)."""
    return (
        info.type == "electricity"
        and info.direction is Direction.PRODUCTION
        and info.phase is None
    )


def plan(info: SensorInfo, first_ts: int) -> HistoryPlan | None:
    """The history to fetch for a sensor whose first live sample is ``first_ts``.

    Live minutes start at a minute boundary at or after the first sample, so the
    backfilled part ends there (``ceil``) and never overlaps them.
    """
    if not wants_history(info):
        return None
    live = -(-first_ts // BUCKET) * BUCKET
    until = live // DAY * DAY
    gap = Gap(info.sensor, until, live) if live > until else None
    return HistoryPlan(info.sensor, until, gap)


def _paris_midnight_after(start: int) -> int:
    local = datetime.fromtimestamp(start, PARIS)
    nxt = datetime(local.year, local.month, local.day, tzinfo=PARIS) + timedelta(days=1)
    return int(nxt.astimezone(UTC).timestamp())


def day_readings(
    info: SensorInfo,
    until: int,
    points: Sequence[tuple[int, float | None]],
) -> tuple[list[Emitted], list[tuple[tuple[int, float | None], str]]]:
    """Readings from flukso.net day averages (W, end-stamped); and the refused
    points with their reason (for the dead-letter topic).

    ``None`` ("nan", the current day or no data) is a hole, not an error; a bucket
    ending after ``until`` belongs to the minutes and is skipped.
    """
    out: list[Emitted] = []
    refused: list[tuple[tuple[int, float | None], str]] = []
    quality = Quality.ESTIMATED if info.estimated else Quality.RAW
    for point in points:
        end, watts = point
        if watts is None or end > until:
            continue
        if end % DAY:
            refused.append((point, "day bucket does not end on a UTC midnight"))
            continue
        if not 0.0 <= watts <= MAX_W:
            refused.append((point, f"day average {watts} W outside 0..72 kW"))
            continue
        start = end - DAY
        stop = min(end, _paris_midnight_after(start))
        reading = Reading(
            Kind.INTERVAL,
            Unit.WH,
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(stop, UTC),
            round(watts * DAY / 3600, 6),
            quality,
            info.direction,
        )
        out.append(Emitted(info.meter, Energy.ELECTRICITY, reading))
    return out, refused
