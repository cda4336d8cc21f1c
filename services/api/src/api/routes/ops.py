"""Operator facts the dashboard shows that only PostgreSQL holds, and public references.

``/v1/ops/ingestion``: per source (``series.scheme``: prm = Enedis, pce = GRDF,
flukso), how many series, the newest reading and how many series are stale, plus
the Enedis backlog (days not yet fetched, open holes), and SGE's flux files
(handled, dead-lettered with their reason, newest). Quota use and the other
sources' dead letters live in the services' metrics and in Kafka, not here: the
page says so instead of guessing. Counts only; no meter id leaves.

``/v1/reference/tempo-days``: the Tempo calendar (public RTE data) that colours a
resident's daily bars.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import queries
from api.deps import Operator, PoolDep
from api.periods import day_span
from energy_core.domain.time import PARIS

router = APIRouter(tags=["operations"])

STALE_AFTER = timedelta(hours=26)
"""A series with nothing newer is stale: Enedis delivers yesterday's curve once a
day, so a day and a margin; a live source (flukso) is stale long before."""

SOURCES = {"prm": "enedis", "pce": "grdf", "flukso": "flukso"}


class SourceHealth(BaseModel):
    source: str
    series: int | None = Field(description="null for sge (its readings are PRMs')")
    newest_reading_end: datetime | None = Field(
        description="end of the newest stored interval, any series of the source"
    )
    stale_series: int | None = Field(
        description=f"no reading ending after now - {STALE_AFTER}"
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
        "their reason); other sources' dead letters are only on the Kafka topic",
    )
    newest_file_at: datetime | None = Field(
        default=None, description="SGE: when the newest flux file was handled"
    )


class IngestionHealth(BaseModel):
    at: datetime
    sources: list[SourceHealth]
    not_here: list[str] = Field(
        description="what this route cannot know (metrics and Kafka hold it)"
    )


class TempoDay(BaseModel):
    day: date
    colour: str


@router.get("/v1/ops/ingestion")
async def ingestion(user: Operator, pool: PoolDep) -> IngestionHealth:
    """Freshness and backlog per source, from the database (operators only)."""
    now = datetime.now(PARIS)
    yesterday = now.date() - timedelta(days=1)
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.INGESTION_FRESHNESS, now - STALE_AFTER)
        enedis = await conn.fetchrow(queries.ENEDIS_BACKLOG, yesterday)
        sge = await conn.fetchrow(queries.SGE_FILES)
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
        )
    )
    return IngestionHealth(
        at=now,
        sources=sources,
        not_here=["quota use", "dead letters (enedis, grdf, flukso)"],
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
