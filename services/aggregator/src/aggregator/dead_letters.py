"""The dead-letter topic counted in PostgreSQL, for the operator page.

Every service sends what it could not handle to ``metering.dead-letters.v1`` with a
reason; the topic is where the bytes are kept, but nobody reads a topic to learn
"how many did GRDF refuse this week, and why". The aggregator owns Kafka ->
PostgreSQL, so it consumes the topic into ``dead_letters`` (migration
``1103_aggregator_dead_letters``): one row per letter keyed by (topic, partition,
offset), so a replay inserts nothing twice.

No personal data is stored: the payload stays on the topic (its retention), the
origin (an MQTT topic or a URL may name a meter) is not kept, and the reason is
scrubbed of anything shaped like a meter id (:func:`energy_core.observability.scrub`)
and cut to :data:`REASON_MAX` characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from energy_core.errors import PayloadInvalidError
from energy_core.observability import scrub
from energy_core.wire import decode_dead_letter

REASON_MAX = 300
"""Characters of a reason kept: enough to name the field and the rule."""

KEEP = timedelta(days=30)
"""Rows older than this are pruned: the topic's own retention (topics.DEAD_LETTERS)."""

UNREADABLE = "unreadable dead letter"


@dataclass(frozen=True, slots=True)
class LetterRow:
    """One dead letter as stored: where it sits in Kafka and why it was refused."""

    topic: str
    partition: int
    offset: int
    service: str
    reason: str
    error_type: str
    occurred_at: datetime


def to_row(
    topic: str, partition: int, offset: int, value: bytes | None, *, now: datetime
) -> LetterRow:
    """A Kafka record of the dead-letter topic -> the row to store.

    A value that is not a ``DeadLetter`` is itself counted (service ``unknown``):
    dropping it silently would hide a producer that writes garbage.
    """
    try:
        letter = decode_dead_letter(value or b"")
    except PayloadInvalidError:
        return LetterRow(topic, partition, offset, "unknown", UNREADABLE, "", now)
    if not letter.service:
        return LetterRow(topic, partition, offset, "unknown", UNREADABLE, "", now)
    occurred = (
        datetime.fromtimestamp(letter.occurred_at_us / 1e6, UTC)
        if letter.occurred_at_us > 0
        else now
    )
    return LetterRow(
        topic=topic,
        partition=partition,
        offset=offset,
        service=scrub(letter.service)[:64],
        reason=scrub(letter.reason)[:REASON_MAX] or "(no reason given)",
        error_type=scrub(letter.error_type)[:64],
        occurred_at=occurred,
    )


async def record(conn: asyncpg.Connection, rows: Sequence[LetterRow]) -> int:
    """Stores ``rows``; returns how many were new (a replay returns 0)."""
    if not rows:
        return 0
    inserted = await conn.fetchval(
        """WITH new AS (
               INSERT INTO dead_letters (topic, partition, "offset", service, reason,
                                         error_type, occurred_at)
               SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[],
                                    $5::text[], $6::text[], $7::timestamptz[])
               ON CONFLICT DO NOTHING
               RETURNING 1)
           SELECT count(*) FROM new""",
        [r.topic for r in rows],
        [r.partition for r in rows],
        [r.offset for r in rows],
        [r.service for r in rows],
        [r.reason for r in rows],
        [r.error_type for r in rows],
        [r.occurred_at for r in rows],
    )
    return int(inserted)


async def prune(conn: asyncpg.Connection, now: datetime) -> int:
    """Deletes rows past the topic's retention; returns how many."""
    status = await conn.execute(
        "DELETE FROM dead_letters WHERE occurred_at < $1", now - KEEP
    )
    return int(status.split()[-1])
