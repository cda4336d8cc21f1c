"""ingest-enedis' quota use and backlog for the operator page (``ingest_status``).

Kept apart from the collection loop on purpose: it only reads what the service
already counts (the shared limiter's acquisitions, the backfill gauge) and hands
it to :class:`energy_store.ingest_status.StatusReporter`, which writes one row
every few seconds. Caps are Data Connect's application quotas as configured
(Q3 per second, Q4 per hour; the day's cap is 24 hours of Q4), times
``quota_time_scale`` (the demo's and benchmarks' shrunk windows), i.e. the rate
the limiter actually allows. Q4 binds a backfill, so the hour window's use is
reported too: the share of it the limiter has used (``usage()``, the metric's
source) times the hourly cap, i.e. the calls of the last hour (of the shrunk
window, scaled back, in benchmarks).
"""

from __future__ import annotations

import asyncpg
from prometheus_client import REGISTRY

from energy_store.ingest_status import Caps, StatusReporter
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.settings import Settings

SOURCE = "enedis"


def backlog_days() -> float | None:
    """Days still to collect over the PRMs and streams seen (the metric's value)."""
    return REGISTRY.get_sample_value("ingest_enedis_backfill_days_remaining")


def reporter(
    settings: Settings, pool: asyncpg.Pool, limiter: SlidingWindowLimiter
) -> StatusReporter:
    """The status reporter of this process (every call goes through ``limiter``)."""
    scale = settings.quota_time_scale
    per_hour = round(settings.requests_per_hour * scale)
    return StatusReporter(
        pool,
        SOURCE,
        calls=lambda: limiter.acquired,
        caps=Caps(
            per_second=settings.requests_per_second * scale,
            per_hour=per_hour,
            per_day=24 * per_hour,
        ),
        backlog=backlog_days,
        backlog_unit="days",
        last_hour=lambda: round(limiter.usage()[1] * per_hour),
        every_s=settings.status_interval_s,
    )
