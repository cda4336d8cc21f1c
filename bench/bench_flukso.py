"""Flukso ingest throughput: emulated devices -> Mosquitto -> ingest-flukso -> tansu.

Prints the machine, then the raw limits measured in the same run (a bare aiomqtt
subscriber, the service's own lean subscriber without mapping, a bare aiokafka
producer), then for each fleet size and shard count: the offered and handled
messages/s, the lag and whether it grows, and where the CPU went.

- Load: the emulator's own fleet model (``Fleet.tick``: a gauge per sensor each
  second, a counter only when its integer Wh changed, both retained, QoS 0, the
  same payloads), written by ``--generators`` separate processes as pre-built MQTT
  PUBLISH packets on a raw socket, paced at 1 Hz. The offered rate is what they
  actually wrote; it depends on the hour (Europe/Paris), since counters move faster
  at the evening peak.
- System under test: ``python -m ingest_flukso`` as ``--shards`` separate processes
  (INGEST_FLUKSO_SHARDS/SHARD), default settings otherwise, publishing to tansu.
- Handled = growth of ``ingest_flukso_messages_total`` (all shards); lag = now -
  ``ingest_flukso_newest_published_sample_timestamp_seconds`` of the slowest shard,
  sampled every second; "lag grows" compares the second half of the window with
  the first. CPU = seconds of CPU per second of each process, and of the whole
  machine (two cores = 200 %), which shows how much other work was running.
- Medians of ``--runs`` runs. Usage: ``uv run --frozen python bench/bench_flukso.py
  [--sizes 5000,10000] [--shards 1,2] [--runs 3] [--seconds 20] [--generators 1]
  [--batch-seconds 0.5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
from aiokafka import AIOKafkaProducer

from energy_core import topics
from energy_core.kafka import ensure_topics
from energy_core.settings import KafkaSettings
from flukso_emulator.devices import Fleet, config_messages
from flukso_emulator.publisher import fleet_devices
from ingest_flukso.client import connect_fast
from sen1_stack.broker import TansuBroker, free_port
from sen1_stack.mqtt import MqttBroker

_TICK = os.sysconf("SC_CLK_TCK")
_WARMUP = 8.0  # s: service start, discovery of every device, retained replays


def _packet(topic: bytes, payload: bytes, retain: bool = True) -> bytes:
    """One MQTT 3.1.1 PUBLISH packet, QoS 0 (retained, as the devices send them)."""
    body = len(topic).to_bytes(2, "big") + topic + payload
    size, length = len(body), bytearray()
    while True:
        size, digit = size >> 7, size & 0x7F
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([0x31 if retain else 0x30]) + bytes(length) + body


def _raw_client(host: str, port: int, client_id: str) -> socket.socket:
    """A publishing-only MQTT connection: CONNECT (keepalive 0), wait for CONNACK."""
    sock = socket.create_connection((host, port))
    name = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(name).to_bytes(2, "big") + name
    sock.sendall(bytes([0x10, len(body)]) + body)
    if sock.recv(4)[:1] != b"\x20":
        raise RuntimeError("no CONNACK")
    return sock


def generator(
    host: str, port: int, total: int, part: int, parts: int, seconds: int
) -> None:
    """Load generator process: devices ``part::parts`` of the fleet, paced at 1 Hz.

    Writes one line per second on stdout: ``<device second> <messages written>
    <seconds late>`` (how long after that second the last packet was written).
    """
    devices = fleet_devices(total)[part::parts]
    fleet = Fleet(devices, start=int(time.time()))
    sock = _raw_client(host, port, f"bench-devices-{part}")
    configs = [(t, p) for d in devices for t, p in config_messages(d)]
    sock.sendall(b"".join(_packet(t.encode(), p) for t, p in configs))
    next_at = int(time.time()) + 1
    for _ in range(seconds):
        time.sleep(max(0.0, next_at - time.time()))
        messages = fleet.tick(next_at)
        sock.sendall(b"".join(_packet(t.encode(), p) for t, p in messages))
        print(next_at, len(messages), f"{time.time() - next_at:.3f}", flush=True)
        next_at += 1
    sock.close()


def blast(host: str, port: int, n: int) -> None:
    """Writes ``n`` gauge packets as fast as the broker takes them (raw limits)."""
    sock = _raw_client(host, port, "bench-blast")
    packet = _packet(
        b"/sensor/" + b"0" * 32 + b"/gauge", b'[1800000000,512,"W"]', False
    )
    for _ in range(n // 10_000):
        sock.sendall(packet * 10_000)
    time.sleep(1)
    sock.close()


def _service(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ingest_flukso"], env=env)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE)


async def bare_aiomqtt(host: str, port: int, n: int = 200_000) -> float:
    """Messages/s a bare aiomqtt subscriber receives."""
    got, t0, last = 0, time.perf_counter(), time.perf_counter()
    async with aiomqtt.Client(host, port) as client:
        await client.subscribe("/sensor/+/gauge")
        proc = _spawn("--blast", f"{host}:{port}:{n}")
        try:
            async with asyncio.timeout(60):
                async for _ in client.messages:
                    got += 1
                    last = time.perf_counter()
                    if got == 1:
                        t0 = last
                    if got >= n * 0.98:  # QoS 0: a few may be dropped under load
                        break
        except TimeoutError:
            pass
        proc.wait()
    print(f"  (aiomqtt received {got:,} of {n:,})")
    return got / (last - t0)


async def bare_lean(host: str, port: int, n: int = 200_000) -> float:
    """Messages/s of the service's own subscriber alone (no mapping, no Kafka)."""
    got, t0, last = 0, time.perf_counter(), time.perf_counter()
    async with connect_fast(host, port, "bench-raw") as connection:
        await connection.subscribe(["/sensor/+/gauge"])
        proc = _spawn("--blast", f"{host}:{port}:{n}")
        try:
            async with asyncio.timeout(60):
                async for chunk in connection:
                    last = time.perf_counter()
                    if not got:
                        t0 = last
                    got += len(chunk)
                    if got >= n * 0.98:
                        break
        except TimeoutError:
            pass
        proc.wait()
    print(f"  (lean subscriber received {got:,} of {n:,})")
    return got / (last - t0)


