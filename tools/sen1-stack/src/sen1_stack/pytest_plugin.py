"""pytest fixtures giving integration tests the real broker, PostgreSQL and MQTT.

Each is started once per test session on free loopback ports; tests are isolated
by a fresh database per test (cloned from a migrated template: fast) and a unique
topic prefix per test. Registered through the ``pytest11`` entry point, so every
test in the workspace can ask for them by name.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from energy_core import topics
from energy_core.kafka import ensure_topics
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_store import migrate
from energy_store.db import create_pool
from sen1_stack.broker import TansuBroker, free_port
from sen1_stack.mqtt import MqttBroker
from sen1_stack.postgres import EmbeddedPostgres
from sen1_stack.prosody import Prosody, prosody_path

TEMPLATE_DB = "sen1_template"


def server_dir(prefix: str) -> Path:
    """A folder for a server run as another OS user (PostgreSQL when we are root).

    Not under pytest's tmp_path: pytest resets its base folder to mode 0700 at every
    session start, which would lock the server out when two sessions overlap.
    """
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="session")
def sen1_postgres() -> Iterator[EmbeddedPostgres]:
    """One embedded PostgreSQL for the session, with a migrated template database."""
    base = server_dir("sen1-test-pg-")
    server = EmbeddedPostgres(base / "data", port=free_port())
    server.start()
    try:
        server.create_database(TEMPLATE_DB)
        migrate.upgrade(server.dsn(TEMPLATE_DB))
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_dsn(sen1_postgres: EmbeddedPostgres) -> str:
    """A fresh, migrated database for this test only."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    sen1_postgres.create_database(name, template=TEMPLATE_DB)
    return sen1_postgres.dsn(name)


@pytest.fixture
def postgres_settings(pg_dsn: str) -> PostgresSettings:
    """PostgresSettings pointing at this test's database."""
    return PostgresSettings(dsn=pg_dsn)


@pytest_asyncio.fixture
async def pg_pool(postgres_settings: PostgresSettings) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on this test's database."""
    pool = await create_pool(postgres_settings)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """One embedded tansu broker for the session."""
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    broker = TansuBroker(port=free_port(), log_file=log)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest_asyncio.fixture
async def kafka_settings(kafka_broker: TansuBroker) -> KafkaSettings:
    """KafkaSettings with a unique topic prefix; every registry topic is created."""
    settings = KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
    )
    await ensure_topics(settings, topics.ALL)
    return settings


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MqttBroker]:
    """One MQTT broker for the session (Mosquitto when installed, else amqtt)."""
    broker = MqttBroker(Path(tmp_path_factory.mktemp("mqtt")), port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def prosody() -> Iterator[Prosody]:
    """One real Prosody for the session (hosts ``localhost`` and ``peer.localhost``,
    STARTTLS with a self-signed certificate at ``prosody.ca_file``); tests create
    their own accounts with ``prosody.register()``. Skipped only when the Debian
    package is not installed."""
    if prosody_path() is None:
        pytest.skip("prosody is not installed (apt-get install prosody; .ci/run does)")
    base = server_dir("sen1-test-prosody-")
    server = Prosody(base, port=free_port(), hosts=("localhost", "peer.localhost"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
