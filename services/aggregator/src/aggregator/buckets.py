"""Local-time buckets (Europe/Paris) and the rule that puts an interval into them.

Bucket rule: a reading covering ``[start, end)`` goes into a bucket
``[bucket_start, bucket_end)`` only if the bucket contains it entirely
(``bucket_start <= start`` and ``end <= bucket_end``). A half-hour value feeds the
PT30M, PT1H, P1D and P1M buckets around it; a daily value feeds P1D and P1M only;
a value straddling two days (e.g. a mis-stamped index delta) feeds only P1M, or
nothing if it straddles months. Nothing is pro-rated: rollups only ever contain
measured values.

Buckets are local periods: a day is [00:00, next 00:00) Paris time, so it lasts
23, 24 or 25 hours; ``bucket_start``/``bucket_end`` are instants (both ends are
explicit, end exclusive). This module is the reference; :mod:`aggregator.rollups`
computes the same buckets in SQL (``date_trunc(…, 'Europe/Paris')``), and the
tests check the two agree on DST days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from energy_core.domain.time import (
    PARIS,
    local_day_bounds,
    local_month_bounds,
    require_aware,
)

BUCKETS: tuple[str, ...] = ("PT30M", "PT1H", "P1D", "P1M")
"""ISO 8601 durations of the rollup buckets, finest first."""


def bucket_bounds(bucket: str, instant: datetime) -> tuple[datetime, datetime]:
    """[start, end) (UTC instants) of the local bucket containing ``instant``."""
    local = require_aware(instant, "instant").astimezone(PARIS)
    if bucket == "PT30M":
        start = local.replace(minute=local.minute - local.minute % 30, second=0)
        start = start.replace(microsecond=0)
        utc = start.astimezone(UTC)
        return utc, utc + timedelta(minutes=30)
    if bucket == "PT1H":
        utc = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return utc, utc + timedelta(hours=1)
    if bucket == "P1D":
        day, end = local_day_bounds(local.date())
        return day.astimezone(UTC), end.astimezone(UTC)
    if bucket == "P1M":
        month, end = local_month_bounds(local.date())
        return month.astimezone(UTC), end.astimezone(UTC)
    raise ValueError(f"unknown bucket {bucket!r}")


def buckets_of(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """The buckets that contain ``[start, end)`` entirely (the bucket rule)."""
    found = []
    for bucket in BUCKETS:
        b_start, b_end = bucket_bounds(bucket, start)
        if end <= b_end:
            found.append((bucket, b_start, b_end))
    return found
