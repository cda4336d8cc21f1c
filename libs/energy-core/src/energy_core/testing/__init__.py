"""Fakes of our own ports for unit tests (never for integration tests)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from energy_core.topics import TopicSpec


class InMemoryPublisher:
    """A Publisher that keeps records per topic: assert on ``sent``, not on calls."""

    def __init__(self) -> None:
        self.sent: dict[TopicSpec, list[tuple[str, Message | None]]] = defaultdict(list)
        self.flushes = 0

    async def publish(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        """Records the message under its topic."""
        if value is not None and not isinstance(value, spec.value_type):
            raise TypeError(f"{spec.name} carries {spec.value_type.__name__}")
        self.sent[spec].append((key, value))

    async def flush(self) -> None:
        """Counts flushes (services must flush before committing progress)."""
        self.flushes += 1


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake instant (aware, UTC)."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Moves time forward."""
        self._now += delta


__all__ = ["FakeClock", "InMemoryPublisher"]
