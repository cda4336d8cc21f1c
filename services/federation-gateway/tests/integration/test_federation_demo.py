"""`make run`'s two collectives, through the same settings stack.py gives them."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from energy_store.federation import neighbour_aggregates
from federation_gateway.demo import DemoRefusedError, require_loopback
from federation_gateway.stack import processes
from sen1_stack.broker import free_port
from sen1_stack.pytest_plugin import TEMPLATE_DB

pytestmark = pytest.mark.integration


def test_demo_federation_is_refused_off_loopback() -> None:
    require_loopback("http://127.0.0.1:8030")
    require_loopback("http://localhost:8030")
    with pytest.raises(DemoRefusedError):
        require_loopback("https://federation.example.org")
    with pytest.raises(DemoRefusedError):
        require_loopback("http://10.0.0.5:8030")


def test_make_run_starts_two_collectives_on_two_databases() -> None:
    specs = processes(
        {
            "host": "127.0.0.1",
            "python": "python",
            "postgres_dsn": "postgresql://p@h:1/sen1",
        }
    )
    assert [s["name"] for s in specs] == ["federation-gateway", "federation-neighbour"]
    assert specs[1]["env"]["POSTGRES_DSN"] == "postgresql://p@h:1/sen1_neighbour"
    assert "POSTGRES_DSN" not in specs[0]["env"]


async def test_the_neighbour_is_seeded_and_pushes_to_the_first(
    collectives: Any, sen1_postgres: Any
) -> None:
    # Echirolles' database holds its commune (as the stack's does after the demo
    # load): the neighbour's data is shown to that commune's city key.
    name = f"t_{uuid.uuid4().hex[:12]}"
    sen1_postgres.create_database(name, template=TEMPLATE_DB)
    conn = await asyncpg.connect(sen1_postgres.dsn(name))
    try:
        await conn.execute(
            "INSERT INTO communes (insee, name) VALUES ('38151', 'Echirolles')"
        )
    finally:
        await conn.close()
    a_port, b_port = free_port(), free_port()
    a_url, b_url = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
    urn = "urn:sen1:iris:381850101_consumption/energy/active/P1D"
    a = await collectives(
        "echirolles.example",
        port=a_port,
        database=name,
        demo_peers=json.dumps(
            [{"domain": "grenoble.example", "url": b_url, "subscribe": [urn]}]
        ),
    )
    b = await collectives(
        "grenoble.example",
        port=b_port,
        new_database=True,
        demo_neighbour_database=True,
        demo_peers=json.dumps([{"domain": "echirolles.example", "url": a_url}]),
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        async with asyncio.timeout(30):
            while True:
                count = await a.runtime.pool.fetchval(
                    "SELECT count(*) FROM federation_peer_rollups WHERE urn = $1", urn
                )
                if count >= 60:
                    break
                await asyncio.sleep(0.1)
        assert count == 60  # 60 seeded days, each once
        peer = await a.runtime.repository.peer("grenoble.example")
        assert peer is not None
        assert peer.fingerprints == (b.runtime.keyring.current().kid,)
        assert peer.shown_to == frozenset({"38151"})
        shown = await neighbour_aggregates(
            a.runtime.pool,
            commune="38151",
            start=datetime.now(UTC) - timedelta(days=70),
            end=datetime.now(UTC),
            min_points=10,
            max_share=0.85,
        )
        assert {(s.peer_domain, s.urn) for s in shown} == {("grenoble.example", urn)}
        assert len(shown) == 60
    finally:
        stop.set()
        await loop
