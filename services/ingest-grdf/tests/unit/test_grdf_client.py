"""The ADICT client against an in-process HTTP app (httpx MockTransport)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from energy_core.errors import TransientError
from energy_core.loops import Backoff
from ingest_grdf.client import (
    AdictClient,
    AdictRefusedError,
    DailyCapReachedError,
    QuotaLimiter,
    TokenProvider,
)


class Upstream:
    def __init__(self) -> None:
        self.tokens = 0
        self.valid: set[str] = set()
        self.data_calls = 0
        self.fail: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            form = dict(x.split("=") for x in request.content.decode().split("&"))
            assert form["scope"] == "%2Fadict%2Fv2"
            self.tokens += 1
            token = f"t{self.tokens}"
            self.valid = {token}
            return httpx.Response(
                200, json={"access_token": token, "expires_in": 14399}
            )
        if request.headers["authorization"].removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"code_statut_traitement": "1000000001"})
        self.data_calls += 1
        if self.fail:
            return httpx.Response(self.fail.pop(0), json={})
        if request.url.path.endswith("/bad"):
            return httpx.Response(
                409,
                json={
                    "code_statut_traitement": "1000000003",
                    "message_retour_traitement": "x",
                },
            )
        body = json.dumps({"pce": {"id_pce": "GI999055"}}) + "\r\n"
        return httpx.Response(200, text=body, headers={"content-type": "text/plain"})


def client_for(upstream: Upstream, limiter: QuotaLimiter | None = None) -> AdictClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    tokens = TokenProvider(http, "http://adict/token", "id", "secret", "/adict/v2")
    return AdictClient(
        http,
        "http://adict/adict/v2",
        tokens,
        limiter or QuotaLimiter(1000, 10**6),
        backoff=Backoff(0.001, 0.002),
        max_attempts=4,
    )


async def test_one_renewal_for_all_workers_after_a_401() -> None:
    upstream = Upstream()
    client = client_for(upstream)
    await client.informatives("GI999055", "2026-01-01", "2026-01-02")
    upstream.valid = set()  # the token dies mid-backfill
    results = await asyncio.gather(
        *(client.informatives("GI999055", "2026-01-01", "2026-01-02") for _ in range(6))
    )
    assert all(len(r.objects) == 1 for r in results)
    assert upstream.tokens == 2, "one renewal shared by the six workers"


async def test_token_renewed_before_expiry() -> None:
    upstream = Upstream()
    now = [0.0]
    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    tokens = TokenProvider(
        http,
        "http://adict/token",
        "id",
        "s",
        "/adict/v2",
        margin_s=300,
        monotonic=lambda: now[0],
    )
    assert await tokens.get() == "t1"
    now[0] = 14399 - 301
    assert await tokens.get() == "t1"
    now[0] = 14399 - 299
    assert await tokens.get() == "t2"


async def test_transient_errors_are_ridden_out_and_refusals_raised() -> None:
    upstream = Upstream()
    client = client_for(upstream)
    upstream.fail = [429, 503, 500]
    parsed = await client.informatives("GI999055", "2026-01-01", "2026-01-02")
    assert len(parsed.objects) == 1
    with pytest.raises(AdictRefusedError) as refused:
        await client._call("x", "GET", "/bad")
    assert refused.value.code == "1000000003"


async def test_limiter_spaces_calls_and_enforces_the_daily_cap() -> None:
    limiter = QuotaLimiter(20, 3, margin_s=0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for _ in range(3):
        await limiter.acquire()
    assert loop.time() - began >= 2 / 20 * 0.9
    with pytest.raises(DailyCapReachedError) as capped:
        await limiter.acquire()
    assert capped.value.retry_after is not None
    assert capped.value.retry_after > 0


class SharedCount:
    """A fake of the PostgreSQL quota row: one count per day, slots handed out
    1/rate apart from a fake clock, a hold after a 429."""

    def __init__(self) -> None:
        self.used: dict[object, int] = {}
        self.next_at = 0.0
        self.now = 100.0
        self.holds: list[float] = []

    async def take(self, day, cap, spacing_s):  # type: ignore[no-untyped-def]
        used = self.used.get(day, 0)
        if used >= cap:
            return None
        self.used[day] = used + 1
        slot = max(self.next_at, self.now)
        self.next_at = slot + spacing_s
        return used + 1, slot - self.now

    async def hold(self, day, seconds):  # type: ignore[no-untyped-def]
        self.holds.append(seconds)


async def test_two_limiters_share_one_count() -> None:
    """Two limiters (two processes) over one store: the cap is the store's, not
    each limiter's, and the second one's slot comes after the first one's."""
    store = SharedCount()
    a = QuotaLimiter(1000.0, 3, store=store, margin_s=0.0)
    b = QuotaLimiter(1000.0, 3, store=store, margin_s=0.0)
    await a.acquire()
    await b.acquire()
    await a.acquire()
    assert store.next_at == pytest.approx(100.0 + 3 * 0.001)
    with pytest.raises(DailyCapReachedError):
        await b.acquire()
    with pytest.raises(DailyCapReachedError):
        await a.acquire()
    assert a.used_today == b.used_today == 3
    b.pause(2.0)
    await asyncio.sleep(0)  # the hold is written in the background
    assert store.holds == [2.0]


async def test_a_429_delays_only_its_own_call() -> None:
    """A 429 with Retry-After: that call waits Retry-After and takes a new slot;
    the other workers' calls go on meanwhile (no pause for everybody). Without
    Retry-After the backoff is used. A Retry-After longer than ``hold_after_s``
    (the day is spent) holds the shared limiter: the next call of anybody is
    deferred instead of slept through."""
    sent: list[str] = []
    answers: dict[str, list[httpx.Response]] = {
        "A": [httpx.Response(429, headers={"retry-after": "0.3"}, json={})],
        "C": [httpx.Response(429, json={})],
    }

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 99})
        pce = request.url.path.split("/")[-2]
        sent.append(pce)
        queue = answers.get(pce)
        if queue:
            return queue.pop(0)
        return httpx.Response(200, text="{}\n")

    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    tokens = TokenProvider(http, "http://adict/token", "id", "s", "/adict/v2")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds)

    limiter = QuotaLimiter(100, 10**6, margin_s=0)
    client = AdictClient(
        http,
        "http://adict/adict/v2",
        tokens,
        limiter,
        backoff=Backoff(0.05, 0.05),
        max_attempts=4,
        sleep=sleep,
        hold_after_s=60,
    )

    async def later(pce: str) -> None:
        await asyncio.sleep(0.05)
        await client.contractual(pce)

    await asyncio.gather(client.contractual("A"), later("B"))
    assert sent == ["A", "B", "A"], "B went while A waited its Retry-After"
    assert slept == [0.3]
    await client.contractual("C")
    assert slept[-1] == 0.05, "no Retry-After: the backoff"

    answers["D"] = [httpx.Response(429, headers={"retry-after": "3600"}, json={})]
    with pytest.raises(TransientError) as spent:
        await client.contractual("D")
    assert spent.value.retry_after == 3600
    with pytest.raises(DailyCapReachedError):
        await client.contractual("E")  # held: deferred, not slept for an hour
    assert "E" not in sent
