"""Hardening over the real database: sign-in limits, API keys, SSE limits, webhook
targets and stuck deliveries, supervised consumers in /readyz, logs without PRMs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api import auth
from api.main import create_app
from api.netguard import guarded_client, networks
from api.routes import meters
from api.settings import Settings
from api.webhooks import WebhookDispatcher
from energy_core.observability import Health, JsonFormatter
from energy_core.secrets import SecretBox
from energy_core.settings import PostgresSettings

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"  # the conftest's
PROBLEM = "application/problem+json"


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Polls ``condition`` (state owned by code under test has no event to await)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - nothing to await but the state
            await asyncio.sleep(0.01)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def make_client(
    world: Any, postgres_settings: PostgresSettings
) -> AsyncIterator[Callable[..., Any]]:
    """Builds apps with their own settings; each client may claim its own address."""
    stacks: list[Any] = []

    async def make(
        address: str = "127.0.0.1", app: Any = None, **overrides: Any
    ) -> httpx.AsyncClient:
        if app is None:
            settings = Settings(
                postgres=postgres_settings,
                subscribe_alerts=False,
                cookie_secure=False,
                SEN1_SECRET_KEY=SecretBox.generate_key(),
                **overrides,
            )
            app = create_app(settings, pool=world.pool)
            lifespan = app.router.lifespan_context(app)
            await lifespan.__aenter__()
            stacks.append(lifespan)
        transport = httpx.ASGITransport(
            app=app, client=(address, 40000), raise_app_exceptions=False
        )
        client = httpx.AsyncClient(transport=transport, base_url="http://sen1.test")
        client.app = app  # type: ignore[attr-defined]
        stacks.append(client)
        return client

    yield make
    for item in reversed(stacks):
        if isinstance(item, httpx.AsyncClient):
            await item.aclose()
        else:
            await item.__aexit__(None, None, None)


# --- sign-in ----------------------------------------------------------------------


async def test_failed_sign_ins_get_429_before_any_hash(
    make_client: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = world.territory.residents[0].email
    checks: list[int] = []
    verify = auth._verify

    def counting(stored: str, password: str) -> bool:
        checks.append(1)
        return verify(stored, password)

    monkeypatch.setattr(auth, "_verify", counting)
    client = await make_client(login_account_attempts=3)
    for _ in range(3):
        r = await client.post("/v1/auth/login", json={"email": email, "password": "x"})
        assert r.status_code == 401
    assert len(checks) == 3
    # From another address, even with the right password: the account waits.
    other = await make_client(address="203.0.113.9", app=client.app)
    r = await other.post(
        "/v1/auth/login", json={"email": email.upper(), "password": PASSWORD}
    )
    assert r.status_code == 429
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/too-many-attempts"
    assert 1 <= int(r.headers["retry-after"]) <= 300
    assert len(checks) == 3  # refused before argon2 ran
    # Another account signs in as usual.
    r = await client.post(
        "/v1/auth/login",
        json={"email": world.territory.residents[1].email, "password": PASSWORD},
    )
    assert r.status_code == 200


async def test_an_address_flooding_made_up_accounts_is_refused(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[int] = []
    verify = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda s, p: checks.append(1) or verify(s, p))
    client = await make_client(address="198.51.100.7", login_address_attempts=4)
    codes = [
        (
            await client.post(
                "/v1/auth/login", json={"email": f"nobody{n}@x.org", "password": "x"}
            )
        ).status_code
        for n in range(6)
    ]
    assert codes == [401, 401, 401, 401, 429, 429]
    assert len(checks) == 4
    other = await make_client(address="198.51.100.8", app=client.app)
    r = await other.post("/v1/auth/login", json={"email": "z@x.org", "password": "x"})
    assert r.status_code == 401


async def test_password_checks_beyond_the_cap_are_refused(
    make_client: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    verify = auth._verify

    def slow(stored: str, password: str) -> bool:
        entered.set()
        release.wait(10)
        return verify(stored, password)

    monkeypatch.setattr(auth, "_verify", slow)
    client = await make_client(login_max_concurrent=1)
    email = world.territory.residents[0].email
    first = asyncio.create_task(
        client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    )
    await asyncio.to_thread(entered.wait, 10)
    r = await client.post("/v1/auth/login", json={"email": "b@x.org", "password": "x"})
    release.set()
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert (await first).status_code == 200


# --- API keys -----------------------------------------------------------------------


async def test_operator_manages_keys_and_only_the_operator(
    client: httpx.AsyncClient, world: Any
) -> None:
    op = bearer(world.operator)
    commune = str(world.territory.commune)
    r = await client.post(
        "/v1/keys",
        headers=op,
        json={"label": "city hall", "scope": "commune", "scope_id": commune},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("sen1k_")
    assert created["hint"] == key[:10]
    assert created["state"] == "active"
    assert created["expires_at"] is not None  # API_KEY_TTL_DAYS
    async with world.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT * FROM api_keys WHERE key_id = $1", created["key_id"]
        )
    assert key not in json.dumps({k: str(v) for k, v in dict(stored).items()})
    assert stored["key_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    me = (await client.get("/v1/auth/me", headers={"x-api-key": key})).json()
    assert me == {"kind": "city", "scope": "commune", "scope_id": commune}

    listed = (await client.get("/v1/keys", headers=op)).json()["items"]
    assert created["key_id"] in [k["key_id"] for k in listed]
    assert all("key" not in k for k in listed)

    # Rotation: the successor works, the old key only until the grace ends.
    rotated = await client.post(f"/v1/keys/{created['key_id']}/rotate", headers=op)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert (new["scope"], new["scope_id"], new["label"]) == (
        "commune",
        commune,
        "city hall",
    )
    assert (await client.get("/v1/auth/me", headers={"x-api-key": new["key"]})).json()[
        "kind"
    ] == "city"
    assert (
        await client.get("/v1/auth/me", headers={"x-api-key": key})
    ).status_code == 200
    async with world.pool.acquire() as conn:
        old = await conn.fetchrow(
            "SELECT replaced_by, expires_at - now() AS left FROM api_keys "
            "WHERE key_id = $1",
            created["key_id"],
        )
        assert str(old["replaced_by"]) == new["key_id"]
        assert timedelta(hours=23) < old["left"] <= timedelta(hours=24)
        # The grace is over: the old key is refused like an unknown one.
        await conn.execute(
            "UPDATE api_keys SET created_at = now() - interval '2 days', "
            "expires_at = now() - interval '1 second' WHERE key_id = $1",
            created["key_id"],
        )
    r = await client.get("/v1/auth/me", headers={"x-api-key": key})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert (
        await client.post(f"/v1/keys/{created['key_id']}/rotate", headers=op)
    ).status_code == 404
    states = {
        k["key_id"]: k["state"]
        for k in (
            await client.get("/v1/keys", params={"include_inactive": True}, headers=op)
        ).json()["items"]
    }
    assert states[created["key_id"]] == "expired"
    assert created["key_id"] not in [
        k["key_id"] for k in (await client.get("/v1/keys", headers=op)).json()["items"]
    ]

    # Revocation is immediate.
    assert (
        await client.delete(f"/v1/keys/{new['key_id']}", headers=op)
    ).status_code == 204
    assert (
        await client.get("/v1/auth/me", headers={"x-api-key": new["key"]})
    ).status_code == 401
    assert (
        await client.delete(f"/v1/keys/{new['key_id']}", headers=op)
    ).status_code == 404

    # Nobody else manages keys: residents, any city key, the public.
    target = created["key_id"]
    for headers, status in (
        (bearer(world.resident_a), 403),
        ({"x-api-key": world.commune_key}, 403),
        ({"x-api-key": world.other_iris_key}, 403),
        ({}, 401),
    ):
        body = {"label": "mine", "scope": "commune", "scope_id": commune}
        assert (
            await client.post("/v1/keys", headers=headers, json=body)
        ).status_code == status
        assert (await client.get("/v1/keys", headers=headers)).status_code == status
        assert (
            await client.post(f"/v1/keys/{target}/rotate", headers=headers)
        ).status_code == status
        assert (
            await client.delete(f"/v1/keys/{target}", headers=headers)
        ).status_code == status
    async with world.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM api_keys WHERE label = 'mine'")
            == 0
        )


async def test_alert_system_key_and_key_validation(
    client: httpx.AsyncClient, world: Any
) -> None:
    op = bearer(world.operator)
    r = await client.post(
        "/v1/keys", headers=op, json={"label": "alerts", "scope": "alerts"}
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    me = (await client.get("/v1/auth/me", headers={"x-api-key": key})).json()
    assert me == {"kind": "alerts", "scope": "alerts", "scope_id": None}
    # A key never reads individual data, whatever its scope.
    assert (
        await client.get("/v1/meters", headers={"x-api-key": key})
    ).status_code == 403
    for body in (
        {"label": "x", "scope": "alerts", "scope_id": "38151"},
        {"label": "x", "scope": "commune", "scope_id": "99999"},  # unknown commune
        {"label": "x", "scope": "neighbourhood", "scope_id": "38151"},
        {
            "label": "x",
            "scope": "commune",
            "scope_id": "38151",
            "expires_in_days": 5000,
        },
    ):
        r = await client.post("/v1/keys", headers=op, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"] == PROBLEM


# --- SSE ----------------------------------------------------------------------------


async def test_open_streams_are_limited_per_account_and_per_key(
    make_client: Any, world: Any
) -> None:
    client = await make_client(sse_max_streams_per_caller=2)
    streams = client.app.state.streams
    for headers in (bearer(world.operator), {"x-api-key": world.commune_key}):
        held = [
            asyncio.create_task(client.get("/v1/stream/alerts", headers=headers))
            for _ in range(2)
        ]
        await eventually(lambda: sum(streams._open.values()) == 2)
        r = await client.get("/v1/stream/load", headers=headers)
        assert r.status_code == 429
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "/problems/too-many-streams"
        assert "retry-after" in r.headers
        # Someone else still streams.
        other = bearer(world.resident_b)
        r = await client.get("/v1/stream/load", params={"max_events": 1}, headers=other)
        assert r.status_code == 200
        assert r.text.startswith("event: load")
        for task in held:  # the clients go away: their slots come back
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        await eventually(lambda: not sum(streams._open.values()))
        r = await client.get(
            "/v1/stream/load", params={"max_events": 1}, headers=headers
        )
        assert r.status_code == 200


async def test_a_revoked_key_loses_its_open_stream(
    make_client: Any, world: Any
) -> None:
    client = await make_client(sse_recheck_s=0.2)
    streams = client.app.state.streams
    headers = {"x-api-key": world.commune_key}
    stream = asyncio.create_task(
        client.get("/v1/stream/load", params={"every_s": 0.2}, headers=headers)
    )
    await eventually(lambda: sum(streams._open.values()) == 1)
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_sha256 = $1",
            auth.digest(world.commune_key),
        )
    r = await asyncio.wait_for(stream, 5)  # it ends by itself, within a recheck
    assert r.status_code == 200
    assert r.text.count("event: load") >= 1
    assert sum(streams._open.values()) == 0


# --- webhooks -----------------------------------------------------------------------


class Receiver:
    """A loopback HTTP server that records what it is sent and answers 204."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {
            k.strip().lower(): v.strip()
            for k, v in (line.split(":", 1) for line in head.split("\r\n")[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        writer.write(
            f"HTTP/1.1 {self.status} X\r\ncontent-length: 0\r\n"
            "connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


async def test_internal_targets_are_refused_at_registration(
    make_client: Any, world: Any
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        table = {"internal.example": ["10.0.0.5"], "public.example": ["93.184.216.34"]}
        return table.get(host) or [host]

    client = await make_client()  # production default: no allow-list
    client.app.state.resolve = resolve
    op = bearer(world.operator)
    for url in (
        "http://127.0.0.1:9/hook",
        "http://10.1.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://[fd12::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        "https://internal.example/hook",
    ):
        r = await client.post("/v1/webhooks", headers=op, json={"url": url})
        assert r.status_code == 422, url
        assert r.json()["type"] == "/problems/webhook-target-refused"
    r = await client.post(
        "/v1/webhooks", headers=op, json={"url": "https://public.example/hook"}
    )
    assert r.status_code == 201, r.text
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM api_webhooks") == 1


async def _hook(world: Any, box: SecretBox, url: str) -> Any:
    async with world.pool.acquire() as conn:
        account = await conn.fetchval(
            "SELECT account_id FROM api_accounts WHERE role = 'operator'"
        )
        return await conn.fetchval(
            """INSERT INTO api_webhooks (account_id, url, iris, secret_sealed)
               VALUES ($1, $2, NULL, $3) RETURNING webhook_id""",
            account,
            url,
            box.seal("s3cret"),
        )


EVENT = {
    "alert_id": "a1",
    "iris": "381510101",
    "change": "raised",
    "occurred_at": "2026-03-01T10:00:00+00:00",
    "level": 2,
}


async def test_delivery_checks_the_address_it_connects_to(world: Any) -> None:
    """DNS rebinding: accepted as public at registration, loopback at delivery."""
    box = SecretBox([SecretBox.generate_key()])

    async def rebound(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "hooks.example" else [host]

    async with Receiver() as receiver:
        webhook = await _hook(world, box, f"http://hooks.example:{receiver.port}/h")
        async with guarded_client([], timeout_s=2, resolve=rebound) as strict:
            await WebhookDispatcher(world.pool, box, strict, attempts=2, backoff_s=0)(
                EVENT
            )
        assert receiver.requests == []
        async with world.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM api_webhook_deliveries")
        assert row["status"] == "failed"
        assert "127.0.0.1 is not a public address" in row["last_error"]
        assert row["payload"] is None  # settled: the body is not kept

        # Allow-listed explicitly (as the test settings do), the same name is reached
        # at the address our resolver gave: the name itself resolves nowhere.
        allow = networks(["127.0.0.0/8"])
        async with guarded_client(allow, timeout_s=2, resolve=rebound) as allowed:
            await WebhookDispatcher(world.pool, box, allowed, attempts=2, backoff_s=0)(
                {**EVENT, "alert_id": "a2"}
            )
        assert len(receiver.requests) == 1
        headers, body = receiver.requests[0]
        assert headers["host"] == f"hooks.example:{receiver.port}"
        assert json.loads(body)["alert_id"] == "a2"
    async with world.pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT status FROM api_webhook_deliveries WHERE webhook_id = $1 "
                "AND event_key LIKE 'a2:%'",
                webhook,
            )
            == "delivered"
        )


async def _stuck(world: Any, webhook: Any, key: str, **row: Any) -> None:
    async with world.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO api_webhook_deliveries (webhook_id, event_key, status,
                   attempts, payload, next_attempt_at, lease_until, updated_at)
               VALUES ($1, $2, 'pending', $3, $4, now() - interval '1 minute',
                       now() + make_interval(secs => $5), now() - interval '1 hour')""",
            webhook,
            key,
            row.get("attempts", 1),
            json.dumps({**EVENT, "alert_id": key}),
            row.get("lease_in_s", -30.0),
        )


async def test_deliveries_stuck_pending_after_a_crash_are_sent_again(
    world: Any,
) -> None:
    box = SecretBox([SecretBox.generate_key()])

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with Receiver() as receiver:
        webhook = await _hook(world, box, f"http://hooks.example:{receiver.port}/h")
        await _stuck(world, webhook, "crashed")  # lease ran out: owed
        await _stuck(world, webhook, "in-flight", lease_in_s=60)  # another sender's
        await _stuck(world, webhook, "spent", attempts=3)  # nothing left to try
        allow = networks(["127.0.0.0/8"])
        async with guarded_client(allow, timeout_s=2, resolve=resolve) as client:
            dispatcher = WebhookDispatcher(
                world.pool, box, client, attempts=3, backoff_s=0, lease_s=30
            )
            assert await dispatcher.retry_due() == 2
            assert await dispatcher.retry_due() == 0  # nothing due any more
        assert [json.loads(b)["alert_id"] for _, b in receiver.requests] == ["crashed"]
        headers, body = receiver.requests[0]
        t, v1 = (p.split("=", 1)[1] for p in headers["x-sen1-signature"].split(","))
        mac = hmac.new(b"s3cret", f"{t}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(v1, mac.hexdigest())
    async with world.pool.acquire() as conn:
        rows = {
            r["event_key"]: r
            for r in await conn.fetch("SELECT * FROM api_webhook_deliveries")
        }
    assert (rows["crashed"]["status"], rows["crashed"]["attempts"]) == ("delivered", 2)
    assert rows["in-flight"]["status"] == "pending"
    assert rows["spent"]["status"] == "failed"


async def test_a_retried_delivery_that_fails_waits_its_backoff(world: Any) -> None:
    box = SecretBox([SecretBox.generate_key()])

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with Receiver(status=503) as receiver:
        webhook = await _hook(world, box, f"http://hooks.example:{receiver.port}/h")
        await _stuck(world, webhook, "flaky")
        lost = await _hook(world, SecretBox([SecretBox.generate_key()]), "http://x/")
        await _stuck(world, lost, "old-key")  # sealed under a key we no longer have
        allow = networks(["127.0.0.0/8"])
        async with guarded_client(allow, timeout_s=2, resolve=resolve) as client:
            dispatcher = WebhookDispatcher(
                world.pool, box, client, attempts=3, backoff_s=30, lease_s=30
            )
            assert await dispatcher.retry_due() == 2  # returns after one attempt each
            assert await dispatcher.retry_due() == 0  # the backoff is not over
        assert len(receiver.requests) == 1
    async with world.pool.acquire() as conn:
        rows = {
            r["event_key"]: r
            for r in await conn.fetch(
                "SELECT *, next_attempt_at - now() AS wait FROM api_webhook_deliveries"
            )
        }
    flaky = rows["flaky"]
    assert (flaky["status"], flaky["attempts"], flaky["last_error"]) == (
        "pending",
        2,
        "HTTP 503",
    )
    assert timedelta(seconds=50) < flaky["wait"] <= timedelta(seconds=60)  # 30 * 2
    assert flaky["lease_until"] is None  # any process may take it when due
    assert flaky["payload"] is not None
    assert (rows["old-key"]["status"], rows["old-key"]["last_error"]) == (
        "failed",
        "secret cannot be opened",
    )


async def test_the_api_retries_stuck_deliveries_by_itself(
    make_client: Any, world: Any
) -> None:
    """The supervised retry loop of a running api picks up what a dead one left."""
    async with Receiver() as receiver:
        client = await make_client(
            webhook_retry_every_s=0.2, webhook_allow_networks=["127.0.0.0/8"]
        )
        webhook = await _hook(
            world, client.app.state.box, f"http://127.0.0.1:{receiver.port}/h"
        )
        await _stuck(world, webhook, "left-behind")
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        assert [json.loads(b)["alert_id"] for _, b in receiver.requests] == [
            "left-behind"
        ]
        r = await client.get("/readyz")
        assert r.json()["checks"]["webhook-retries"] is True


# --- supervised consumers -------------------------------------------------------------


async def test_readyz_is_503_while_the_alerts_consumer_is_down(
    make_client: Any, world: Any, postgres_settings: PostgresSettings
) -> None:
    fail = asyncio.Event()
    runs: list[int] = []

    async def consumer(ready: asyncio.Event, stop: asyncio.Event) -> None:
        runs.append(1)
        ready.set()
        if len(runs) == 1:
            await fail.wait()
            raise ConnectionError("broker connection lost")
        await stop.wait()

    settings = Settings(
        postgres=postgres_settings, subscribe_alerts=False, consumer_backoff_s=0.5
    )
    app = create_app(settings, pool=world.pool, health=Health(), alerts_loop=consumer)
    async with app.router.lifespan_context(app):
        client = await make_client(app=app)
        for _ in range(100):
            r = await client.get("/readyz")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert r.status_code == 200
        assert r.json()["checks"]["alerts-consumer"] is True
        fail.set()
        await asyncio.sleep(0.1)
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["alerts-consumer"] is False
        for _ in range(100):
            r = await client.get("/readyz")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 200  # restarted after its backoff
        assert app.state.supervised["alerts-consumer"].restarts == 1
        assert len(runs) == 2


# --- logs -----------------------------------------------------------------------------


async def test_a_failing_request_logs_no_prm(
    make_client: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prm = world.meter_a

    async def broken(conn: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"Key (meter_id)=({kwargs.get('meter_id')}) went wrong")

    monkeypatch.setattr(meters.queries, "meter_for", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("api"))  # what configure_logging installs
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client = await make_client()
        r = await client.get(
            f"/v1/meters/{prm}/daily",
            params={"start": "2026-01-01", "end": "2026-01-02"},
            headers=bearer(world.resident_a),
        )
    finally:
        root.removeHandler(handler)
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM
    logged = stream.getvalue()
    assert "unhandled error on GET /v1/meters/{meter_id}/daily" in logged
    assert "RuntimeError (message withheld)" in logged
    assert prm not in logged
    assert prm not in r.text.replace(f"/v1/meters/{prm}/daily", "")  # only `instance`
