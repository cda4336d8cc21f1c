"""MQTT subscription to a Flukso broker: a lean asyncio MQTT 3.1.1 subscriber, or aiomqtt.

Both give a :class:`Connection`: ``subscribe(filters)`` and ``async for chunk in
connection`` (lists of :class:`RawMessage`). The service decides what to subscribe to
(wildcards, or the sensors of its shard) and what to do with the messages.

Why a subscriber of our own: with thousands of sensors at 1 Hz the MQTT decode is
the largest per-message cost. aiomqtt (over paho-mqtt) spends one event-loop turn
and one task per message; paho's own network thread still decodes every packet in
Python objects and callbacks (about 24 us of CPU per message, measured here).
:class:`_Subscriber` parses every PUBLISH packet that one socket read brought in a
single loop and hands the lot to the service as one chunk. It speaks the subset of
MQTT 3.1.1 a QoS-0 subscriber needs: CONNECT (clean session), SUBSCRIBE (granted
QoS 0, so the broker never sends QoS 1/2), PINGREQ every ``keepalive / 2`` and
DISCONNECT; no TLS or authentication yet (aiomqtt neither, as configured here).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import NamedTuple, Protocol, cast

import aiomqtt

from energy_core.errors import UpstreamUnavailableError

WILDCARDS = ("/device/+/config/sensor", "/sensor/+/gauge", "/sensor/+/counter")
"""Everything, config first: Mosquitto sends retained messages per SUBSCRIBE, so
sensors are discovered before their retained gauges and counters arrive."""
CONFIGS = WILDCARDS[:1]
"""A shard subscribes to every config, then to the sensors of its own devices."""

_FILTERS_PER_SUBSCRIBE = 500
_CHUNK = 2_000
"""Messages handed over at once: the service maps a chunk without yielding to the
event loop, so a backlog must not block the batcher and /metrics for seconds."""
_HIGH_WATER = 200_000
"""Messages waiting for the service before reading from the socket pauses (TCP
backpressure to the broker instead of unbounded memory)."""


class RawMessage(NamedTuple):
    """One MQTT message as received; ``received`` is unix seconds (receive time)."""

    topic: str
    payload: bytes
    received: int


class Connection(Protocol):
    """One live MQTT connection: subscribe, then iterate over chunks of messages."""

    async def subscribe(self, filters: Sequence[str]) -> None:
        """Subscribes (QoS 0) to ``filters``; the broker then sends their retained."""

    def __aiter__(self) -> AsyncIterator[list[RawMessage]]:
        """Chunks of messages until the connection is lost (UpstreamUnavailableError)."""
        ...


Connect = Callable[[str, int, str], contextlib.AbstractAsyncContextManager[Connection]]
"""``connect(host, port, client_id)``: how the service opens a :class:`Connection`."""


def _remaining_length(size: int) -> bytes:
    out = bytearray()
    while True:
        size, digit = size >> 7, size & 0x7F
        out.append(digit | (0x80 if size else 0))
        if not size:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, keepalive: int) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session, no will, no credentials."""
    body = _string("MQTT") + bytes([4, 0x02]) + keepalive.to_bytes(2, "big")
    body += _string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def subscribe_packet(packet_id: int, filters: Sequence[str]) -> bytes:
    """SUBSCRIBE to ``filters`` at QoS 0."""
    body = packet_id.to_bytes(2, "big") + b"".join(
        _string(f) + b"\x00" for f in filters
    )
    return b"\x82" + _remaining_length(len(body)) + body


_PINGREQ = b"\xc0\x00"
_DISCONNECT = b"\xe0\x00"


