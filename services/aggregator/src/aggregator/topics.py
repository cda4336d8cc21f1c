"""Faust bindings of the registry topics (names come from energy_core.topics only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from energy_core import topics
from energy_core.settings import KafkaSettings


@dataclass(frozen=True)
class Topics:
    """The topics this app reads and writes, with the deployment's prefix."""

    readings: Any
    alerts: Any
    dead_letters: Any


def bind(app: faust.App, kafka: KafkaSettings) -> Topics:
    """Binds READINGS (raw protobuf bytes), ALERTS, DEAD_LETTERS.

    TERRITORY is read by a group-less consumer (see :mod:`aggregator.territory`).
    """
    return Topics(
        readings=app.topic(
            kafka.topic_name(topics.READINGS),
            key_serializer="raw",
            value_serializer="raw",
            partitions=topics.READINGS.partitions,
        ),
        alerts=app.topic(
            kafka.topic_name(topics.ALERTS),
            key_serializer="raw",
            value_serializer="raw",
            partitions=topics.ALERTS.partitions,
        ),
        dead_letters=app.topic(
            kafka.topic_name(topics.DEAD_LETTERS),
            key_serializer="raw",
            value_serializer="raw",
            partitions=topics.DEAD_LETTERS.partitions,
        ),
    )
