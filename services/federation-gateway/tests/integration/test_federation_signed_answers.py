"""Pull answers are signed by the publisher and verified by the puller; what a
collective received from a peer never leaves it again.

Two collectives on loopback (two databases, two gateways). A tampering proxy
between them changes one byte of an answer: the puller refuses it and keeps
nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation_gateway.client import PeerClient, UnsignedAnswerError
from federation_gateway.keys import SigningKey
from federation_gateway.signatures import content_digest

from .test_federation_two_collectives import (
    AGGREGATE,
    COMMUNE,
    DAY0,
    _until,
    peered,
    subscribe,
)

pytestmark = pytest.mark.integration


class Tamper(httpx.AsyncBaseTransport):
    """A man in the middle: forwards, then edits the answer's body (and, when
    asked, recomputes its Content-Digest so only the signature can tell)."""

    def __init__(self, *, fix_digest: bool) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fix_digest = fix_digest

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        if not request.url.path.endswith("/query"):
            return httpx.Response(
                response.status_code, headers=response.headers, content=body
            )
        forged = body.replace(b"120000", b"990000")
        assert forged != body
        headers = dict(response.headers)
        headers.pop("content-length", None)
        if self.fix_digest:
            headers["content-digest"] = content_digest(forged)
        return httpx.Response(response.status_code, headers=headers, content=forged)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _pair(collectives: Any) -> tuple[Any, Any]:
    a, b, _ = await peered(
        collectives,
        territories=frozenset({COMMUNE, "38185"}),
        levels=frozenset({"neighbourhood", "commune"}),
        buckets=frozenset({"P1D"}),
    )
    return a, b


def _pull_args(b: Any) -> dict[str, Any]:
    return {
        "peer_domain": b.domain,
        "base_url": b.url,
        "pinned": (b.runtime.keyring.current().kid,),
        "urn": AGGREGATE,
        "start": DAY0,
        "end": DAY0 + timedelta(days=3),
    }


async def test_a_pull_answer_is_signed_and_verified(collectives: Any) -> None:
    a, b = await _pair(collectives)
    records = await a.runtime.client.pull(**_pull_args(b))
    assert [r["v"] for r in records] == [120_000.0]

    # B's key is not the one A pinned (A pinned a stranger's): refused.
    stranger = SigningKey.generate(datetime.now(UTC)).kid
    with pytest.raises(UnsignedAnswerError, match="not pinned"):
        await a.runtime.client.pull(**{**_pull_args(b), "pinned": (stranger,)})
    # An answer claimed from another domain than the one asked: refused.
    with pytest.raises(UnsignedAnswerError, match="another domain"):
        await a.runtime.client.pull(**{**_pull_args(b), "peer_domain": "c.example"})


@pytest.mark.parametrize("fix_digest", [False, True])
async def test_a_tampered_answer_is_refused(collectives: Any, fix_digest: bool) -> None:
    a, b = await _pair(collectives)
    async with httpx.AsyncClient(transport=Tamper(fix_digest=fix_digest)) as http:
        client = PeerClient(http, domain=a.domain, keyring=a.runtime.keyring)
        with pytest.raises(UnsignedAnswerError) as refused:
            await client.pull(**_pull_args(b))
    assert (
        "does not verify" if fix_digest else "Content-Digest"
    ) in refused.value.reason


async def test_data_received_from_a_peer_is_never_shared_again(
    collectives: Any,
) -> None:
    """B pushes its IRIS to A. C, a peer of A whose grant covers B's commune and
    levels, asks A for that IRIS, and subscribes to it: nothing of B leaves A."""
    a, b = await _pair(collectives)
    c = await collectives("collective-c.example")
    await a.runtime.repository.upsert_peer(
        c.peer_entry(
            territories=frozenset({COMMUNE, "38185"}),
            levels=frozenset({"neighbourhood", "commune"}),
            buckets=frozenset({"P1D"}),
        )
    )
    await c.runtime.repository.upsert_peer(a.peer_entry())
    await subscribe(a, b, [AGGREGATE])
    stop = asyncio.Event()
    loops = [asyncio.create_task(x.runtime.service.run(stop)) for x in (a, b)]
    try:
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups"
            )
        )
        # C asks A for B's IRIS: A answers from its own rollups only (none).
        answer = await c.runtime.client.pull(
            **{**_pull_args(b), "peer_domain": a.domain, "base_url": a.url,
               "pinned": (a.runtime.keyring.current().kid,)}
        )  # fmt: skip
        assert answer == []
        # C subscribes to it at A: no push of B's data ever reaches C.
        await subscribe(c, a, [AGGREGATE])
        await asyncio.sleep(1.5)
        assert (
            await c.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups"
            )
            == 0
        )
        assert (
            await a.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups"
            )
            == 1
        )
    finally:
        stop.set()
        await asyncio.gather(*loops)
