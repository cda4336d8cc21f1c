"""``sen1-stack run``: the whole platform on the embedded default, until Ctrl-C.

Starts embedded PostgreSQL (data under ``.var/postgres``, kept between runs), the
tansu broker (memory), an MQTT broker, migrates the schema, creates the topics,
loads the demo territory, then every service and emulator announced through the
``sen1.stack`` entry points, with prefixed logs. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from typing import Any

from cryptography.fernet import Fernet

from energy_core import topics
from energy_core.kafka import ensure_topics
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_store import demo, migrate
from energy_store.db import create_pool
from energy_store.loader import load_territory
from sen1_stack.broker import TansuBroker
from sen1_stack.mqtt import MqttBroker
from sen1_stack.postgres import EmbeddedPostgres
from sen1_stack.settings import StackSettings
from sen1_stack.supervisor import Supervisor, discover

logger = logging.getLogger("sen1-stack")


def _say(message: str) -> None:
    sys.stdout.write(f"sen1-stack         | {message}\n")
    sys.stdout.flush()


def _secret_key(settings: StackSettings) -> str:
    path = settings.var_dir / "secret.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


async def _prepare(
    settings: StackSettings, pg: EmbeddedPostgres, kafka: TansuBroker
) -> None:
    dsn = pg.dsn(settings.database)
    await asyncio.to_thread(pg.create_database, settings.database)
    await asyncio.to_thread(migrate.upgrade, dsn)
    await ensure_topics(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers), topics.ALL
    )
    if settings.load_demo:
        pool = await create_pool(PostgresSettings(dsn=dsn))
        try:
            counts = await load_territory(pool, demo.build())
        finally:
            await pool.close()
        _say(f"demo territory {demo.COMMUNE_NAME} ({demo.COMMUNE}): {counts}")


async def run(settings: StackSettings) -> int:
    """Brings the platform up, waits for a signal, brings it down."""
    began = time.monotonic()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(
        settings.var_dir / "postgres", port=settings.postgres_port, host=settings.host
    )
    kafka = TansuBroker(
        host=settings.host,
        port=settings.kafka_port,
        log_file=settings.var_dir / "tansu.log",
    )
    mqtt = MqttBroker(
        settings.var_dir / "mqtt", host=settings.host, port=settings.mqtt_port
    )
    supervisor: Supervisor | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.to_thread(pg.start)
        _say(f"PostgreSQL on {pg.dsn(settings.database)} (data in {pg.data_dir})")
        await asyncio.to_thread(kafka.start)
        _say(f"Kafka-protocol broker (tansu, memory) on {kafka.bootstrap_servers}")
        await asyncio.to_thread(mqtt.start)
        _say(
            f"MQTT broker ({mqtt.implementation}) on {settings.host}:{settings.mqtt_port}"
        )
        await _prepare(settings, pg, kafka)
        dsn = pg.dsn(settings.database)
        base_env = {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "POSTGRES_DSN": dsn,
            "SEN1_SECRET_KEY": _secret_key(settings),
            "SEN1_MQTT_HOST": settings.host,
            "SEN1_MQTT_PORT": str(settings.mqtt_port),
        }
        ctx: dict[str, Any] = {
            "python": sys.executable,
            "host": settings.host,
            "kafka_bootstrap": kafka.bootstrap_servers,
            "postgres_dsn": dsn,
            "mqtt_host": settings.host,
            "mqtt_port": settings.mqtt_port,
            "mqtt_implementation": mqtt.implementation,
            "var_dir": str(settings.var_dir.resolve()),
            "demo_mode": settings.demo_mode,
            "env": base_env,
        }
        specs = discover(ctx)
        supervisor = Supervisor(base_env)
        failures = await supervisor.start(specs)
        _say(f"up in {time.monotonic() - began:.1f} s; {len(specs)} processes")
        for spec in specs:
            for label, url in spec.urls.items():
                _say(f"  {label:<32} {url}")
            if spec.health_url:
                state = "NOT HEALTHY" if spec.name in failures else "healthy"
                _say(f"  {spec.name + ' health':<32} {spec.health_url} ({state})")
        _say("Ctrl-C stops everything; data stays in " + str(settings.var_dir))
        await stop.wait()
        return 0
    except (RuntimeError, TimeoutError) as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        _say("stopping…")
        if supervisor is not None:
            await supervisor.stop()
        mqtt.stop()
        kafka.stop()
        await asyncio.to_thread(pg.stop)
        _say("stopped")


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="sen1-stack", description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(asyncio.run(run(StackSettings())))


if __name__ == "__main__":
    main()
