"""Live alerts: ALERTS topic → hub; webhooks signed, retried, not sent twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from api.live import AlertHub, consume_alerts
from api.webhooks import WebhookDispatcher
from energy_core import topics
from energy_core._pb.energy.grid.v1 import alerts_pb2
from energy_core.kafka import KafkaPublisher
from energy_core.secrets import SecretBox

pytestmark = pytest.mark.integration


def _event(iris: str, level: int = 2) -> alerts_pb2.AlertEvent:
    return alerts_pb2.AlertEvent(
        alert_id=str(uuid.uuid4()),
        iris=iris,
        change=alerts_pb2.ALERT_CHANGE_RAISED,
        level=level,
        previous_level=0,
        load_kw=480.0,
        capacity_kw=400.0,
        occurred_at_us=1_790_000_000_000_000,
    )


async def test_alerts_topic_reaches_subscribers(kafka_settings) -> None:
    hub, ready, stop = AlertHub(), asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(consume_alerts(kafka_settings, hub, ready, stop))
    await asyncio.wait_for(ready.wait(), 30)
    publisher = KafkaPublisher(kafka_settings, client_id="test-alerts")
    await publisher.start()
    try:
        async with hub.subscribe() as queue:
            got = None
            for _ in range(20):  # "latest" offset: publish until the consumer sees it
                await publisher.publish(topics.ALERTS, "381510101", _event("381510101"))
                await publisher.flush()
                try:
                    got = await asyncio.wait_for(queue.get(), 1.5)
                    break
                except TimeoutError:
                    continue
        assert got is not None
        assert got["iris"] == "381510101"
        assert got["change"] == "raised"
        assert got["openadr"]["intervals"][0]["payloads"][0] == {
            "type": "SIMPLE",
            "values": [2],
        }
    finally:
        await publisher.stop()
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_webhook_signed_retried_and_idempotent(world) -> None:
    box = SecretBox([SecretBox.generate_key()])
    iris = str(world.territory.neighbourhoods[0].iris)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) == 1 else 204)

    async with world.pool.acquire() as conn:
        account = await conn.fetchval(
            "SELECT account_id FROM api_accounts WHERE role = 'operator'"
        )
        await conn.execute(
            """INSERT INTO api_webhooks (account_id, url, iris, secret_sealed)
               VALUES ($1, 'http://127.0.0.1:9/hook', $2, $3)""",
            account,
            iris,
            box.seal("s3cret"),
        )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        dispatch = WebhookDispatcher(world.pool, box, client, attempts=3, backoff_s=0)
        event = {
            "alert_id": "a1",
            "iris": iris,
            "change": "raised",
            "occurred_at": "2026-03-01T10:00:00+00:00",
            "level": 2,
        }
        await dispatch(event)
        await dispatch(event)  # a redelivered Kafka record
        await dispatch({**event, "iris": "381519999"})  # other neighbourhood
    assert len(calls) == 2  # one failure, one success, nothing more
    request = calls[-1]
    t, v1 = (p.split("=", 1)[1] for p in request.headers["x-sen1-signature"].split(","))
    expected = hmac.new(b"s3cret", f"{t}.".encode() + request.content, hashlib.sha256)
    assert hmac.compare_digest(v1, expected.hexdigest())
    assert json.loads(request.content)["alert_id"] == "a1"
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts FROM api_webhook_deliveries")
    assert (row["status"], row["attempts"]) == ("delivered", 2)


async def test_webhook_api_seals_the_secret(client, world) -> None:
    headers = {"authorization": f"Bearer {world.operator}"}
    r = await client.post(
        "/v1/webhooks", headers=headers, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    async with world.pool.acquire() as conn:
        sealed = await conn.fetchval("SELECT secret_sealed FROM api_webhooks")
    assert secret not in sealed
    listed = (await client.get("/v1/webhooks", headers=headers)).json()["items"]
    assert listed[0]["secret"] is None
    hook = listed[0]["webhook_id"]
    assert (
        await client.delete(f"/v1/webhooks/{hook}", headers=headers)
    ).status_code == 204
    assert (
        await client.delete(f"/v1/webhooks/{hook}", headers=headers)
    ).status_code == 404


async def test_live_load_and_alert_history(client, world) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    async with world.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO neighbourhood_load VALUES ($1, now(), 350, 20, 400, 42, 1)",
            iris,
        )
        await conn.execute(
            """INSERT INTO alerts VALUES ($1, $2, 2, 'active', now(), now(), NULL,
               480, 400)""",
            uuid.uuid4(),
            iris,
        )
    headers = {"x-api-key": world.commune_key}
    load = (await client.get("/v1/live/load", headers=headers)).json()
    assert load[0]["consumption_kw"] == 350
    assert load[0]["suppressed"] is False
    alerts = (
        await client.get("/v1/alerts", params={"state": "active"}, headers=headers)
    ).json()
    assert alerts["items"][0]["level"] == 2
    other = {"x-api-key": world.other_iris_key}
    assert (await client.get("/v1/alerts", headers=other)).json()["items"] == []
