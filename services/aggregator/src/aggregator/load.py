"""Live load per neighbourhood and the congestion detector (one leader at a time).

Every worker keeps its meters' last instantaneous power in
``aggregator_meter_power``; the worker holding the PostgreSQL advisory lock
:data:`~aggregator.power.LEADER_LOCK` samples the sum per neighbourhood every
``sample_interval_s`` into ``neighbourhood_load`` (with ``meters_stale``: meters
whose last power is older than ``stale_after_s``; stale meters count for nothing;
samples older than ``load_retention_h`` are deleted),
feeds the congestion state machine with the NET load (consumption - production,
floored at 0) and records the alert lifecycle, each change with its event in the
alerts outbox (same transaction; :mod:`aggregator.outbox` publishes them). On
taking the lead it reloads the active alerts, so a restart neither re-raises nor
forgets an alert.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import asyncpg

from aggregator import outbox, power
from aggregator.congestion import CongestionPolicy, CongestionState, Transition
from energy_core.domain.time import to_micros
from energy_core.wire import ALERT_CHANGES, AlertEvent

logger = logging.getLogger(__name__)

_PRUNE_EVERY = timedelta(minutes=1)
"""How often the leader deletes load samples older than the retention."""

_CHANGE = ALERT_CHANGES


class LoadMonitor:
    """Samples load, runs one CongestionState per IRIS, writes and publishes alerts."""

    def __init__(
        self,
        policy: CongestionPolicy,
        stale_after: timedelta,
        retention: timedelta = timedelta(hours=24),
    ) -> None:
        self.policy = policy
        self.stale_after = stale_after
        self.retention = retention
        self.states: dict[str, CongestionState] = {}
        self.alert_ids: dict[str, uuid.UUID] = {}
        self.loaded = False
        self._pruned: datetime | None = None

    async def reload(self, conn: asyncpg.Connection) -> None:
        """Restores the active alerts (level and id) after a restart or a new lead."""
        self.states.clear()
        self.alert_ids.clear()
        for r in await conn.fetch(
            "SELECT alert_id, iris, level FROM alerts WHERE state = 'active'"
        ):
            self.states[r["iris"]] = CongestionState(level=r["level"])
            self.alert_ids[r["iris"]] = r["alert_id"]
        self.loaded = True

    async def sample(self, conn: asyncpg.Connection, now: datetime) -> list[Transition]:
        """One sample of every neighbourhood; returns the transitions it caused."""
        if not self.loaded:
            await self.reload(conn)
        rows = await conn.fetch(power.LIVE_LOAD, now - self.stale_after)
        transitions: list[tuple[str, Transition]] = []
        async with conn.transaction():
            for r in rows:
                await conn.execute(
                    power.INSERT_LOAD, r["iris"], now, r["consumption_kw"],
                    r["production_kw"], r["capacity_kw"], r["meters_reporting"],
                    r["meters_stale"], r["consumers_reporting"],
                    r["producers_reporting"],
                )  # fmt: skip
                net = max(r["consumption_kw"] - r["production_kw"], 0.0)
                state = self.states.setdefault(r["iris"], CongestionState())
                change = state.observe(self.policy, net, r["capacity_kw"], now)
                if change is not None:
                    await self._record(conn, r["iris"], change)
                    await conn.execute(
                        outbox.ENQUEUE,
                        r["iris"],
                        self._event(r["iris"], change).SerializeToString(),
                    )
                    transitions.append((r["iris"], change))
        if self._pruned is None or now - self._pruned >= _PRUNE_EVERY:
            await conn.execute(power.PRUNE_LOAD, now - self.retention)
            await conn.execute(outbox.PRUNE, now - self.retention)
            self._pruned = now
        return [t for _, t in transitions]

    async def _record(self, conn: asyncpg.Connection, iris: str, t: Transition) -> None:
        if t.change == "raised":
            self.alert_ids[iris] = uuid.uuid4()
            await conn.execute(
                """INSERT INTO alerts (alert_id, iris, level, state, raised_at,
                       updated_at, peak_load_kw, capacity_kw)
                   VALUES ($1, $2, $3, 'active', $4, $4, $5, $6)""",
                self.alert_ids[iris], iris, t.level, t.at, t.load_kw, t.capacity_kw,
            )  # fmt: skip
        else:
            await conn.execute(
                """UPDATE alerts SET level = $2, updated_at = $3,
                       peak_load_kw = greatest(peak_load_kw, $4), capacity_kw = $5,
                       state = CASE WHEN $6 THEN 'cleared' ELSE state END,
                       cleared_at = CASE WHEN $6 THEN $3 ELSE cleared_at END
                   WHERE alert_id = $1""",
                self.alert_ids[iris], t.level, t.at, t.load_kw, t.capacity_kw,
                t.change == "cleared",
            )  # fmt: skip
        await conn.execute(
            """INSERT INTO alert_events (alert_id, occurred_at, change, level,
                   previous_level, load_kw, capacity_kw)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            self.alert_ids[iris], t.at, t.change, t.level, t.previous_level,
            t.load_kw, t.capacity_kw,
        )  # fmt: skip

    def _event(self, iris: str, t: Transition) -> AlertEvent:
        return AlertEvent(
            alert_id=str(self.alert_ids[iris]),
            iris=iris,
            change=_CHANGE[t.change],
            level=t.level,
            previous_level=t.previous_level,
            load_kw=t.load_kw,
            capacity_kw=t.capacity_kw,
            occurred_at_us=to_micros(t.at),
        )
