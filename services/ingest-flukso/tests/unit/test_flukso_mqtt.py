"""The lean MQTT subscriber's packet parser, fed byte streams cut anywhere."""

from __future__ import annotations

import asyncio

from ingest_flukso.client.mqtt import (
    RawMessage,
    _FastConnection,
    _Subscriber,
    subscribe_packet,
)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 7) -> bytes:
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name
    if qos:
        body += packet_id.to_bytes(2, "big")
    body += payload
    size, length = len(body), bytearray()
    while True:
        size, digit = size >> 7, size & 0x7F
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([0x30 | qos << 1]) + bytes(length) + body


def _subscriber() -> tuple[_Subscriber, _Transport]:
    protocol = _Subscriber()
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def test_packets_split_anywhere_come_out_whole_and_in_order() -> None:
    big = b"x" * 20_000  # a three-byte remaining length
    packets = [
        b"\x20\x02\x00\x00",  # CONNACK accepted
        _publish("/sensor/a/gauge", b'[1800000000,512,"W"]'),
        _publish("/device/d/config/sensor", b"{" + b"y" * 200 + b"}"),  # two bytes
        b"\xd0\x00",  # PINGRESP
        _publish("/sensor/b/counter", big),
        _publish("/sensor/c/gauge", b""),
    ]
    stream = b"".join(packets)
    for cut in (1, 2, 3, 7, 150, 5_000):
        protocol, _ = _subscriber()
        for i in range(0, len(stream), cut):
            protocol.data_received(stream[i : i + cut])
        got = protocol.take()
        assert [(m.topic, m.payload) for m in got] == [
            ("/sensor/a/gauge", b'[1800000000,512,"W"]'),
            ("/device/d/config/sensor", b"{" + b"y" * 200 + b"}"),
            ("/sensor/b/counter", big),
            ("/sensor/c/gauge", b""),
        ]
        assert all(isinstance(m, RawMessage) for m in got)
        assert protocol.connack.result() == 0
        assert protocol.lost is None


async def test_suback_resolves_and_qos1_is_acknowledged() -> None:
    protocol, transport = _subscriber()
    future = asyncio.get_running_loop().create_future()
    protocol.subacks[5] = future
    protocol.data_received(b"\x90\x04\x00\x05\x00\x80")  # SUBACK id 5: 0, refused
    assert future.result() == b"\x00\x80"
    protocol.data_received(_publish("/sensor/a/gauge", b"1", qos=1, packet_id=258))
    assert transport.written == [b"\x40\x02\x01\x02"]  # PUBACK 258
    assert protocol.take()[0].payload == b"1"


async def test_garbage_on_the_wire_closes_the_connection() -> None:
    protocol, transport = _subscriber()
    protocol.data_received(b"\xff\xff\xff\xff\xff\x01")  # remaining length > 4 bytes
    assert protocol.lost == "malformed remaining length"
    assert transport.closed


def test_subscribe_packet_lists_every_filter_at_qos0() -> None:
    packet = subscribe_packet(1, ["/a", "/bc"])
    assert packet == b"\x82\x0d\x00\x01\x00\x02/a\x00\x00\x03/bc\x00"


async def test_a_backlog_comes_in_chunks_with_the_event_loop_running_between() -> None:
    protocol, _ = _subscriber()
    stream = _publish("/sensor/a/gauge", b"1") * 9_000
    protocol.data_received(stream)
    connection = _FastConnection(protocol, "test", keepalive=30)
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    sizes = []
    async for chunk in connection:
        sizes.append((len(chunk), ticks))
        if sum(n for n, _ in sizes) == 9_000:
            break
    task.cancel()
    assert [n for n, _ in sizes] == [2_000, 2_000, 2_000, 2_000, 1_000]
    assert [t for _, t in sizes] == sorted({t for _, t in sizes})  # it ran each time


async def test_a_cancel_as_data_arrives_stops_the_consumer() -> None:
    for steps in range(4):  # cancel 0..3 loop turns after the data came in
        protocol, _ = _subscriber()
        connection = _FastConnection(protocol, "test", keepalive=30)

        async def consume(connection: _FastConnection = connection) -> None:
            async for _ in connection:
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.01)  # waiting for data
        protocol.data_received(_publish("/sensor/a/gauge", b"1"))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(3):  # traffic goes on
            protocol.data_received(_publish("/sensor/a/gauge", b"2"))
            await asyncio.sleep(0.01)
        assert task.done(), f"cancel swallowed {steps} turns after the data"
