"""Flukso protocol clients: MQTT subscription and the flukso.net REST API.

Kafka-free by design: errors become ``energy_core.errors`` and messages come out as
:class:`RawMessage`; the service decides what to subscribe to and what to publish.
"""

from ingest_flukso.client.api import FluksoApi
from ingest_flukso.client.mqtt import (
    CONFIGS,
    WILDCARDS,
    Connect,
    Connection,
    RawMessage,
    connect_aiomqtt,
    connect_fast,
)

__all__ = [
    "CONFIGS",
    "WILDCARDS",
    "Connect",
    "Connection",
    "FluksoApi",
    "RawMessage",
    "connect_aiomqtt",
    "connect_fast",
]
