"""A malformed payload at an ingest service, counted on the operator's page.

The whole path with real parts: an emulated Flukso device's config on Mosquitto,
ingest-flukso (its own composition root) refusing a garbage gauge and sending it
to the dead-letter topic (tansu), the aggregator (a real Faust worker process)
storing the letter in PostgreSQL, the api answering ``/v1/ops/ingestion``. The
operator sees the count and the reason; the sensor id appears nowhere; a
resident, a city key and an anonymous caller get a problem and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import aiomqtt
import asyncpg
import httpx
import pytest

from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from energy_core.runtime import bind_socket, serve_http
from energy_core.secrets import SecretBox
from energy_core.settings import KafkaSettings, PostgresSettings
from flukso_emulator.api import make_app
from flukso_emulator.publisher import fleet_devices
from flukso_emulator.settings import DEMO_TOKEN
from ingest_flukso.bootstrap import bootstrap
from ingest_flukso.settings import Settings as FluksoSettings
from sen1_stack.broker import free_port
from sen1_stack.mqtt import MqttBroker

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
DEVICE, SENSOR = "e" * 32, "f" * 31 + "2"


@contextlib.asynccontextmanager
async def flukso_api() -> AsyncIterator[str]:
    """The emulated flukso.net (ingest-flukso's backfill upstream) on a free port."""
    app = make_app(fleet_devices(), token=DEMO_TOKEN, now=time.time)
    sock = bind_socket("127.0.0.1", 0, setting="test")
    stop = asyncio.Event()
    task = asyncio.create_task(serve_http(app, sock, stop=stop))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        await task


@contextlib.contextmanager
def aggregator(
    kafka: KafkaSettings, postgres: PostgresSettings, tmp: Path
) -> Iterator[None]:
    """The aggregator as ``make run`` starts it: a Faust worker process."""
    os.chmod(tmp, 0o755)  # noqa: S103 - the embedded PostgreSQL user reads it
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "POSTGRES_DSN": postgres.dsn.get_secret_value(),
        "AGGREGATOR_HTTP_PORT": str(free_port()),
        "AGGREGATOR_DATA_DIR": str(tmp / "aggregator"),
    }
    with (tmp / "aggregator.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "worker", "-l", "warn"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _until_row(pool: asyncpg.Pool, sql: str, within: float) -> asyncpg.Record:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        row = await pool.fetchrow(sql)
        if row is not None:
            return row
        await asyncio.sleep(0.5)
    pytest.fail(f"no row for {sql!r} within {within} s")


async def _token(conn: asyncpg.Connection, email: str, role: str) -> str:
    person = None
    if role == "resident":  # a resident account is a person's
        person = await conn.fetchval(
            "INSERT INTO people (display_name) VALUES ('r') RETURNING person_id"
        )
    await auth.create_account(
        conn, email=email, password=PASSWORD, role=role, person_id=person
    )
    token = await auth.login(
        conn, email=email, password=PASSWORD, ttl=timedelta(hours=1)
    )
    assert token
    return token


async def test_garbage_from_a_sensor_reaches_the_operator_page(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
    pg_pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    config = {"main": {"phase": 1},
              "1": {"id": SENSOR, "enable": 1, "type": "electricity"}}  # fmt: skip
    async with (
        flukso_api() as api_url,
        aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt,
    ):
        await mqtt.publish(
            f"/device/{DEVICE}/config/sensor", json.dumps(config).encode(), retain=True
        )
        settings = FluksoSettings(
            mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port,
            kafka=kafka_settings, api_url=api_url, batch_seconds=0.5,
        )  # fmt: skip
        stop = asyncio.Event()
        async with bootstrap(settings, stop=stop) as runtime:
            service = runtime.service
            task = asyncio.create_task(service.run(stop))
            try:
                deadline = time.monotonic() + 60
                while not (service.connected and all(service.connected.values())):
                    assert time.monotonic() < deadline, "ingest-flukso not connected"
                    await asyncio.sleep(0.1)
                before = service.handled
                await mqtt.publish(f"/sensor/{SENSOR}/gauge", b"garbage{")
                while service.handled < before + 1:
                    assert time.monotonic() < deadline + 60, "gauge not handled"
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1)  # the letter's publication
            finally:
                stop.set()
                await task

    with aggregator(kafka_settings, postgres_settings, tmp_path):
        row = await _until_row(
            pg_pool,
            "SELECT * FROM dead_letters WHERE service = 'ingest-flukso'",
            within=120,
        )
    assert SENSOR not in row["reason"]

    async with pg_pool.acquire() as conn:
        operator = await _token(conn, "op@example.org", "operator")
        resident = await _token(conn, "someone@example.org", "resident")
        city_key = await auth.create_api_key(
            conn, label="city", scope="commune", scope_id="38151"
        )
    app = create_app(
        ApiSettings(
            postgres=postgres_settings,
            subscribe_alerts=False,
            cookie_secure=False,
            SEN1_SECRET_KEY=SecretBox.generate_key(),
        ),
        pool=pg_pool,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as api,
    ):
        seen = await api.get(
            "/v1/ops/ingestion", headers={"authorization": f"Bearer {operator}"}
        )
        refused = [
            await api.get("/v1/ops/ingestion"),
            await api.get(
                "/v1/ops/ingestion", headers={"authorization": f"Bearer {resident}"}
            ),
            await api.get("/v1/ops/ingestion", headers={"x-api-key": city_key}),
        ]
    assert seen.status_code == 200, seen.text
    flukso = next(s for s in seen.json()["sources"] if s["source"] == "flukso")
    # MQTT delivers at least once: under load the garbage can come twice and be
    # two letters (CI saw 2); whatever their number, the route counts exactly the
    # letters recorded, and every one is this garbage.
    recorded = await pg_pool.fetch(
        "SELECT reason FROM dead_letters WHERE service = 'ingest-flukso'"
    )
    assert recorded
    assert all(r["reason"].startswith("not JSON") for r in recorded), recorded
    assert (flukso["dead_letters_24h"], flukso["dead_letters_7d"]) == (
        len(recorded),
        len(recorded),
    )
    (letters,) = [d for d in seen.json()["dead_letters"] if d["source"] == "flukso"]
    assert letters["service"] == "ingest-flukso"
    assert letters["reasons"][0]["reason"] == row["reason"]
    assert letters["reasons"][0]["count"] == len(recorded)
    assert SENSOR not in seen.text
    assert DEVICE not in seen.text
    assert [r.status_code for r in refused][:2] == [401, 403]
    assert refused[2].status_code in (401, 403)
    for r in refused:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert row["reason"] not in r.text
