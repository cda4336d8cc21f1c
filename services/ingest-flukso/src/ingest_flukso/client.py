"""Flukso protocol clients: MQTT subscription (aiomqtt) and flukso.net REST (httpx).

Kafka-free by design: errors become ``energy_core.errors`` and messages come out as
:class:`RawMessage`; the service decides what to publish.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiomqtt
import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from energy_core.errors import (
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)

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
) -> AsyncIterator[list[RawMessage]]:
    """Every Flukso message of one broker, one per chunk, through aiomqtt.

    The first chunk is empty: it says the subscription is in place.

    Raises UpstreamUnavailableError when the broker is or becomes unreachable.
    aiomqtt reads one packet per event-loop turn and awaits a task per message:
    about 6,000-9,000 messages/s here, see :func:`subscribe_threaded` for more.
    """
    try:
        async with aiomqtt.Client(
            host, port, identifier=identifier, keepalive=30
        ) as client:
            for topic in SUBSCRIPTIONS:
                await client.subscribe(topic, qos=0)
            yield []  # connected and subscribed
            async for message in client.messages:
                yield [
                    RawMessage(
                        message.topic.value, _bytes(message.payload), int(time.time())
                    )
                ]
    except aiomqtt.MqttError as exc:
        raise UpstreamUnavailableError(f"MQTT {host}:{port}: {exc}") from exc


async def subscribe_threaded(
    host: str, port: int, *, identifier: str, every: float = 0.02
) -> AsyncIterator[list[RawMessage]]:
    """The same messages through paho-mqtt's network thread, in chunks.

    paho (the library under aiomqtt) decodes packets on its own thread into a
    deque; the event loop takes whatever arrived every ``every`` seconds, so the
    per-message cost is one callback, not one event-loop turn and one task.
    """
    inbox: deque[tuple[str, bytes, int]] = deque()
    lost: list[str] = []

    def on_connect(c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        if rc.is_failure:
            lost.append(f"connection refused: {rc}")
            return
        for topic in SUBSCRIPTIONS:
            c.subscribe(topic, qos=0)

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        inbox.append((m.topic, bytes(m.payload), int(time.time())))

    def on_disconnect(
        _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object
    ) -> None:
        lost.append(f"disconnected: {rc}")

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=identifier)
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    try:
        await asyncio.to_thread(client.connect, host, port, 30)
    except OSError as exc:
        raise UpstreamUnavailableError(f"MQTT {host}:{port}: {exc}") from exc
    client.loop_start()
    try:
        yield []  # connected (subscriptions follow the CONNACK)
        while not lost:
            await asyncio.sleep(every)
            if inbox:
                chunk = [inbox.popleft() for _ in range(len(inbox))]
                yield [RawMessage(t, p, r) for t, p, r in chunk]
        raise UpstreamUnavailableError(f"MQTT {host}:{port}: {lost[0]}")
    finally:
        client.disconnect()
        client.loop_stop()


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