class _Subscriber(asyncio.Protocol):
    """The socket side: parses packets, queues PUBLISHes, resolves CONNACK/SUBACK."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.inbox: list[RawMessage] = []
        self.wake = asyncio.Event()
        self.connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.subacks: dict[int, asyncio.Future[bytes]] = {}
        self.lost: str | None = None
        self.last_heard = time.monotonic()
        self._rest = b""
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc or 'closed by the broker'}")

    def _fail(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
        if not self.connack.done():
            self.connack.set_exception(UpstreamUnavailableError(reason))
        for future in self.subacks.values():
            if not future.done():
                future.set_exception(UpstreamUnavailableError(reason))
        self.wake.set()
        if self.transport is not None:
            self.transport.close()

    def take(self) -> list[RawMessage]:
        """Up to :data:`_CHUNK` messages parsed so far (resumes a paused reading)."""
        if len(self.inbox) > _CHUNK:
            chunk = self.inbox[:_CHUNK]
            del self.inbox[:_CHUNK]
            return chunk
        chunk, self.inbox = self.inbox, []
        self.wake.clear()
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    def data_received(self, data: bytes) -> None:
        if self._rest:
            data, self._rest = self._rest + data, b""
        self.last_heard = time.monotonic()
        received = int(time.time())
        inbox = self.inbox
        size = len(data)
        pos = 0
        while pos + 2 <= size:
            first = data[pos]
            # remaining length: 1 to 4 bytes, 7 bits each, low bits first
            index, length, shift = pos + 1, 0, 0
            while True:
                if index >= size:
                    self._rest = data[pos:]
                    return self._queued()
                byte = data[index]
                length |= (byte & 0x7F) << shift
                index += 1
                if byte < 0x80:
                    break
                shift += 7
                if shift > 21:
                    return self._fail("malformed remaining length")
            end = index + length
            if end > size:
                break
            kind = first >> 4
            if kind == 3:  # PUBLISH
                cut = index + 2 + (data[index] << 8 | data[index + 1])
                topic = data[index + 2 : cut].decode(errors="replace")
                if first & 0x06:  # QoS 1/2 (not granted, but acknowledge them)
                    self._acknowledge(first & 0x06, data[cut : cut + 2])
                    cut += 2
                inbox.append(RawMessage(topic, data[cut:end], received))
            elif kind == 2 and not self.connack.done():  # CONNACK
                self.connack.set_result(data[index + 1] if length >= 2 else 255)
            elif kind == 9:  # SUBACK
                future = self.subacks.pop(data[index] << 8 | data[index + 1], None)
                if future is not None and not future.done():
                    future.set_result(data[index + 2 : end])
            elif kind == 6 and self.transport is not None:  # PUBREL (QoS 2)
                self.transport.write(b"\x70\x02" + data[index : index + 2])
            elif kind != 13:  # anything but PINGRESP
                return self._fail(f"unexpected MQTT packet type {kind}")
            pos = end
        if pos < size:
            self._rest = data[pos:]
        self._queued()

    def _acknowledge(self, qos_bits: int, packet_id: bytes) -> None:
        if self.transport is not None:  # PUBACK for QoS 1, PUBREC for QoS 2
            ack = b"\x40\x02" if qos_bits == 0x02 else b"\x50\x02"
            self.transport.write(ack + packet_id)

    def _queued(self) -> None:
        if self.inbox:
            self.wake.set()
            # never while a SUBACK is awaited: it may be behind the messages
            full = len(self.inbox) > _HIGH_WATER and not self.subacks
            if full and self.transport and not self._paused:
                self._paused = True
                self.transport.pause_reading()


class _FastConnection:
    """A :class:`Connection` over :class:`_Subscriber`."""

    def __init__(self, protocol: _Subscriber, name: str, keepalive: int) -> None:
        self._protocol = protocol
        self._name = name
        self._keepalive = keepalive
        self._packet_id = 0
        self._last_sent = time.monotonic()

    def _write(self, packet: bytes) -> None:
        protocol = self._protocol
        if protocol.transport is None or protocol.lost is not None:
            raise UpstreamUnavailableError(f"MQTT {self._name}: {protocol.lost}")
        protocol.transport.write(packet)
        self._last_sent = time.monotonic()

    async def subscribe(self, filters: Sequence[str]) -> None:
        """Sends SUBSCRIBE packets of at most 500 filters and waits for their SUBACK."""
        waits = []
        for i in range(0, len(filters), _FILTERS_PER_SUBSCRIBE):
            self._packet_id = self._packet_id % 0xFFFF + 1
            future = asyncio.get_running_loop().create_future()
            self._protocol.subacks[self._packet_id] = future
            waits.append(future)
            part = filters[i : i + _FILTERS_PER_SUBSCRIBE]
            self._write(subscribe_packet(self._packet_id, part))
        try:
            for future in waits:
                async with asyncio.timeout(30):
                    codes = await future
                if any(code & 0x80 for code in codes):
                    msg = f"MQTT {self._name}: subscription refused"
                    raise UpstreamUnavailableError(msg)
        except TimeoutError as exc:
            raise UpstreamUnavailableError(f"MQTT {self._name}: no SUBACK") from exc

    async def __aiter__(self) -> AsyncIterator[list[RawMessage]]:
        protocol = self._protocol
        ping_every = self._keepalive / 2
        while True:
            if not protocol.inbox and protocol.lost is None:
                # asyncio.timeout, not wait_for: in 3.11 wait_for swallows a
                # cancellation that arrives as the event is set (the service
                # would then never stop while messages flow)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ping_every):
                        await protocol.wake.wait()
            now = time.monotonic()
            if protocol.lost is None:
                # keepalive counts what the client sends: ping even while receiving
                if now - protocol.last_heard > self._keepalive * 1.5:
                    protocol._fail("the broker stopped answering")
                elif now - self._last_sent >= ping_every:
                    self._write(_PINGREQ)
            if protocol.inbox:
                yield protocol.take()
                await asyncio.sleep(0)  # let the batcher and /metrics run in between
            elif protocol.lost is not None:
                raise UpstreamUnavailableError(f"MQTT {self._name}: {protocol.lost}")


@contextlib.asynccontextmanager
async def connect_fast(
    host: str, port: int, client_id: str, *, keepalive: int = 30
) -> AsyncIterator[Connection]:
    """Connects with the lean subscriber (raises UpstreamUnavailableError)."""
    name = f"{host}:{port}"
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(10):
            transport, protocol = await loop.create_connection(_Subscriber, host, port)
    except (OSError, TimeoutError) as exc:
        raise UpstreamUnavailableError(f"MQTT {name}: {exc!r}") from exc
    try:
        transport.write(connect_packet(client_id, keepalive))
        try:
            async with asyncio.timeout(10):
                code = await protocol.connack
        except TimeoutError as exc:
            raise UpstreamUnavailableError(f"MQTT {name}: no CONNACK") from exc
        if code != 0:
            raise UpstreamUnavailableError(f"MQTT {name}: CONNACK refused ({code})")
        yield _FastConnection(protocol, name, keepalive)
    finally:
        if not transport.is_closing():
            transport.write(_DISCONNECT)
            transport.close()


class _AiomqttConnection:
    """A :class:`Connection` over aiomqtt (one message per chunk)."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def subscribe(self, filters: Sequence[str]) -> None:
        """Subscribes to ``filters`` at QoS 0, at most 500 per SUBSCRIBE."""
        for i in range(0, len(filters), _FILTERS_PER_SUBSCRIBE):
            part = filters[i : i + _FILTERS_PER_SUBSCRIBE]
            await self._client.subscribe([(f, 0) for f in part])

    async def __aiter__(self) -> AsyncIterator[list[RawMessage]]:
        async for message in self._client.messages:
            received = int(time.time())  # received payloads are always bytes
            yield [RawMessage(message.topic.value, message.payload, received)]


@contextlib.asynccontextmanager
async def connect_aiomqtt(
    host: str, port: int, client_id: str, *, keepalive: int = 30
) -> AsyncIterator[Connection]:
    """Connects through aiomqtt (raises UpstreamUnavailableError)."""
    try:
        async with aiomqtt.Client(
            host, port, identifier=client_id, keepalive=keepalive
        ) as client:
            yield _AiomqttConnection(client)
    except aiomqtt.MqttError as exc:
        raise UpstreamUnavailableError(f"MQTT {host}:{port}: {exc}") from exc
