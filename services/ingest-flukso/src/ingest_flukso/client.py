"""Flukso protocol clients: MQTT subscription (aiomqtt) and flukso.net REST (httpx).

Kafka-free by design: errors become ``energy_core.errors`` and messages come out as
:class:`RawMessage`; the service decides what to publish.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import aiomqtt
import httpx
from energy_core.errors import (
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from pydantic import SecretStr

SUBSCRIPTIONS = ("/device/+/config/sensor", "/sensor/+/gauge", "/sensor/+/counter")
"""Config first: Mosquitto sends retained messages per SUBSCRIBE, so sensors are
discovered before their retained gauges and counters arrive."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as received; ``received`` is unix seconds (receive time)."""

    topic: str
    payload: bytes
    received: int


def _bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()


async def subscribe(
    host: str, port: int, *, identifier: str
) -> AsyncIterator[RawMessage]:
    """Yields every Flukso message of one broker (raises UpstreamUnavailableError)."""
    try:
        async with aiomqtt.Client(
            host, port, identifier=identifier, keepalive=30
        ) as client:
            for topic in SUBSCRIPTIONS:
                await client.subscribe(topic, qos=0)
            async for message in client.messages:
                yield RawMessage(
                    message.topic.value, _bytes(message.payload), int(time.time())
                )
    except aiomqtt.MqttError as exc:
        raise UpstreamUnavailableError(f"MQTT {host}:{port}: {exc}") from exc


class FluksoApi:
    """flukso.net REST v1.0: minute averages of a sensor (end-stamped buckets)."""

    def __init__(self, http: httpx.AsyncClient, token: SecretStr) -> None:
        self._http = http
        self._token = token

    async def minutes(
        self, sensor: str, start: datetime, end: datetime
    ) -> list[tuple[int, float | None]]:
        """``[(bucket end, W or None for "nan")]`` for ``(start, end]``, sorted."""
        try:
            response = await self._http.get(
                f"/sensor/{sensor}",
                params={
                    "start": int(start.timestamp()),
                    "end": int(end.timestamp()),
                    "resolution": "minute",
                    "unit": "watt",
                },
                headers={
                    "Accept": "application/json",
                    "X-Version": "1.0",
                    "X-Token": self._token.get_secret_value(),
                },
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"flukso.net unreachable: {exc}") from exc
        status = response.status_code
        if status == 404:
            raise NoDataError("flukso.net has no data for this sensor")
        if status == 429:
            raise RateLimitedError("flukso.net rate limit")
        if status >= 500:
            raise UpstreamUnavailableError(f"flukso.net answered {status}")
        if status != 200:
            raise PermanentError(f"flukso.net refused the request ({status})")
        return _points(response)


def _points(response: httpx.Response) -> list[tuple[int, float | None]]:
    try:
        body = response.json()
        points = [
            (int(ts), None if value in ("nan", "NaN") else float(value))
            for ts, value in body
        ]
    except (ValueError, TypeError) as exc:
        raise PayloadInvalidError(
            f"flukso.net answer is not [[ts, value]]: {exc}"
        ) from exc
    return points
