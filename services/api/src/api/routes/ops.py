"""Operator facts the dashboard shows that only PostgreSQL holds, and public references.

``/v1/ops/ingestion``: per source (``series.scheme``: prm = Enedis, pce = GRDF,
flukso), how many series, the newest reading and how many series are stale, plus
the Enedis backlog (days not yet fetched, open holes), and SGE's flux files
(handled, dead-lettered with their reason, newest); per source too, the dead
letters every service sent to the dead-letter topic (stored by the aggregator:
counts over 24 h and 7 days, the newest reasons, scrubbed of meter ids), and the
quota use each collector writes every few seconds (``ingest_status``: calls today
against the caps, the current rate, its backlog; GRDF's day count is its shared
quota row), SGE's sites still to enrol, and the federation peers' newest
aggregate. Counts and reasons only; no meter id leaves.

``/v1/reference/tempo-days``: the Tempo calendar (public RTE data) that colours a
resident's daily bars.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import queries
from api.deps import Operator, PoolDep
from api.periods import day_span
from energy_core.domain.time import PARIS
from energy_core.observability import scrub

router = APIRouter(tags=["operations"])

STALE_AFTER = {
    "enedis": timedelta(hours=36),
    "grdf": timedelta(days=3),
    "grdf published": timedelta(days=215),
    "flukso": timedelta(hours=26),
}
"""A series is stale when nothing newer than now minus its source's own delay has
come. Enedis publishes day D after ~08:00 on D+1 and the collector asks once a
day: the newest end (D+1 00:00) is up to 32 h old before it is late. GRDF's
informatives come D+1/D+2 after the gas day ends at 06:00: up to 3 days. GRDF's
published readings cover months (monthly or half-yearly): about 7 months. A
FluksoMeter publishes every minute: a whole day without a reading is late. (One
threshold for all, 26 h, flagged every gas series and, each morning before
08:00, every Enedis one.)"""

SOURCES = {"prm": "enedis", "pce": "grdf", "flukso": "flukso"}

SERVICE_SOURCES = {
    "ingest-enedis": "enedis",
    "ingest-grdf": "grdf",
    "ingest-flukso": "flukso",
    "ingest-sge": "sge",
}
"""Dead letters of a collector are its source's; the others (aggregator,
federation-gateway, unreadable ones) are listed under their service's name."""

STATUS_FRESH = timedelta(seconds=60)
"""A status row older than this no longer gives a rate (its process is gone)."""

QUOTA_REPORTERS = frozenset({"enedis", "grdf"})
"""Collectors that write their quota use (``ingest_status``). flukso.net publishes
no rate limit and SGE's quotas are per contract (not modelled): neither counts."""

REASONS_SHOWN = 5
"""Newest distinct reasons listed per service."""


class DeadLetterReason(BaseModel):
    reason: str = Field(description="why it was refused (meter ids replaced by [id])")
    error_type: str
    count: int = Field(description="letters with this reason over the last 7 days")
    first_seen: datetime
    last_seen: datetime


class DeadLetters(BaseModel):
    service: str
    source: str = Field(description="the source of a collector, else the service")
    last_24h: int
    last_7d: int
    last_seen: datetime
    reasons: list[DeadLetterReason] = Field(
        description=f"the {REASONS_SHOWN} newest distinct reasons"
    )


class QuotaUse(BaseModel):
    calls_today: int = Field(description="upstream calls of the Paris day")
    cap_per_day: int | None
    cap_per_hour: int | None
    cap_per_s: float | None
    rate_per_s: float = Field(description="calls per second of the running processes")
    calls_last_hour: int | None = Field(
        default=None,
        description="calls in the hour window of an hourly quota (Enedis Q4), "
        "against cap_per_hour; null without one",
    )
    updated_at: datetime = Field(description="newest status written by a collector")


