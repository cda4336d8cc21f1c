"""The registry's own metrics: how far the territory topic is behind the registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ENTITIES_PUBLISHED = Counter(
    "registry_entities_published_total",
    "Territory entities (or tombstones) relayed from the outbox to the topic.",
)
OUTBOX_BACKLOG = Gauge(
    "registry_outbox_backlog",
    "Outbox rows not yet acknowledged by the broker (measured once per relay pass).",
)
RELAY_LAG = Gauge(
    "registry_relay_lag_seconds",
    "Age of the oldest unpublished outbox row (0 when the outbox is drained).",
)
