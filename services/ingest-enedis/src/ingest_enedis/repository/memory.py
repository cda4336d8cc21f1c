"""An in-memory repository: the fake of the port for unit tests of the loop.

It keeps the rules of the SQL (see :mod:`ingest_enedis.repository`), and the
contract test runs the same scenarios against it and against PostgreSQL. Tests
seed it with :meth:`add_consent` and :meth:`add_parcel`; ``now`` stands for the
database's clock (``now()`` in SQL).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from ingest_enedis.cursor import MAX_HOLE_ATTEMPTS, Cursor
from ingest_enedis.mapping import Address, Contract, Parcel, building_at
from ingest_enedis.repository import KnownUsagePoint
from ingest_enedis.streams import Stream


@dataclass
class _Consent:
    consent_id: str
    meter_id: str
    starts_at: datetime
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class _Hole:
    reason: str
    next_attempt_at: datetime
    attempts: int = 1
    resolved_at: datetime | None = None


@dataclass
class _UsagePoint:
    contract: Contract | None
    address: Address | None
    placement: str
    last_activation_date: date | None
    updated_at: datetime


@dataclass
class MemoryRepository:
    """:class:`~ingest_enedis.repository.Repository` in dictionaries."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    consents: list[_Consent] = field(default_factory=list)
    cursors: dict[tuple[str, str], Cursor] = field(default_factory=dict)
    cursor_updated: dict[tuple[str, str], datetime] = field(default_factory=dict)
    holes: dict[tuple[str, str, date], _Hole] = field(default_factory=dict)
    usage_points: dict[str, _UsagePoint] = field(default_factory=dict)
    buildings: dict[str, str | None] = field(default_factory=dict)
    """meter -> building (None: unplaced), as ``meters.building_id``."""
    parcels: dict[str, list[Parcel]] = field(default_factory=dict)
    """commune INSEE -> its parcels (a known commune may have none)."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- seeding (what the api and the registry write in production) --------

    def add_consent(
        self,
        prm: str,
        starts_at: datetime,
        expires_at: datetime,
        *,
        created_at: datetime | None = None,
    ) -> str:
        """A resident's *verified* consent for ``prm`` (the meter row is created if
        needed); pending ones are never collected, so they are not modelled here."""
        consent_id = f"consent-{next(self._ids)}"
        self.consents.append(
            _Consent(consent_id, prm, starts_at, expires_at, created_at or self.now())
        )
        self.buildings.setdefault(prm, None)
        return consent_id

    def add_parcel(self, insee: str, parcel: Parcel | None = None) -> None:
        """A commune of the territory, and optionally one of its parcels."""
        self.parcels.setdefault(insee, [])
        if parcel is not None:
            self.parcels[insee].append(parcel)

    def open_holes(self, prm: str, stream: Stream) -> list[date]:
        """Unresolved holes of one stream (for assertions)."""
        return sorted(
            day
            for (p, s, day), hole in self.holes.items()
            if (p, s) == (prm, stream.short) and hole.resolved_at is None
        )

    # -- the port -----------------------------------------------------------

    async def resume_reconsented(self) -> int:
        resumed = 0
        for key, state in self.cursors.items():
            if state.stopped_reason != "consent_revoked":
                continue
            since = self.cursor_updated[key]
            if any(
                c.meter_id == key[0] and c.revoked_at is None and c.created_at > since
                for c in self.consents
            ):
                self._set(key, replace(state, stopped_reason=None))
                resumed += 1
        return resumed

    async def consented_prms(self, now: datetime) -> list[str]:
        return sorted(
            {
                c.meter_id
                for c in self.consents
                if c.revoked_at is None and c.starts_at <= now < c.expires_at
            }
        )

    async def cursor(self, prm: str, stream: Stream) -> Cursor | None:
        return self.cursors.get((prm, stream.short))

    async def start_cursor(
        self, prm: str, stream: Stream, history_from: date
    ) -> Cursor:
        key = (prm, stream.short)
        if key not in self.cursors:
            self._set(key, Cursor(history_from, history_from, None))
        return self.cursors[key]

    async def due_holes(self, prm: str, stream: Stream, now: datetime) -> list[date]:
        return sorted(
            day
            for (p, s, day), hole in self.holes.items()
            if (p, s) == (prm, stream.short)
            and hole.resolved_at is None
            and hole.next_attempt_at <= now
            and hole.attempts < MAX_HOLE_ATTEMPTS
        )

    async def advance(
        self,
        prm: str,
        stream: Stream,
        until: date,
        holes: Sequence[date],
        reason: str,
        retry_at: datetime,
        *,
        history_from: date | None = None,
    ) -> None:
        key = (prm, stream.short)
        state = self.cursors[key]
        self._record(prm, stream, holes, reason, retry_at)
        start = state.history_from
        if history_from is not None and state.fetched_until <= state.history_from:
            start = max(state.history_from, history_from)
        self._set(
            key,
            replace(
                state, fetched_until=max(state.fetched_until, until), history_from=start
            ),
        )

    async def refill(
        self,
        prm: str,
        stream: Stream,
        asked: Sequence[date],
        holes: Sequence[date],
        reason: str,
        retry_at: datetime,
        *,
        never: str | None = None,
    ) -> None:
        if never is not None:
            self._resolve(prm, stream, asked, never)
        missing = set(holes)
        self._resolve(prm, stream, [d for d in asked if d not in missing])
        self._record(prm, stream, holes, reason, retry_at)

    async def stop_stream(self, prm: str, stream: Stream, reason: str) -> None:
        key = (prm, stream.short)
        if key in self.cursors:
            self._set(key, replace(self.cursors[key], stopped_reason=reason))

    async def stop_prm(self, prm: str, reason: str, now: datetime) -> list[str]:
        for key, state in list(self.cursors.items()):
            if key[0] == prm:
                self._set(key, replace(state, stopped_reason=reason))
        revoked = []
        for consent in self.consents:
            if consent.meter_id == prm and consent.revoked_at is None:
                consent.revoked_at = max(now, consent.starts_at)
                revoked.append(consent.consent_id)
        return revoked

    async def usage_point(self, prm: str, max_age: timedelta) -> KnownUsagePoint | None:
        point = self.usage_points.get(prm)
        if point is None:
            return None
        return KnownUsagePoint(
            point.last_activation_date, point.updated_at > self.now() - max_age
        )

    async def keep_usage_point(self, prm: str) -> None:
        if prm in self.usage_points:
            self.usage_points[prm].updated_at = self.now()

    async def save_usage_point(
        self, prm: str, contract: Contract | None, address: Address | None
    ) -> str:
        current = self.buildings.get(prm)
        placement = "placed" if current else "unplaced"
        if (
            current is None
            and address is not None
            and address.latitude is not None
            and address.longitude is not None
        ):
            if address.insee_code not in self.parcels:
                placement = "unknown_commune"
            else:
                building = building_at(
                    self.parcels[address.insee_code],
                    address.latitude,
                    address.longitude,
                )
                if building is not None:
                    self.buildings[prm] = building
                    placement = "placed"
        self.usage_points[prm] = _UsagePoint(
            contract,
            address,
            placement,
            contract.last_activation_date if contract else None,
            self.now(),
        )
        return placement

    async def activation_date(self, prm: str) -> date | None:
        point = self.usage_points.get(prm)
        return point.last_activation_date if point else None

    async def record_activation(self, prm: str, day: date) -> None:
        point = self.usage_points.get(prm)
        if point is not None and (
            point.last_activation_date is None or point.last_activation_date < day
        ):
            point.last_activation_date = day
            point.updated_at = self.now()

    # -- helpers ------------------------------------------------------------

    def _set(self, key: tuple[str, str], state: Cursor) -> None:
        if state.fetched_until < state.history_from:  # the table's CHECK
            raise ValueError("fetched_until before history_from")
        self.cursors[key] = state
        self.cursor_updated[key] = self.now()

    def _record(
        self,
        prm: str,
        stream: Stream,
        days: Sequence[date],
        reason: str,
        retry_at: datetime,
    ) -> None:
        for day in days:
            key = (prm, stream.short, day)
            hole = self.holes.get(key)
            if hole is None:
                self.holes[key] = _Hole(reason, retry_at)
            elif hole.resolved_at is None:
                hole.attempts += 1
                hole.reason, hole.next_attempt_at = reason, retry_at

    def _resolve(
        self,
        prm: str,
        stream: Stream,
        days: Sequence[date],
        reason: str | None = None,
    ) -> None:
        for day in days:
            hole = self.holes.get((prm, stream.short, day))
            if hole is not None and hole.resolved_at is None:
                hole.resolved_at = self.now()
                hole.reason = reason or hole.reason