class SourceHealth(BaseModel):
    source: str
    series: int | None = Field(description="null for sge (its readings are PRMs')")
    newest_reading_end: datetime | None = Field(
        description="end of the newest stored interval, any series of the source"
    )
    stale_series: int | None = Field(
        description="no reading ending after now minus the source's delay "
        f"({', '.join(f'{k} {v}' for k, v in STALE_AFTER.items())})"
    )
    backlog_days: int | None = Field(
        default=None,
        description="Enedis: days between each cursor and yesterday, summed",
    )
    open_holes: int | None = Field(
        default=None, description="Enedis: days asked and not yet delivered"
    )
    stopped_cursors: int | None = Field(
        default=None, description="Enedis: cursors stopped with a reason"
    )
    files_handled: int | None = Field(
        default=None, description="SGE: flux files handled (R50, R151, R171)"
    )
    dead_letters: int | None = Field(
        default=None,
        description="SGE: flux files dead-lettered (recorded in PostgreSQL with "
        "their reason); the dead-letter topic's are in dead_letters_24h/7d",
    )
    newest_file_at: datetime | None = Field(
        default=None, description="SGE: when the newest flux file was handled"
    )
    dead_letters_24h: int = Field(
        default=0, description="dead letters of the source's collector, last 24 h"
    )
    dead_letters_7d: int = Field(
        default=0, description="dead letters of the source's collector, last 7 days"
    )
    quota: QuotaUse | None = Field(
        default=None, description="null: the collector wrote no status today"
    )
    quota_note: Literal["no_status_today", "no_quota_known"] | None = Field(
        default=None,
        description="why quota is null: the collector wrote no status today, or "
        "the source has no known upstream quota (its calls are not counted)",
    )
    backlog: float | None = Field(
        default=None, description="what the collector says is still to collect"
    )
    backlog_unit: str | None = Field(
        default=None, description="days (enedis), PCEs (grdf), sites (sge: to enrol)"
    )


class PeerHealth(BaseModel):
    domain: str = Field(description="a federated collective (not a person)")
    newest_received_at: datetime | None = Field(
        description="when its newest aggregate arrived here"
    )
    newest_bucket_start: datetime | None = Field(
        description="start of the newest bucket it sent"
    )
    failing_since: datetime | None = Field(
        description="our deliveries to its subscriptions fail since then"
    )


class IngestionHealth(BaseModel):
    at: datetime
    sources: list[SourceHealth]
    dead_letters: list[DeadLetters] = Field(
        description="per service that sent any over the last 7 days"
    )
    peers: list[PeerHealth] = Field(description="federation peers not revoked")
    not_here: list[str] = Field(
        description="what this route cannot know (metrics and Kafka hold it)"
    )


class TempoDay(BaseModel):
    day: date
    colour: str


