"""Quoalise through the shipped bootstrap, the operator's way: the peer registry's
``jid`` says who a requester is, subscriptions survive a restart of the gateway,
and a Quoalise proxy's series is stored as that peer's series with provenance.

Real PostgreSQL, real Prosody (started by the ``prosody`` fixture).
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation_gateway.quoalise.connection import connect, make_client
from federation_gateway.quoalise.inbound import UnknownProviderError, read_into
from federation_gateway.quoalise.reader import QuoaliseReader, QuoaliseRefused
from sen1_stack.prosody import Prosody

from .test_federation_two_collectives import (
    AGGREGATE,
    DAY0,
    IRIS,
    SERIES,
    seed_b,
)
from .test_quoalise_bootstrap import PEER, collect_pushes, quoalise_peer

pytestmark = pytest.mark.integration

CMD = "http://jabber.org/protocol/commands"


async def _subscribe(client: Any, to: str, identifier: str) -> None:
    iq = client.make_iq_set(ito=to)
    cmd = ET.SubElement(
        iq.xml, f"{{{CMD}}}command", {"node": "subscribe", "action": "execute"}
    )
    form = ET.SubElement(cmd, "{jabber:x:data}x", {"type": "submit"})
    f = ET.SubElement(form, "{jabber:x:data}field", {"var": "identifier"})
    ET.SubElement(f, "{jabber:x:data}value").text = identifier
    reply = await iq.send(timeout=10)
    assert reply.xml.find(f"{{{CMD}}}command").get("status") == "completed"


async def test_registry_jid_subscriptions_survive_restart_and_inbound_is_stored(
    collectives: Any, prosody: Prosody
) -> None:
    tag = uuid.uuid4().hex[:8]
    gateway = prosody.register(f"sen1{tag}", "localhost", "gw-pass")
    reader_jid = prosody.register(f"lab{tag}", PEER, "lab-pass")
    stranger_jid = prosody.register(f"who{tag}", "localhost", "who-pass")
    xmpp_settings = {
        "quoalise_password": "gw-pass",
        "quoalise_host": prosody.host,
        "quoalise_port": prosody.port,
        "quoalise_ca_file": prosody.ca_file,
    }
    # No quoalise_peer_jids setting: the registry row's jid is the only mapping.
    b = await collectives(
        "collective-b.test", quoalise_jid=f"{gateway}/proxy", **xmpp_settings
    )
    await seed_b(b.runtime.pool, PEER)
    await b.runtime.repository.upsert_peer(quoalise_peer(PEER, reader_jid))

    reader = make_client(
        f"{reader_jid}/r", "lab-pass", ca_file=prosody.ca_file, priority=1
    )
    pushes = collect_pushes(reader)
    await connect(reader, prosody.host, prosody.port)
    stranger = make_client(f"{stranger_jid}/r", "who-pass", ca_file=prosody.ca_file)
    await connect(stranger, prosody.host, prosody.port)
    try:
        history = QuoaliseReader(reader, wait_s=10)
        agg = await history.get_history(
            f"{gateway}/proxy", AGGREGATE, DAY0, DAY0 + timedelta(days=2)
        )
        assert [r.value for r in agg.records] == [120_000.0]
        # A JID no registry row names gets nothing.
        with pytest.raises(QuoaliseRefused) as who:
            await QuoaliseReader(stranger, wait_s=10).get_history(
                f"{gateway}/proxy", AGGREGATE, DAY0, DAY0 + timedelta(days=2)
            )
        assert who.value.condition == "not-authorized"

        # Subscribe; the subscription is in PostgreSQL.
        await _subscribe(reader, f"{gateway}/proxy", AGGREGATE)
        assert await b.runtime.pool.fetch(
            "SELECT jid, identifier FROM quoalise_subscriptions"
        ) == [(reader_jid, AGGREGATE)]

        # Restart: the gateway stops; another starts on the same database.
        await b.close()
        b2 = await collectives(
            "collective-b.test",
            database=b.database,
            quoalise_jid=f"{gateway}/proxy2",
            secret_key=b.runtime.settings.secret_key.get_secret_value(),
            **xmpp_settings,
        )
        assert b2.runtime.quoalise is not None
        assert set(b2.runtime.quoalise.subscriptions.items) == {(reader_jid, AGGREGATE)}
        # A new day (rolled up recently, 15 points) reaches the subscriber from the
        # restarted gateway; nothing it had before is pushed again.
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        await b2.runtime.pool.execute(
            """
            INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                energy, direction, quality, unit, value, delivery_points,
                max_point_value)
            VALUES ('neighbourhood', $1, 'P1D', $2, $3, 'electricity', 'consumption',
                    'raw', 'Wh', 150000, 15, 10000)
            """,
            IRIS,
            start - timedelta(days=1),
            start,
        )
        pushed = await asyncio.wait_for(pushes.get(), 15)
        values = [e.get("v") for e in pushed.iter() if e.get("v") is not None]
        assert values == ["150000.0"] or values == ["150000"]
        assert pushes.empty()

        # Inbound: collective A reads B's proxy and stores it as B's series.
        a = await collectives("collective-a.test")
        await a.runtime.repository.upsert_peer(
            quoalise_peer("collective-b.test", gateway)
        )
        stored = await read_into(
            QuoaliseReader(reader, wait_s=10),
            a.runtime.repository,
            provider=f"{gateway}/proxy2",
            identifier=SERIES,
            start=DAY0,
            end=DAY0 + timedelta(days=2),
            now=datetime.now(UTC),
        )
        assert stored == 2
        rows = await a.runtime.pool.fetch(
            "SELECT peer_domain, urn, start_ts, value, source_jid, received_at"
            " FROM federation_peer_series ORDER BY start_ts"
        )
        assert [(r["peer_domain"], r["urn"], r["value"]) for r in rows] == [
            ("collective-b.test", SERIES, 8000.0),
            ("collective-b.test", SERIES, 8001.0),
        ]
        assert rows[0]["start_ts"] == DAY0
        assert {r["source_jid"] for r in rows} == {gateway}
        # Not for the city page: the neighbour aggregates never include them.
        assert (
            await a.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups"
            )
            == 0
        )
        # A provider no registry row names is not read from at all.
        with pytest.raises(UnknownProviderError):
            await read_into(
                QuoaliseReader(reader, wait_s=10),
                a.runtime.repository,
                provider=f"{stranger_jid}/r",
                identifier=SERIES,
                start=DAY0,
                end=DAY0 + timedelta(days=2),
                now=datetime.now(UTC),
            )
    finally:
        reader.disconnect()
        stranger.disconnect()
