"""Read back everything a test's services wrote to a topic.

Integration tests publish through the real broker and then check what landed on a
topic. There is no "end" in a stream, so the reader polls until the topic has been
quiet for ``idle_polls`` polls in a row: long enough for a producer's linger and the
broker's commit, short enough to keep tests quick. One reader for every test, so a
change to how "quiet" is judged is made once.
"""

from __future__ import annotations

import uuid
from typing import Any

from energy_core.kafka import make_consumer
from energy_core.settings import KafkaSettings
from energy_core.topics import TopicSpec


async def drain(
    kafka: KafkaSettings, spec: TopicSpec, *, idle_polls: int = 3, poll_ms: int = 700
) -> list[Any]:
    """Every record of ``spec`` from the start (a group-less consumer), in the
    order each partition holds them, once the topic has been quiet for
    ``idle_polls`` polls of ``poll_ms``."""
    consumer = make_consumer(
        kafka, [spec], group_id=None, client_id=f"t-{uuid.uuid4().hex[:6]}"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        idle = 0
        while idle < idle_polls:
            batch = await consumer.getmany(timeout_ms=poll_ms)
            got = [record for partition in batch.values() for record in partition]
            records += got
            idle = 0 if got else idle + 1
    finally:
        await consumer.stop()
    return records
