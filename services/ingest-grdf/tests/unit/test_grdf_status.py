"""ingest-grdf's status figures come from its own metrics."""

from __future__ import annotations

from ingest_grdf import metrics, status
from ingest_grdf.settings import Settings


def test_requests_made_counts_every_outcome() -> None:
    before = status.requests_made()
    metrics.REQUESTS.labels("informatives", "ok").inc(3)
    metrics.REQUESTS.labels("informatives", "rate_limited").inc()
    assert status.requests_made() == before + 4


def test_caps_follow_the_settings() -> None:
    settings = Settings(requests_per_second=1.0, daily_cap=6000, quota_time_scale=4)
    reporter = status.reporter(settings, None)  # type: ignore[arg-type]
    assert reporter.caps.per_second == 4.0
    assert reporter.caps.per_day == 6000
    assert reporter.caps.per_hour is None
    metrics.BACKFILL_PCES_PENDING.set(7)
    try:
        assert status.pces_pending() == 7
    finally:
        metrics.BACKFILL_PCES_PENDING.set(0)