async def bare_kafka(settings: KafkaSettings, n: int = 100_000) -> float:
    """Records/s of a bare aiokafka producer (300-byte values, linger 5 ms)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=5
    )
    await producer.start()
    value = b"x" * 300
    t0 = time.perf_counter()
    futures = [
        await producer.send(
            settings.topic_name(topics.READINGS), value, key=str(i % 997).encode()
        )
        for i in range(n)
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t0
    await producer.stop()
    return n / elapsed


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / _TICK, sum(values[:8]) / _TICK


def _metrics(port: int) -> tuple[float, float]:
    """(messages handled, newest published sample time) of one shard."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=20) as response:
        text = response.read().decode()
    handled, newest = 0.0, 0.0
    for line in text.splitlines():
        if line.startswith("ingest_flukso_messages_total{"):
            handled += float(line.rsplit(" ", 1)[1])
        elif line.startswith(
            "ingest_flukso_newest_published_sample_timestamp_seconds "
        ):
            newest = float(line.rsplit(" ", 1)[1])
    return handled, newest


def _scrape(port: int) -> tuple[float, float]:
    """:func:`_metrics`, or (0, 0) if the shard does not answer in time."""
    try:
        return _metrics(port)
    except OSError:  # includes timeouts: the machine is shared
        return (0.0, 0.0)


