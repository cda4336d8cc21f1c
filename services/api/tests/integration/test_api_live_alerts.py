"""Live alerts: ALERTS topic → hub; webhooks signed, retried, not sent twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.alert_hub import AlertGate, AlertHub, consume_alerts, withhold_load
from api.privacy import SecrecyRule
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


async def _sample(conn, iris, at, reporting, consumption=300.0, production=8.0):
    await conn.execute(
        "INSERT INTO neighbourhood_load VALUES ($1, $2, $3, $4, 400, $5, 0)",
        iris,
        at,
        consumption,
        production,
        reporting,
    )


async def test_live_load_bounds_each_direction_by_the_registry(client, world) -> None:
    # 381510101 has 5 registered production points (demo homes with a PV sensor).
    # Of 12 reporting points, as few as 7 may be consumers: too few to publish
    # consumption. Its production is never publishable here (16 registered
    # consumer points: each house's PRM and its sensors are one point).
    pv, plain = "381510101", "381510102"
    now = datetime.now(UTC)
    async with world.pool.acquire() as conn:
        await _sample(conn, pv, now, 12)
        await _sample(conn, plain, now, 15, production=0.0)
        await _sample(conn, plain, now - timedelta(minutes=1), 3)  # older: ignored
    load = {
        r["iris"]: r
        for r in (
            await client.get("/v1/live/load", headers=bearer(world.operator))
        ).json()
    }
    assert load[pv]["suppressed"] is True
    assert load[pv]["consumption_kw"] is None
    assert load[pv]["meters_reporting"] is None
    assert load[pv]["production_suppressed"] is True
    assert load[pv]["production_kw"] is None
    assert "12" not in (load[pv]["reason"] or "")
    assert load[plain]["consumption_kw"] == 300.0
    assert load[plain]["meters_reporting"] == 15
    assert load[plain]["production_kw"] == 0.0  # no producer there: zero says nothing


async def test_alert_peak_load_passes_the_gate(client, world) -> None:
    pv, plain = "381510101", "381510102"
    at = datetime(2026, 3, 1, 18, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        # Every point of each IRIS reports (Ouest Nord: 16 houses, 5 with PV).
        for iris, n in ((pv, 16), (plain, 42)):
            await _sample(conn, iris, at, n, production=0.0 if iris == plain else 8)
            await conn.execute(
                """INSERT INTO alerts VALUES ($1, $2, 2, 'active', $3, $3, NULL,
                   480, 400)""",
                uuid.uuid4(),
                iris,
                at,
            )
    items = {
        a["iris"]: a
        for a in (
            await client.get("/v1/alerts", headers=bearer(world.operator))
        ).json()["items"]
    }
    # With PV around, net load minus the (published) consumption would give the
    # production of fewer than 10 homes: the peak is withheld, the level is not.
    assert items[pv]["peak_load_kw"] is None
    assert items[pv]["load_suppressed"] is True
    assert items[pv]["level"] == 2
    assert items[plain]["peak_load_kw"] == 480
    assert items[plain]["load_suppressed"] is False


async def test_alert_pages_only_over_the_keys_territory(client, world) -> None:
    own = str(world.territory.neighbourhoods[-1].iris)
    other = str(world.territory.neighbourhoods[0].iris)
    at = datetime(2026, 3, 1, 18, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        for iris, when in ((own, at), (other, at + timedelta(hours=1))):
            await conn.execute(
                """INSERT INTO alerts VALUES ($1, $2, 1, 'active', $3, $3, NULL,
                   480, 400)""",
                uuid.uuid4(),
                iris,
                when,
            )
    r = await client.get(
        "/v1/alerts", params={"limit": 1}, headers={"x-api-key": world.other_iris_key}
    )
    assert [a["iris"] for a in r.json()["items"]] == [own]


async def test_streamed_alert_events_pass_the_gate(world) -> None:
    pv, plain = "381510101", "381510102"
    at = datetime(2026, 3, 1, 18, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        await _sample(conn, plain, at, 42, production=0.0)
        await _sample(conn, pv, at, 16)  # all 16 houses, 5 with PV
    heard: list[dict] = []

    async def listener(event: dict) -> None:  # what webhooks get
        heard.append(event)

    def event(iris: str) -> dict:
        return {
            "alert_id": "a1",
            "iris": iris,
            "change": "raised",
            "level": 2,
            "load_kw": 480.0,
            "capacity_kw": 400.0,
            "occurred_at": at.isoformat(),
        }

    hub = AlertHub(gate=AlertGate(world.pool, SecrecyRule()))
    hub.add_listener(listener)
    async with hub.subscribe() as queue:
        await hub.publish(event(plain))
        await hub.publish(event(pv))
        await hub.publish(event("381510201"))  # no sample at all
        got = [queue.get_nowait() for _ in range(3)]
    await hub.drain()
    assert [e["load_kw"] for e in got] == [480.0, None, None]
    assert [e["load_kw"] for e in heard] == [480.0, None, None]
    assert got[1]["load_suppressed"] is True
    assert got[1]["level"] == 2
    assert (await withhold_load(event(plain)))["load_kw"] is None  # the default gate


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_no_live_meter_and_a_cleared_alert_s_peak_level(client, world) -> None:
    """An IRIS with no FluksoMeter has no live load (not a withheld one); a
    cleared alert (level 0) still says the level it reached."""
    measured = {
        r["iris"]
        for r in await world.pool.fetch(
            "SELECT DISTINCT b.iris FROM meters m JOIN buildings b USING (building_id)"
            " WHERE m.scheme = 'flukso' AND m.delivery_point_id IS NOT NULL"
        )
    }
    hoods = [str(n.iris) for n in world.territory.neighbourhoods]
    dark = next(i for i in hoods if i not in measured)
    lit = next(i for i in hoods if i in measured)
    alert = uuid.uuid4()
    async with world.pool.acquire() as conn:
        for iris in (dark, lit):
            await conn.execute(
                "INSERT INTO neighbourhood_load VALUES ($1, now(), 0, 0, 400, 0, 0)",
                iris,
            )
        await conn.execute(
            """INSERT INTO alerts VALUES ($1, $2, 0, 'cleared', now() - interval
               '5 minutes', now(), now(), 480, 400)""",
            alert,
            lit,
        )
        for minutes, change, level, previous in (
            (5, "raised", 1, 0), (4, "escalated", 3, 1), (3, "deescalated", 2, 3),
            (1, "cleared", 0, 2),
        ):  # fmt: skip
            await conn.execute(
                "INSERT INTO alert_events VALUES ($1, now() - make_interval("
                "mins => $2), $3, $4, $5, 450, 400)",
                alert, minutes, change, level, previous,
            )  # fmt: skip
    headers = {"x-api-key": world.commune_key}
    load = {
        r["iris"]: r
        for r in (await client.get("/v1/live/load", headers=headers)).json()
    }
    assert load[dark]["live_measured"] is False
    assert load[dark]["suppressed"] is True
    assert load[lit]["live_measured"] is True
    assert load[lit]["consumption_kw"] is None  # nobody reporting: withheld
    page = await client.get("/v1/alerts", params={"state": "cleared"}, headers=headers)
    item = next(a for a in page.json()["items"] if a["alert_id"] == str(alert))
    assert (item["level"], item["peak_level"]) == (0, 3)
    # a key of another IRIS sees neither IRIS' load nor the alert
    other = {"x-api-key": world.other_iris_key}
    mine = str(world.territory.neighbourhoods[-1].iris)
    seen = (await client.get("/v1/live/load", headers=other)).json()
    assert {r["iris"] for r in seen} <= {mine}
    assert lit != mine
    alerts = (await client.get("/v1/alerts", headers=other)).json()["items"]
    assert str(alert) not in {a["alert_id"] for a in alerts}
