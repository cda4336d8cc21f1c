"""The composition root against real parts (broker, PostgreSQL, emulator):
/readyz checks each dependency, and a cycle publishes through the real broker."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from energy_core.observability import Health, ops_app
from energy_core.settings import KafkaSettings, PostgresSettings
from ingest_grdf.bootstrap import bootstrap
from ingest_grdf.settings import OKTA_TOKEN_PATH, Settings

from .conftest import Emulator

pytestmark = pytest.mark.integration


def settings_for(
    emulator: Emulator, kafka: KafkaSettings, postgres: PostgresSettings, **extra: Any
) -> Settings:
    return Settings(
        base_url=f"{emulator.base}/adict/v2",
        token_url=f"{emulator.base}{OKTA_TOKEN_PATH}",
        requests_per_second=1000,
        kafka=kafka,
        postgres=postgres,
        **extra,
    )


async def readyz(health: Health) -> int:
    transport = httpx.ASGITransport(app=ops_app(health))
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as http:
        return (await http.get("/readyz")).status_code


async def test_readyz_and_a_cycle_through_the_real_broker(
    emulator_factory: Any,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
) -> None:
    emulator: Emulator = await emulator_factory()
    health = Health()
    settings = settings_for(emulator, kafka_settings, postgres_settings)
    async with bootstrap(settings, health=health, clock=emulator.clock) as runtime:
        ready, checks = await health.readiness()
        assert checks == {"kafka": True, "postgres": True, "adict_token": True}
        assert ready
        assert await readyz(health) == 200
        before = REGISTRY.get_sample_value("ingest_grdf_readings_published_total") or 0
        # the sandbox PCEs' pre-existing rights of the emulator's client
        published = await runtime.service.run_cycle()
        after = REGISTRY.get_sample_value("ingest_grdf_readings_published_total") or 0
        assert published > 0
        assert after - before == published  # acknowledged by the broker


async def test_readyz_fails_on_a_refused_secret(
    emulator_factory: Any,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
) -> None:
    emulator: Emulator = await emulator_factory()
    health = Health()
    settings = settings_for(
        emulator, kafka_settings, postgres_settings, client_secret="not-the-secret"
    )
    async with bootstrap(settings, health=health):
        ready, checks = await health.readiness()
        assert not ready
        assert checks["adict_token"] is False
        assert checks["postgres"] is True
        assert await readyz(health) == 503
