"""The registry of every Kafka topic: names are written here and nowhere else.

Services bind these specs (``settings.kafka.topic_name(READINGS)``); tests isolate
themselves with a per-test ``topic_prefix`` rather than by inventing names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.message import Message

from energy_core._pb.energy.grid.v1 import alerts_pb2
from energy_core._pb.energy.metering.v1 import (
    consent_pb2,
    dead_letter_pb2,
    readings_pb2,
)
from energy_core._pb.energy.territory.v1 import territory_pb2


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic: its name, partitioning, retention and the protobuf type of values."""

    name: str
    value_type: type[Message]
    partitions: int
    retention: timedelta | None
    compacted: bool = False
    key_doc: str = ""

    def configs(self) -> dict[str, str]:
        """Topic-level configs to create it with (cleanup policy, retention)."""
        configs: dict[str, str] = {}
        if self.compacted:
            configs["cleanup.policy"] = "compact"
        if self.retention is not None:
            configs["retention.ms"] = str(int(self.retention.total_seconds() * 1000))
        return configs


READINGS = TopicSpec(
    name="metering.readings.ingested.v1",
    value_type=readings_pb2.ReadingBatch,
    partitions=12,
    retention=timedelta(days=7),
    key_doc="meter id (so that one meter's batches stay ordered on one partition)",
)
DEAD_LETTERS = TopicSpec(
    name="metering.dead-letters.v1",
    value_type=dead_letter_pb2.DeadLetter,
    partitions=3,
    retention=timedelta(days=30),
    key_doc="service name",
)
CONSENT_EVENTS = TopicSpec(
    name="metering.consent.changed.v1",
    value_type=consent_pb2.ConsentEvent,
    partitions=3,
    retention=timedelta(days=365),
    key_doc="meter id",
)
TERRITORY = TopicSpec(
    name="territory.entities.changed.v1",
    value_type=territory_pb2.TerritoryEntity,
    partitions=3,
    retention=None,
    compacted=True,
    key_doc="'<entity>:<id>', e.g. 'meter:30001610071843'; null value = deleted",
)
ALERTS = TopicSpec(
    name="grid.alerts.changed.v1",
    value_type=alerts_pb2.AlertEvent,
    partitions=3,
    retention=timedelta(days=90),
    key_doc="IRIS code of the neighbourhood",
)

ALL: tuple[TopicSpec, ...] = (READINGS, DEAD_LETTERS, CONSENT_EVENTS, TERRITORY, ALERTS)
"""Every topic the platform uses; `make run` and the charts create exactly these."""