def _ready(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/readyz"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class Run:
    """What one sustained run measured."""

    offered: float
    handled: float
    lags: list[float]
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    late: float = 0.0  # s: the generators' worst delay writing one second

    @property
    def growth(self) -> float:
        """Mean lag of the second half of the window minus that of the first."""
        half = len(self.lags) // 2
        return statistics.mean(self.lags[half:]) - statistics.mean(self.lags[:half])


async def sustained(
    mqtt: MqttBroker,
    tansu: TansuBroker,
    kafka: KafkaSettings,
    *,
    sensors: int,
    shards: int,
    generators: int,
    seconds: float,
    batch_seconds: float,
) -> Run:
    """One run: ``sensors`` single-sensor devices (plus the demo's) at 1 Hz."""
    span = int(_WARMUP + seconds + 70)  # the generators outlive a slow start
    load = [
        _spawn(
            "--generator", f"{mqtt.host}:{mqtt.port}:{sensors}:{i}:{generators}:{span}"
        )
        for i in range(generators)
    ]
    ports = [free_port() for _ in range(shards)]
    env = os.environ | {
        "INGEST_FLUKSO_MQTT_HOST": mqtt.host,
        "INGEST_FLUKSO_MQTT_PORT": str(mqtt.port),
        "INGEST_FLUKSO_SHARDS": str(shards),
        "INGEST_FLUKSO_BATCH_SECONDS": str(batch_seconds),
        "INGEST_FLUKSO_BACKFILL_DELAY_SECONDS": "1e9",  # no flukso.net here
        "INGEST_FLUKSO_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
    }
    services = [
        _service(
            env | {"INGEST_FLUKSO_SHARD": str(i), "INGEST_FLUKSO_HTTP_PORT": str(p)}
        )
        for i, p in enumerate(ports)
    ]
    try:
        started = time.monotonic()
        # ready, and every shard has published readings (discovery is done)
        while not all(_ready(p) and _scrape(p)[1] for p in ports):
            if time.monotonic() - started > 60:
                raise RuntimeError("ingest-flukso did not start publishing")
            await asyncio.sleep(0.5)
        await asyncio.sleep(max(3.0, _WARMUP - (time.monotonic() - started)))
        pids = {f"ingest-flukso[{i}]": s.pid for i, s in enumerate(services)}
        pids |= {f"generator[{i}]": g.pid for i, g in enumerate(load)}
        pids |= {"mosquitto": mqtt._process.pid, "tansu": tansu._process.pid}  # type: ignore[union-attr]
        cpu0 = {name: _cpu(pid) for name, pid in pids.items()}
        busy0, total0 = _machine_busy()
        t0, wall0 = time.perf_counter(), time.time()
        points: list[tuple[float, float]] = []  # (s, messages handled so far)
        lags: list[float] = []
        while True:
            scraped = [_scrape(p) for p in ports]
            now = time.perf_counter() - t0
            if not all(n for _, n in scraped):  # a starved shard did not answer
                if now > 3 * seconds:
                    raise RuntimeError("ingest-flukso stopped answering /metrics")
                await asyncio.sleep(1)
                continue
            points.append((now, sum(h for h, _ in scraped)))
            newest = [n for _, n in scraped]
            if points[1:]:
                lags.append(time.time() - min(newest))
            if now >= seconds:
                break
            await asyncio.sleep(1)
        elapsed = time.perf_counter() - t0
        wall1 = time.time()
        cpu = {n: 100 * (_cpu(pid) - cpu0[n]) / elapsed for n, pid in pids.items()}
        busy1, total1 = _machine_busy()
        cores = os.cpu_count() or 1
        cpu["machine"] = 100 * cores * (busy1 - busy0) / (total1 - total0)
        # counters move once per flush (1 s): a least-squares slope, not two ends
        handled = statistics.linear_regression(*zip(*points, strict=True)).slope
    finally:
        for process in services:
            process.terminate()
        for process in services:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    per_second: dict[int, int] = {}
    late = 0.0
    for process in load:
        process.terminate()
        out, _ = process.communicate(timeout=30)
        for line in out.decode().splitlines():
            ts, count, behind = line.split()
            if wall0 <= int(ts) < wall1:
                per_second[int(ts)] = per_second.get(int(ts), 0) + int(count)
                late = max(late, float(behind))
    return Run(statistics.mean(per_second.values()), handled, lags, cpu, late)


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"machine: {platform.platform()}, {model}, cpus={os.cpu_count()}, "
        f"python {platform.python_version()}, load average at start {load}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5000,10000")
    parser.add_argument("--shards", default="1,2")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--generators", type=int, default=1)
    parser.add_argument("--batch-seconds", type=float, default=0.5)
    parser.add_argument("--generator", help=argparse.SUPPRESS)
    parser.add_argument("--blast", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        host, port, total, part, parts, span = args.generator.split(":")
        generator(host, int(port), int(total), int(part), int(parts), int(span))
        return
    if args.blast:
        host, port, n = args.blast.split(":")
        blast(host, int(port), int(n))
        return
    print(_machine())
    with tempfile.TemporaryDirectory() as tmp:
        mqtt = MqttBroker(Path(tmp), port=free_port(), require_mosquitto=True)
        mqtt.start()
        tansu = TansuBroker(port=free_port(), log_file=Path(tmp) / "tansu.log")
        tansu.start()
        try:
            kafka = KafkaSettings(
                bootstrap_servers=tansu.bootstrap_servers, topic_prefix="bench."
            )
            await ensure_topics(kafka, topics.ALL)
            raw = {
                "bare aiomqtt subscriber (msg/s)": [
                    await bare_aiomqtt(mqtt.host, mqtt.port) for _ in range(args.runs)
                ],
                "lean subscriber alone, no mapping (msg/s)": [
                    await bare_lean(mqtt.host, mqtt.port) for _ in range(args.runs)
                ],
                "bare aiokafka produce (records/s)": [
                    await bare_kafka(kafka) for _ in range(args.runs)
                ],
            }
            for name, values in raw.items():
                runs = " ".join(f"{v:,.0f}" for v in values)
                print(f"raw: {name}: median {statistics.median(values):,.0f} [{runs}]")
            for shards in (int(s) for s in args.shards.split(",")):
                for size in (int(s) for s in args.sizes.split(",")):
                    runs_: list[Run] = []
                    for run in range(args.runs):
                        result = await sustained(
                            mqtt,
                            tansu,
                            kafka,
                            sensors=size,
                            shards=shards,
                            generators=args.generators,
                            seconds=args.seconds,
                            batch_seconds=args.batch_seconds,
                        )
                        cpu = ", ".join(f"{k} {v:.0f}%" for k, v in result.cpu.items())
                        print(
                            f"  run {run + 1}: {size} devices, {shards} shard(s): "
                            f"offered {result.offered:,.0f}, handled "
                            f"{result.handled:,.0f} msg/s, lag {result.lags[-1]:.1f} s "
                            f"(growth {result.growth:+.1f} s), generator late "
                            f"<= {result.late:.2f} s; cpu: {cpu}",
                            flush=True,
                        )
                        runs_.append(result)
                    offered = statistics.median(r.offered for r in runs_)
                    handled = statistics.median(r.handled for r in runs_)
                    growth = statistics.median(r.growth for r in runs_)
                    lag = statistics.median(r.lags[-1] for r in runs_)
                    keeps_up = growth < 1.0 and handled >= 0.97 * offered
                    count = sum(len(d.sensors) for d in fleet_devices(size))
                    print(
                        f"RESULT {count} sensors @1 Hz, {shards} shard(s), batches "
                        f"every {args.batch_seconds:g} s: offered "
                        f"{offered:,.0f} msg/s, handled {handled:,.0f} msg/s, final "
                        f"lag {lag:.1f} s, lag growth {growth:+.1f} s: "
                        f"{'keeps up' if keeps_up else 'FALLS BEHIND'} "
                        f"(medians of {len(runs_)})",
                        flush=True,
                    )
        finally:
            tansu.stop()
            mqtt.stop()


if __name__ == "__main__":
    asyncio.run(main())
