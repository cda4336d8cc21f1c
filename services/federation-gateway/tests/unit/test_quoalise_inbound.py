"""The inbound loop over fakes of its ports: who is read from, what is stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from energy_core.errors import UpstreamUnavailableError
from federation_gateway.egress import PeerGrant
from federation_gateway.mapping import Received
from federation_gateway.quoalise.inbound import (
    UnknownProviderError,
    read_into,
    run_inbound,
)
from federation_gateway.quoalise.payload import Data, Record
from federation_gateway.repository import Peer

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URN = "urn:dev:prm:12345678901234_consumption/energy/active/daily"
OTHER = "urn:dev:prm:99999999999999_consumption/energy/active/daily"


class FakeReader:
    def __init__(self, *, down: set[str] | None = None) -> None:
        self.asked: list[tuple[str, str, datetime | None, datetime | None]] = []
        self.down = down or set()

    async def get_history(
        self,
        provider: str,
        identifier: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Data:
        self.asked.append((provider, identifier, start, end))
        if provider in self.down:
            raise UpstreamUnavailableError("offline")
        return Data(
            None,
            [
                Record(identifier, NOW - timedelta(days=1), 8000.0, "Wh"),
                Record(OTHER, NOW - timedelta(days=1), 1.0, "Wh"),  # slipped in
            ],
        )


class FakeStore:
    def __init__(self, peers: dict[str, Peer]) -> None:
        self.peers = peers
        self.stored: list[tuple[str, str, list[Received]]] = []

    async def peer_by_jid(self, jid: str) -> Peer | None:
        return self.peers.get(jid.lower())

    async def store_peer_series(
        self, peer_domain: str, source_jid: str, rows: list[Received]
    ) -> int:
        self.stored.append((peer_domain, source_jid, rows))
        return len(rows)


def _peer(revoked: datetime | None = None) -> Peer:
    return Peer(
        "b.example",
        "https://b.example",
        ("k",),
        PeerGrant("b.example"),
        revoked_at=revoked,
        jid="proxy@b.example",
    )


async def test_a_registered_provider_is_read_and_only_the_asked_series_stored() -> None:
    reader, store = FakeReader(), FakeStore({"proxy@b.example": _peer()})
    count = await read_into(
        reader,
        store,
        provider="proxy@b.example/proxy",
        identifier=URN,
        start=NOW - timedelta(days=2),
        end=NOW,
        now=NOW,
    )
    assert count == 1
    ((domain, jid, rows),) = store.stored
    assert (domain, jid) == ("b.example", "proxy@b.example")
    assert [(r.urn, r.value) for r in rows] == [(URN, 8000.0)]


@pytest.mark.parametrize("peers", [{}, {"proxy@b.example": _peer(NOW)}])
async def test_an_unknown_or_revoked_provider_is_not_even_asked(
    peers: dict[str, Peer],
) -> None:
    reader, store = FakeReader(), FakeStore(peers)
    with pytest.raises(UnknownProviderError):
        await read_into(
            reader,
            store,
            provider="proxy@b.example/proxy",
            identifier=URN,
            start=NOW - timedelta(days=2),
            end=NOW,
            now=NOW,
        )
    assert reader.asked == []
    assert store.stored == []


async def test_the_loop_reads_every_source_and_one_failure_stops_none() -> None:
    reader = FakeReader(down={"down@b.example/proxy"})
    store = FakeStore({"proxy@b.example": _peer(), "down@b.example": _peer()})
    stop = asyncio.Event()
    sources = [
        {"provider": "down@b.example/proxy", "identifier": URN},
        {"provider": "stranger@c.example/proxy", "identifier": URN},
        {"provider": "proxy@b.example/proxy", "identifier": URN},
    ]

    async def stop_soon() -> None:
        await asyncio.sleep(0.05)
        stop.set()

    await asyncio.gather(
        run_inbound(
            reader, store, sources, stop=stop, interval=10, days=2, clock=lambda: NOW
        ),
        stop_soon(),
    )
    assert [a[0] for a in reader.asked] == [
        "down@b.example/proxy",
        "proxy@b.example/proxy",
    ]
    assert reader.asked[-1][2:] == (NOW - timedelta(days=2), NOW)
    assert len(store.stored) == 1
