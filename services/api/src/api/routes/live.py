"""Live load per neighbourhood, alert history, and both as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api import queries
from api.auth import Principal
from api.deps import PoolDep, SecrecyDep, SignedIn
from api.privacy import SecrecyRule
from api.ratelimit import event_stream
from api.schemas import AlertPage, AlertPublic, LoadPublic

router = APIRouter(prefix="/v1", tags=["live"])
MaxEvents = Annotated[
    int | None, Query(ge=1, le=10_000, description="close after this many events")
]


def alert_system(user: Principal) -> bool:
    """The alert system's own credentials receive every alert: its key (scope
    ``alerts``), operator sessions, and webhooks (which operators subscribe, fed
    from the hub directly); anyone else only those of neighbourhoods with enough
    delivery points to be public."""
    return user.kind in ("operator", "alerts")


def _visible(user: Principal, iris: str) -> bool:
    if user.kind != "city":
        return True
    return (
        iris[:5] == user.scope_id if user.scope == "commune" else iris == user.scope_id
    )


def _territory(user: Principal) -> tuple[str | None, str | None]:
    """(commune, iris) a city key is limited to, for the SQL filters."""
    if user.kind != "city":
        return None, None
    if user.scope == "commune":
        return user.scope_id, None
    return None, user.scope_id


def _load(row: Any, rule: SecrecyRule) -> LoadPublic:
    # The load of a neighbourhood is an aggregate of its reporting delivery points.
    verdict = rule.check_load(
        meters_reporting=row["meters_reporting"],
        consumers=row["consumers"],
        producers=row["producers"],
        production_kw=row["production_kw"],
        consumers_reporting=row["consumers_reporting"],
        producers_reporting=row["producers_reporting"],
    )
    shown = verdict.consumption.published
    return LoadPublic(
        iris=row["iris"],
        name=row["name"],
        at=row["at"],
        consumption_kw=row["consumption_kw"] if shown else None,
        production_kw=row["production_kw"] if verdict.production.published else None,
        capacity_kw=row["capacity_kw"],
        meters_reporting=row["meters_reporting"] if shown else None,
        suppressed=not shown,
        reason=verdict.consumption.reason,
        production_suppressed=not verdict.production.published,
        production_reason=verdict.production.reason,
        live_measured=bool(row["live_measured"]),
    )


async def _loads(pool: asyncpg.Pool, user: Principal, rule: SecrecyRule) -> list[Any]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.LIVE_LOAD, *_territory(user))
    return [_load(r, rule) for r in rows]


@router.get("/live/load")
async def live_load(
    user: SignedIn, pool: PoolDep, rule: SecrecyDep
) -> list[LoadPublic]:
    """Latest load sample of each neighbourhood, against its capacity."""
    return await _loads(pool, user, rule)


@router.get("/alerts")
async def alerts(
    user: SignedIn,
    pool: PoolDep,
    rule: SecrecyDep,
    state: Annotated[str | None, Query(pattern="^(active|cleared)$")] = None,
    iris: Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{7}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlertPage:
    """Congestion alerts, newest first; the peak load passes the secrecy gate.

    Level, state and times of a neighbourhood with fewer delivery points than the
    secrecy threshold are not public: such alerts are left out (in SQL, so paging
    stays right) for everyone but the alert system's operators."""
    floor = None if alert_system(user) else rule.min_points
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            queries.ALERTS, state, iris, limit, offset, *_territory(user), floor
        )
    items = []
    for r in rows:
        verdict = rule.check_load(
            meters_reporting=r["fewest"],
            consumers=r["consumers"],
            producers=r["producers"],
            production_kw=r["most_production"],
            consumers_reporting=r["fewest_consumers"],
            producers_reporting=r["fewest_producers"],
        ).net
        items.append(
            AlertPublic(
                alert_id=r["alert_id"],
                iris=r["iris"],
                level=r["level"],
                peak_level=max(r["level"], r["peak_level"] or 0),
                state=r["state"],
                raised_at=r["raised_at"],
                updated_at=r["updated_at"],
                cleared_at=r["cleared_at"],
                peak_load_kw=r["peak_load_kw"] if verdict.published else None,
                capacity_kw=r["capacity_kw"],
                load_suppressed=not verdict.published,
                reason=verdict.reason,
            )
        )
    return AlertPage(items=items, limit=limit, offset=offset)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get(
    "/stream/alerts",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"description": "too many open streams for this account or key"},
    },
)
async def stream_alerts(
    request: Request, user: SignedIn, max_events: MaxEvents = None
) -> StreamingResponse:
    """Alert lifecycle events as they happen (``event: alert``); keep-alive 15 s.
    Events of neighbourhoods below the secrecy threshold of delivery points reach
    only the alert system's operators (see :func:`alert_system`).

    429 beyond ``API_SSE_MAX_STREAMS_PER_CALLER`` open streams of one account or key.
    """
    hub = request.app.state.hub

    async def events() -> AsyncIterator[str]:
        sent = 0
        async with hub.subscribe() as queue:
            yield ": connected\n\n"
            while max_events is None or sent < max_events:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if _visible(user, event["iris"]) and (
                    alert_system(user) or event.get("public") is True
                ):
                    sent += 1
                    yield _sse("alert", event)

    return event_stream(request, user, events())


@router.get(
    "/stream/load",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"description": "too many open streams for this account or key"},
    },
)
async def stream_load(
    request: Request,
    user: SignedIn,
    pool: PoolDep,
    rule: SecrecyDep,
    max_events: MaxEvents = None,
    every_s: Annotated[float, Query(ge=0.2, le=60)] = 2.0,
) -> StreamingResponse:
    """The live load of every visible neighbourhood every ``every_s`` seconds.

    Counted with ``/stream/alerts`` against the caller's open-stream limit.
    """

    async def events() -> AsyncIterator[str]:
        sent = 0
        while max_events is None or sent < max_events:
            loads = [
                load.model_dump(mode="json") for load in await _loads(pool, user, rule)
            ]
            sent += 1
            yield _sse("load", loads)
            await asyncio.sleep(every_s)

    return event_stream(request, user, events())
