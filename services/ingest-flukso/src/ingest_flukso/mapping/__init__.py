"""Pure Flukso mapping: payload parsing, sensor discovery and series tracking.

No I/O here: the service feeds messages in and publishes what comes out.
"""

from ingest_flukso.mapping.history import HistoryPlan, day_readings, plan, wants_history
from ingest_flukso.mapping.payloads import (
    CLOCK_VALID_FROM,
    DeviceConfig,
    Sample,
    SensorInfo,
    TopicKind,
    parse_config,
    parse_sample,
    parse_topic,
)
from ingest_flukso.mapping.series import Emitted, Gap, Tracker

__all__ = [
    "CLOCK_VALID_FROM",
    "DeviceConfig",
    "Emitted",
    "Gap",
    "HistoryPlan",
    "Sample",
    "SensorInfo",
    "TopicKind",
    "Tracker",
    "day_readings",
    "parse_config",
    "parse_sample",
    "parse_topic",
    "plan",
    "wants_history",
]
