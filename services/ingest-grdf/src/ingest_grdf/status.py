"""ingest-grdf's request rate and backlog for the operator page (``ingest_status``).

Apart from the limiter on purpose: the day's use of ADICT's quota is already in
PostgreSQL (``grdf_quota``, shared by every process, which the page reads); this
adds what only the process knows: its current rate (from the requests counter),
the caps it enforces and the PCEs whose first backfill is not finished.
"""

from __future__ import annotations

import asyncpg

from energy_store.ingest_status import Caps, StatusReporter
from ingest_grdf import metrics
from ingest_grdf.settings import Settings

SOURCE = "grdf"


def requests_made() -> float:
    """ADICT requests this process made so far, whatever their outcome."""
    return sum(
        sample.value
        for family in metrics.REQUESTS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def pces_pending() -> float | None:
    """PCEs with an active right whose first-contact backfill is not finished."""
    return sum(
        sample.value
        for family in metrics.BACKFILL_PCES_PENDING.collect()
        for sample in family.samples
    )


def reporter(settings: Settings, pool: asyncpg.Pool) -> StatusReporter:
    """The status reporter of this process; caps as the limiter enforces them
    (the per-second spacing shrinks with ``quota_time_scale``, the daily cap not)."""
    return StatusReporter(
        pool,
        SOURCE,
        calls=requests_made,
        caps=Caps(
            per_second=settings.requests_per_second * settings.quota_time_scale,
            per_day=settings.daily_cap,
        ),
        backlog=pces_pending,
        backlog_unit="PCEs",
        every_s=settings.status_interval_s,
    )