@router.get("/v1/ops/ingestion")
async def ingestion(user: Operator, pool: PoolDep) -> IngestionHealth:
    """Freshness, backlog, quota use and dead letters per source (operators only)."""
    now = datetime.now(PARIS)
    yesterday = now.date() - timedelta(days=1)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            queries.INGESTION_FRESHNESS,
            now,
            STALE_AFTER["enedis"],
            STALE_AFTER["grdf"],
            STALE_AFTER["grdf published"],
            STALE_AFTER["flukso"],
        )
        enedis = await conn.fetchrow(queries.ENEDIS_BACKLOG, yesterday)
        sge = await conn.fetchrow(queries.SGE_FILES)
        counts = await conn.fetch(
            queries.DEAD_LETTER_COUNTS, now - timedelta(days=1), now - timedelta(days=7)
        )
        reasons = await conn.fetch(
            queries.DEAD_LETTER_REASONS, now - timedelta(days=7), REASONS_SHOWN
        )
        status = await conn.fetch(queries.INGEST_STATUS, now.date(), now - STATUS_FRESH)
        grdf_used = await conn.fetchval(queries.GRDF_QUOTA_USED, now.date())
        sge_todo = await conn.fetchval(queries.SGE_BACKLOG)
        peers = [
            PeerHealth(**dict(r)) for r in await conn.fetch(queries.FEDERATION_PEERS)
        ]
    letters = _dead_letters(counts, reasons)
    found = {r["scheme"]: r for r in rows}
    sources = []
    for scheme, name in SOURCES.items():
        r = found.get(scheme)
        health = SourceHealth(
            source=name,
            series=r["series"] if r else 0,
            newest_reading_end=r["newest"] if r else None,
            stale_series=r["stale"] if r else 0,
        )
        if scheme == "prm" and enedis is not None:
            health.backlog_days = enedis["backlog_days"]
            health.open_holes = enedis["open_holes"]
            health.stopped_cursors = enedis["stopped"]
        sources.append(health)
    # SGE's readings land on the PRMs' series (scheme prm, shown under enedis);
    # what is SGE's own is the flux files it handled and dead-lettered.
    sources.append(
        SourceHealth(
            source="sge",
            series=None,
            newest_reading_end=None,
            stale_series=None,
            files_handled=sge["files"] if sge else 0,
            dead_letters=sge["dead"] if sge else 0,
            newest_file_at=sge["newest"] if sge else None,
            backlog=sge_todo or 0,
            backlog_unit="sites",
        )
    )
    by_status = {r["source"]: r for r in status}
    for health in sources:
        for letter in letters:
            if letter.source == health.source:
                health.dead_letters_24h += letter.last_24h
                health.dead_letters_7d += letter.last_7d
        st = by_status.get(health.source)
        if st is not None:
            calls = st["calls_today"]
            if health.source == "grdf" and grdf_used is not None:
                calls = max(calls, grdf_used)  # every process's calls, shared row
            health.quota = QuotaUse(
                calls_today=calls,
                cap_per_day=st["cap_per_day"],
                cap_per_hour=st["cap_per_hour"],
                cap_per_s=st["cap_per_s"],
                rate_per_s=round(st["rate_per_s"], 3),
                calls_last_hour=st["calls_last_hour"],
                updated_at=st["updated_at"],
            )
            health.backlog = st["backlog"]
            health.backlog_unit = st["backlog_unit"]
    for health in sources:
        if health.quota is None:
            health.quota_note = (
                "no_status_today"
                if health.source in QUOTA_REPORTERS
                else "no_quota_known"
            )
    not_here = [
        f"quota use ({h.source}): "
        + (
            "no status written today"
            if h.quota_note == "no_status_today"
            else "no upstream quota known, calls not counted"
        )
        for h in sources
        if h.quota is None
    ]
    return IngestionHealth(
        at=now, sources=sources, dead_letters=letters, peers=peers, not_here=not_here
    )


def _dead_letters(
    counts: list[asyncpg.Record], reasons: list[asyncpg.Record]
) -> list[DeadLetters]:
    """Per service: its counts and its newest reasons (rows of the two queries)."""
    by_service: dict[str, list[DeadLetterReason]] = {}
    for r in reasons:
        by_service.setdefault(r["service"], []).append(
            DeadLetterReason(  # scrubbed by the aggregator; again here, at egress
                reason=scrub(r["reason"]),
                error_type=r["error_type"],
                count=r["count"],
                first_seen=r["first_seen"],
                last_seen=r["last_seen"],
            )
        )
    return sorted(
        (
            DeadLetters(
                service=c["service"],
                source=SERVICE_SOURCES.get(c["service"], c["service"]),
                last_24h=c["day"],
                last_7d=c["week"],
                last_seen=c["last_seen"],
                reasons=by_service.get(c["service"], []),
            )
            for c in counts
        ),
        key=lambda d: (-d.last_24h, -d.last_7d, d.service),
    )


@router.get("/v1/reference/tempo-days")
async def tempo_days(
    pool: PoolDep,
    start: date,
    end: Annotated[date, Query(description="exclusive")],
) -> list[TempoDay]:
    """Tempo day colours (RTE's public calendar) of the local days [start, end)."""
    day_span(start, end)  # the same bounds as every other span
    async with pool.acquire() as conn:
        colours = await queries.tempo_colours(
            conn, first=start, last=end - timedelta(days=1)
        )
    return [TempoDay(day=d, colour=c) for d, c in sorted(colours.items())]
