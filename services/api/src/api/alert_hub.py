"""Live alerts: the ALERTS topic → an in-process hub → SSE clients and webhooks.

Alert levels follow OpenADR 3 SIMPLE (0 normal, 1 moderate, 2 high, 3 emergency);
each event also carries an OpenADR 3 event-shaped view (``openadr``) so a VEN-like
consumer can read it without knowing SEN1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Any

import asyncpg

from api import queries
from api.privacy import SecrecyRule
from energy_core import topics
from energy_core.domain.time import from_micros
from energy_core.kafka import make_consumer
from energy_core.settings import KafkaSettings
from energy_core.wire import ALERT_CHANGE_NAMES, AlertEvent, decode_alert

logger = logging.getLogger(__name__)
_CHANGES = ALERT_CHANGE_NAMES
Listener = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
Gate = Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]


def _withheld(
    event: dict[str, Any], reason: str | None, *, public: bool = False
) -> dict[str, Any]:
    return {
        **event,
        "load_kw": None,
        "load_suppressed": True,
        "reason": reason,
        "public": public,
    }


async def withhold_load(event: dict[str, Any]) -> dict[str, Any]:
    """The default gate: no database to check the threshold, so no load leaves
    and the event is not public (only the alert system receives it)."""
    return _withheld(event, "the load could not be checked against the threshold")


class AlertGate:
    """The secrecy gate on an event's (net) load, from the sample it was computed on.

    The load of an alert is a neighbourhood aggregate like the live load, so it
    leaves (SSE, webhooks) only under the same rule. ``public`` says whether the
    neighbourhood has at least the threshold of delivery points: only then may
    level, state and times reach anyone but the alert system (webhooks, operators).
    """

    def __init__(self, pool: asyncpg.Pool, rule: SecrecyRule) -> None:
        self._pool, self._rule = pool, rule

    async def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event, with ``load_kw`` withheld unless the sample passes the rule."""
        try:
            at = datetime.fromisoformat(event["occurred_at"])
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(queries.ALERT_SAMPLE, event["iris"], at)
        except (OSError, asyncpg.PostgresError, ValueError):
            logger.warning("alert load withheld: the secrecy check failed")
            return await withhold_load(event)
        verdict = self._rule.check_load(
            meters_reporting=row["meters_reporting"],
            consumers=row["consumers"],
            producers=row["producers"],
            production_kw=row["production_kw"],
            consumers_reporting=row["consumers_reporting"],
            producers_reporting=row["producers_reporting"],
        ).net
        public = (row["points"] or 0) >= self._rule.min_points
        if not verdict.published:
            return _withheld(event, verdict.reason, public=public)
        return {**event, "load_suppressed": False, "reason": None, "public": public}


def alert_event(message: AlertEvent) -> dict[str, Any]:
    """The JSON form of an AlertEvent (instants in ISO 8601 UTC)."""
    occurred = from_micros(message.occurred_at_us).isoformat()
    return {
        "alert_id": message.alert_id,
        "iris": message.iris,
        "change": _CHANGES.get(message.change, "unspecified"),
        "level": message.level,
        "previous_level": message.previous_level,
        "load_kw": message.load_kw,
        "capacity_kw": message.capacity_kw,
        "occurred_at": occurred,
        "openadr": {
            "objectType": "EVENT",
            "eventName": f"congestion-{message.iris}",
            "targets": [message.iris],
            "intervalPeriod": {"start": occurred, "duration": "P9999Y"},
            "intervals": [
                {
                    "id": 0,
                    "payloads": [
                        {"type": "SIMPLE", "values": [message.level]},
                        {
                            "type": "IMPORT_CAPACITY_LIMIT",
                            "values": [message.capacity_kw],
                        },
                    ],
                }
            ],
        },
    }


class AlertHub:
    """Fans events out to SSE subscribers (bounded queues) and listeners (webhooks)."""

    def __init__(self, queue_size: int = 100, gate: Gate = withhold_load) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._listeners: list[Listener] = []
        self._size = queue_size
        self._tasks: set[asyncio.Task[None]] = set()
        self._gate = gate

    def add_listener(self, listener: Listener) -> None:
        """Called (as a background task) for every event."""
        self._listeners.append(listener)

    def set_gate(self, gate: Gate) -> None:
        """What every event passes before it reaches subscribers and listeners."""
        self._gate = gate

    async def publish(self, event: dict[str, Any]) -> None:
        """Delivers to every subscriber; a slow one loses its oldest event, not ours."""
        event = await self._gate(event)
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
        for listener in self._listeners:
            task = asyncio.create_task(listener(event))
            self._tasks.add(task)
            task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        """Forgets a listener task; a failure is logged, never lost in the task set."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("alert listener failed", exc_info=task.exception())

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving every event published while the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def drain(self) -> None:
        """Waits for listener tasks (shutdown, tests)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def consume_alerts(
    settings: KafkaSettings, hub: AlertHub, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """Reads ALERTS from the latest offset (live view; history is in PostgreSQL)."""
    consumer = make_consumer(
        settings,
        [topics.ALERTS],
        group_id=None,
        client_id="api-alerts",
        auto_offset_reset="latest",
    )
    await consumer.start()
    ready.set()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    try:
                        message = decode_alert(record.value)
                    except Exception:  # a bad record is skipped, never fatal
                        logger.warning("undecodable alert record skipped")
                        continue
                    await hub.publish(alert_event(message))
    finally:
        await consumer.stop()
