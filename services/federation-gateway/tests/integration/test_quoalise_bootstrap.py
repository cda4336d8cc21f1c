"""The Quoalise binding as shipped: ``bootstrap()`` with the real PostgreSQL and a
real Prosody. A Quoalise peer reads an IRIS rollup (the below-threshold day left
out) and a consented series (logged in the resident's access log); after the
consent is revoked, the next read is refused.
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from federation_gateway.egress import PeerGrant
from federation_gateway.quoalise.connection import connect, make_client
from federation_gateway.quoalise.reader import QuoaliseReader, QuoaliseRefused
from federation_gateway.repository import Peer
from sen1_stack.prosody import Prosody

from .test_federation_two_collectives import (
    AGGREGATE,
    COMMUNE,
    DAY0,
    PRM,
    SERIES,
    seed_b,
)

pytestmark = pytest.mark.integration

PEER = "peer.localhost"
Q = "{urn:quoalise:0}"


def quoalise_peer(domain: str, jid: str | None = None) -> Peer:
    """A peer that only speaks Quoalise (no signing key), granted the commune's
    daily IRIS rollups and consented series; ``jid`` maps its XMPP address."""
    return Peer(
        domain=domain,
        base_url=f"https://{domain}",
        fingerprints=("quoalise-only-no-key",),
        grant=PeerGrant(
            domain=domain,
            territories=frozenset({COMMUNE}),
            levels=frozenset({"neighbourhood"}),
            buckets=frozenset({"P1D"}),
            series=True,
        ),
        jid=jid,
    )


def collect_pushes(client: slixmpp.ClientXMPP) -> asyncio.Queue[ET.Element]:
    """The Quoalise pushes ``client`` receives, queued as they arrive."""
    pushes: asyncio.Queue[ET.Element] = asyncio.Queue()
    client.register_handler(
        Callback(
            "quoalise push",
            MatchXPath(f"{{jabber:client}}message/{Q}quoalise"),
            lambda msg: pushes.put_nowait(msg.xml),
        )
    )
    return pushes


async def test_a_quoalise_peer_reads_through_the_shipped_bootstrap(
    collectives: Any, prosody: Prosody
) -> None:
    tag = uuid.uuid4().hex[:8]
    gateway = prosody.register(f"sen1{tag}", "localhost", "gw-pass")
    reader_jid = prosody.register(f"lab{tag}", PEER, "lab-pass")
    b = await collectives(
        "collective-b.test",
        quoalise_jid=f"{gateway}/proxy",
        quoalise_password="gw-pass",
        quoalise_host=prosody.host,
        quoalise_port=prosody.port,
        quoalise_ca_file=prosody.ca_file,
        quoalise_peer_jids={reader_jid: PEER},
    )
    assert b.runtime.quoalise is not None
    pool = b.runtime.pool
    consent = await seed_b(pool, PEER)
    await b.runtime.repository.upsert_peer(quoalise_peer(PEER))
    xmpp = make_client(f"{reader_jid}/r", "lab-pass", ca_file=prosody.ca_file)
    await connect(xmpp, prosody.host, prosody.port)
    try:
        reader = QuoaliseReader(xmpp, wait_s=10)
        agg = await reader.get_history(
            f"{gateway}/proxy", AGGREGATE, DAY0, DAY0 + timedelta(days=2)
        )
        assert [(r.time, r.value) for r in agg.records] == [(DAY0, 120_000.0)]
        assert agg.meta is not None
        assert agg.meta["measurement"]["aggregation"] == "sum"
        series = await reader.get_history(
            f"{gateway}/proxy", SERIES, DAY0, DAY0 + timedelta(days=2)
        )
        assert [r.value for r in series.records] == [8000.0, 8001.0]
        logged = await pool.fetchval(
            "SELECT count(*) FROM api_access_log WHERE consent_id = $1::uuid", consent
        )
        assert logged == 1
        await pool.execute(
            "UPDATE consents SET revoked_at = now() WHERE consent_id = $1::uuid",
            consent,
        )
        with pytest.raises(QuoaliseRefused) as refusal:
            await reader.get_history(
                f"{gateway}/proxy", SERIES, DAY0, DAY0 + timedelta(days=2)
            )
        assert refusal.value.condition == "not-authorized"
        assert PRM in str(refusal.value)
    finally:
        xmpp.disconnect()
