"""Publish-and-flush keeps failures; the dead-letter, consent-event and consent-URL
builders every service shares."""

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from google.protobuf.message import Message

from energy_core import topics
from energy_core.dataconnect import authorize_url, duration_months
from energy_core.domain import MeterScheme, Source
from energy_core.errors import InvalidValueError, PayloadInvalidError
from energy_core.kafka import PublishQueue
from energy_core.testing import InMemoryPublisher
from energy_core.topics import TopicSpec
from energy_core.wire import CONSENT_REVOKED, consent_event, dead_letter, pb

PRM = "30001610071843"


class FlakyPublisher(InMemoryPublisher):
    """Accepts records, but the broker acknowledges nothing while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.acked: list[tuple[str, Message | None]] = []
        self._batch: list[tuple[str, Message | None]] = []

    async def publish(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        await super().publish(spec, key, value)
        self._batch.append((key, value))

    async def flush(self) -> None:
        await super().flush()
        batch, self._batch = self._batch, []
        if self.down:
            raise ConnectionError("broker down")
        self.acked.extend(batch)


def _letter(n: int) -> Message:
    return dead_letter(service="t", origin=str(n), payload=b"", reason="r")


async def test_unacknowledged_records_are_kept_in_order_for_the_next_flush() -> None:
    publisher = FlakyPublisher()
    queue = PublishQueue(publisher)
    queue.add(topics.DEAD_LETTERS, "a", _letter(1))
    queue.add(topics.DEAD_LETTERS, "b", _letter(2))
    with pytest.raises(ConnectionError):
        await queue.flush()
    assert queue.pending == 2
    queue.add(topics.DEAD_LETTERS, "c", _letter(3))
    publisher.down = False
    flushed = await queue.flush()
    assert [k for _, k, _ in flushed] == ["a", "b", "c"]
    assert [k for k, _ in publisher.acked] == ["a", "b", "c"]
    assert queue.pending == 0
    assert await queue.flush() == []


async def test_a_flush_cancelled_at_shutdown_keeps_its_records() -> None:
    class Hanging(InMemoryPublisher):
        async def flush(self) -> None:
            await asyncio.Event().wait()

    queue = PublishQueue(Hanging())
    queue.add(topics.DEAD_LETTERS, "a", _letter(1))
    task = asyncio.create_task(queue.flush())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert queue.pending == 1


def test_dead_letter_from_an_error_keeps_reason_type_and_bytes() -> None:
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    letter = dead_letter(
        service="ingest-x",
        origin="topic/x",
        payload=b"\x00raw",
        error=PayloadInvalidError("bad shape"),
        occurred_at=at,
    )
    assert (letter.service, letter.origin, letter.payload) == (
        "ingest-x",
        "topic/x",
        b"\x00raw",
    )
    assert (letter.reason, letter.error_type) == ("bad shape", "PayloadInvalidError")
    assert letter.occurred_at_us == int(at.timestamp()) * 1_000_000


def test_consent_event_validates_the_meter_and_joins_ids() -> None:
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    event = consent_event(
        meter=PRM,
        scheme=MeterScheme.PRM,
        change=CONSENT_REVOKED,
        source=Source.ENEDIS_DATACONNECT,
        occurred_at=at,
        consent_ids=["c1", "c2"],
        reason="ADAM-DC-0008",
    )
    assert isinstance(event, topics.CONSENT_EVENTS.value_type)
    assert (event.meter_id, event.scheme, event.source) == (
        PRM,
        pb.METER_SCHEME_PRM,
        pb.SOURCE_ENEDIS_DATACONNECT,
    )
    assert (event.change, event.consent_id) == (CONSENT_REVOKED, "c1,c2")
    with pytest.raises(InvalidValueError):
        consent_event(
            meter="123",
            scheme=MeterScheme.PRM,
            change=CONSENT_REVOKED,
            source=Source.ENEDIS_DATACONNECT,
            occurred_at=at,
        )


def test_one_consent_url_builder_with_its_duration_and_state_rules() -> None:
    url = authorize_url(
        "https://enedis.test/authorize",
        client_id="cid",
        redirect_uri="https://sen1.test/cb",
        state="s" * 100,
        duration="P1Y6M",
    )
    parts = urlsplit(url)
    assert parts.netloc == "enedis.test"
    assert parse_qs(parts.query) == {
        "client_id": ["cid"],
        "response_type": ["code"],
        "redirect_uri": ["https://sen1.test/cb"],
        "state": ["s" * 100],
        "duration": ["P1Y6M"],
    }
    assert duration_months("P3Y") == 36
    for bad in ("P3Y1M", "P0M", "bogus", "P"):
        with pytest.raises(InvalidValueError, match="duration"):
            duration_months(bad)
    with pytest.raises(InvalidValueError, match="state"):
        authorize_url("x", client_id="c", redirect_uri="r", state="s" * 101)
    with pytest.raises(InvalidValueError, match="state"):
        authorize_url("x", client_id="c", redirect_uri="r", state="")
