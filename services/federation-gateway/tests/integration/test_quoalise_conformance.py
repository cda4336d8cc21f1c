"""Quoalise conformance through a real Prosody, written from the protocol note.

The reference client is not on PyPI, so a slixmpp test client sends exactly the
one-step iq of the note (§2.1: the submitted form inside the first ``execute``, no
sessionid) and reads the reply the way the reference client does (§2.2-§5). The
provider is the shipped :class:`Responder` on its own XMPP connection; the
gateway's repository is an in-memory fake of the binding's ``Source`` port, the
egress decision the real ``egress.decide``.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
import slixmpp
from slixmpp.exceptions import IqError

from energy_core.privacy import SecrecyRule
from federation_gateway.egress import Consent, PeerGrant
from federation_gateway.mapping import AggregateUrn, Point
from federation_gateway.quoalise.connection import connect, make_client
from federation_gateway.quoalise.payload import find_data, parse_data
from federation_gateway.quoalise.responder import Responder
from federation_gateway.repository import AggregateRow, Peer
from sen1_stack.prosody import Prosody

from .test_quoalise_bootstrap import collect_pushes

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)  # Paris midnight of 3 Nov
PRM_OK = "30001610071843"
PRM_NO = "30001610071844"
IRIS_OK = "381510101"
IRIS_SMALL = "381510104"
DAILY = "consumption/energy/active/P1D"
SERIES = "consumption/energy/active/daily"
CMD = "http://jabber.org/protocol/commands"
Q = "{urn:quoalise:0}"
SENML = "{urn:ietf:params:xml:ns:senml}"


@dataclass
class FakeSource:
    """In-memory port: one peer, rollups of two IRIS, two meters, one consent."""

    peers: dict[str, Peer] = field(default_factory=dict)
    rollups: dict[str, list[AggregateRow]] = field(default_factory=dict)
    readings: dict[str, list[Point]] = field(default_factory=dict)
    consents: dict[tuple[str, str], Consent] = field(default_factory=dict)
    accesses: list[str] = field(default_factory=list)

    async def peer(self, domain: str) -> Peer | None:
        return self.peers.get(domain)

    async def aggregates(
        self, urn: AggregateUrn, start: datetime, end: datetime
    ) -> list[AggregateRow]:
        return [
            r for r in self.rollups.get(urn.territory, []) if start <= r.start < end
        ]

    async def consent_for(self, meter_id: str, grantee: str) -> Consent | None:
        return self.consents.get((meter_id, grantee))

    async def series(
        self, urn: str, start: datetime, end: datetime
    ) -> tuple[str, list[Point]]:
        pts = [p for p in self.readings.get(urn, []) if start <= p.start < end]
        return "kWh", pts

    async def log_access(self, consent: Consent, route: str) -> None:
        self.accesses.append(f"{consent.consent_id}:{route}")


def _row(day: int, points: int, value: float = 120.0) -> AggregateRow:
    return AggregateRow(
        T0 + timedelta(days=day), value, "kWh", points, value / 20, "38151"
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(days=3)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    provider: str
    reader: slixmpp.ClientXMPP
    stranger: slixmpp.ClientXMPP
    source: FakeSource
    responder: Responder
    clock: Clock
    pushes: asyncio.Queue[ET.Element]


@pytest_asyncio.fixture
async def world(prosody: Prosody) -> AsyncIterator[World]:
    import uuid

    tag = uuid.uuid4().hex[:8]
    gw = prosody.register(f"gateway{tag}", "localhost", "gw-pass")
    rd = prosody.register(f"reader{tag}", "peer.localhost", "rd-pass")
    st = prosody.register(f"stranger{tag}", "localhost", "st-pass")
    source = FakeSource()
    grant = PeerGrant(
        domain="peer.localhost",
        territories=frozenset({IRIS_OK, IRIS_SMALL}),
        levels=frozenset({"neighbourhood"}),
        buckets=frozenset({"P1D"}),
        series=True,
    )
    source.peers["peer.localhost"] = Peer("peer.localhost", "https://peer", (), grant)
    source.rollups[IRIS_OK] = [_row(0, 14), _row(2, 12)]  # day 1 is a hole
    source.rollups[IRIS_SMALL] = [_row(0, 3), _row(1, 4)]
    source.readings[f"urn:dev:prm:{PRM_OK}_{SERIES}"] = [
        Point(T0 + timedelta(days=d), 9.5 + d) for d in range(3)
    ]
    source.readings[f"urn:dev:prm:{PRM_NO}_{SERIES}"] = [Point(T0, 7.0)]
    source.consents[(PRM_OK, "peer.localhost")] = Consent(
        "c-1",
        PRM_OK,
        "peer.localhost",
        T0 - timedelta(days=30),
        T0 + timedelta(days=365),
    )
    clock = Clock()
    xmpp = make_client(f"{gw}/proxy", "gw-pass", ca_file=prosody.ca_file)
    responder = Responder(
        xmpp, source, SecrecyRule(10, 0.85), {rd: "peer.localhost"}, clock=clock
    )
    xmpp.add_event_handler("session_start", lambda _e: responder.register_commands())
    await connect(xmpp, prosody.host, prosody.port)
    reader = make_client(f"{rd}/test", "rd-pass", ca_file=prosody.ca_file, priority=1)
    pushes = collect_pushes(reader)
    await connect(reader, prosody.host, prosody.port)
    stranger = make_client(f"{st}/test", "st-pass", ca_file=prosody.ca_file)
    await connect(stranger, prosody.host, prosody.port)
    await asyncio.sleep(0.2)  # presences settle
    try:
        yield World(f"{gw}/proxy", reader, stranger, source, responder, clock, pushes)
    finally:
        for c in (xmpp, reader, stranger):
            c.disconnect()
        await asyncio.sleep(0.1)


async def command(
    client: slixmpp.ClientXMPP, to: str, node: str, **fields: str
) -> ET.Element:
    """The iq the reference client sends (§2.1); returns the reply's <command>."""
    iq = client.make_iq_set(ito=to)
    cmd = ET.SubElement(
        iq.xml, f"{{{CMD}}}command", {"node": node, "action": "execute"}
    )
    form = ET.SubElement(cmd, "{jabber:x:data}x", {"type": "submit"})
    for var, value in fields.items():
        f = ET.SubElement(
            form, "{jabber:x:data}field", {"var": var, "type": "text-single"}
        )
        ET.SubElement(f, "{jabber:x:data}value").text = value
    reply = await iq.send(timeout=10)
    out = reply.xml.find(f"{{{CMD}}}command")
    assert out is not None
    return out


async def refused(
    client: slixmpp.ClientXMPP, to: str, node: str, **fields: str
) -> ET.Element:
    with pytest.raises(IqError) as caught:
        await command(client, to, node, **fields)
    return caught.value.iq.xml.find("{jabber:client}error")  # type: ignore[no-any-return]


def condition(error: ET.Element) -> str:
    for child in error:
        if child.tag.startswith(
            "{urn:ietf:params:xml:ns:xmpp-stanzas}"
        ) and not child.tag.endswith("}text"):
            return child.tag.split("}")[1]
    return ""


def text(error: ET.Element) -> str:
    t = error.find("{urn:ietf:params:xml:ns:xmpp-stanzas}text")
    return t.text or "" if t is not None else ""


async def test_get_history_of_an_aggregate_reads_like_the_reference_client(
    world: World,
) -> None:
    urn = f"urn:sen1:iris:{IRIS_OK}_{DAILY}"
    for node in ("get_history", "get_records"):
        cmd = await command(
            world.reader,
            world.provider,
            node,
            identifier=urn,
            start_time="2026-11-03T00:00:00+01:00",
            end_time="2026-11-06T00:00:00+01:00",
        )
        assert cmd.get("status") == "completed"
        form = cmd.find("{jabber:x:data}x")
        assert form is not None
        assert form.get("type") == "result"
        assert form.find("{jabber:x:data}field/{jabber:x:data}value").text == "Success"  # type: ignore[union-attr]
        data = find_data(cmd)
        assert data is not None
        assert data.find(f"{Q}meta") is not None
        senml = data.findall(f"{SENML}sensml/{SENML}senml")
        # First record: bn bt bu t=0; later only t and v; the hole (day 1) left out; no u.
        assert senml[0].attrib == {
            "bn": urn,
            "bt": str(int(T0.timestamp())),
            "bu": "Wh",
            "t": "0",
            "v": "120000",
        }
        assert senml[1].attrib == {"t": str(2 * 86400), "v": "120000"}
        assert len(senml) == 2
        parsed = parse_data(data)
        assert parsed.meta is not None
        assert parsed.meta["measurement"]["sampling-interval"] == "P1D"
        assert [r.time for r in parsed.records] == [T0, T0 + timedelta(days=2)]


async def test_consented_series_is_read_and_logged(world: World) -> None:
    urn = f"urn:dev:prm:{PRM_OK}_{SERIES}"
    cmd = await command(
        world.reader,
        world.provider,
        "get_history",
        identifier=urn,
        start_time="2026-11-03T00:00:00+01:00",
        end_time="2026-11-05T00:00:00+01:00",
    )
    data = parse_data(find_data(cmd))  # type: ignore[arg-type]
    assert [r.value for r in data.records] == [9500.0, 10500.0]
    assert data.meta["device"]["identifier"]["value"] == PRM_OK  # type: ignore[index]
    assert world.source.accesses == ["c-1:xmpp:quoalise"]


async def test_refusals(world: World) -> None:
    w = world
    # A series without a consent for this peer: not-authorized, the PRM in the text.
    err = await refused(
        w.reader, w.provider, "get_history", identifier=f"urn:dev:prm:{PRM_NO}_{SERIES}"
    )
    assert condition(err) == "not-authorized"
    assert PRM_NO in text(err)
    # A below-threshold aggregate never leaves.
    err = await refused(
        w.reader,
        w.provider,
        "get_history",
        identifier=f"urn:sen1:iris:{IRIS_SMALL}_{DAILY}",
        start_time="2026-11-03T00:00:00+01:00",
        end_time="2026-11-05T00:00:00+01:00",
    )
    assert condition(err) == "not-authorized"
    assert "delivery points" in text(err)
    assert "3" not in text(err).split(":")[-1]
    # A territory outside the grant.
    err = await refused(
        w.reader,
        w.provider,
        "get_history",
        identifier=f"urn:sen1:iris:381510105_{DAILY}",
    )
    assert condition(err) == "not-authorized"
    assert "territory" in text(err)
    # An unknown identifier grammar, a naive time.
    err = await refused(
        w.reader, w.provider, "get_history", identifier="urn:dev:prm:123_x"
    )
    assert condition(err) == "bad-request"
    err = await refused(
        w.reader,
        w.provider,
        "get_history",
        identifier=f"urn:sen1:iris:{IRIS_OK}_{DAILY}",
        start_time="2026-11-03T00:00:00",
    )
    assert condition(err) == "bad-request"
    # Someone who is not a peer gets nothing, not even an aggregate that would pass.
    err = await refused(
        w.stranger,
        w.provider,
        "get_history",
        identifier=f"urn:sen1:iris:{IRIS_OK}_{DAILY}",
    )
    assert condition(err) == "not-authorized"
    err = await refused(
        w.stranger,
        w.provider,
        "subscribe",
        identifier=f"urn:sen1:iris:{IRIS_OK}_{DAILY}",
    )
    assert condition(err) == "not-authorized"
    assert w.source.accesses == []


async def test_upstream_error_carries_issuer_and_code(world: World) -> None:
    async def broken(*_a: object) -> list[AggregateRow]:
        raise ConnectionError("database down")

    world.source.aggregates = broken  # type: ignore[method-assign]
    err = await refused(
        world.reader,
        world.provider,
        "get_history",
        identifier=f"urn:sen1:iris:{IRIS_OK}_{DAILY}",
    )
    assert condition(err) == "undefined-condition"
    up = err.find(f"{Q}upstream-error")
    assert up is not None
    assert up.get("issuer") == "sen1-federation-gateway"
    assert up.get("code") == "storage-unavailable"


async def test_subscribe_push_unsubscribe(world: World) -> None:
    w = world
    urn = f"urn:sen1:iris:{IRIS_OK}_{DAILY}"
    w.clock.now = T0 + timedelta(days=3, hours=10)  # during day 3
    cmd = await command(w.reader, w.provider, "subscribe", identifier=urn)
    assert cmd.get("status") == "completed"
    assert find_data(cmd) is None
    await command(w.reader, w.provider, "subscribe", identifier=urn)  # idempotent
    assert len(w.responder.subscriptions.items) == 1
    assert await w.responder.push_round() == 0  # what existed is not pushed
    # Day 3's rollup (stamped at its start, before the subscription) arrives the
    # next day, with a below-threshold day 4 beside it.
    w.source.rollups[IRIS_OK].append(_row(3, 11, 200.0))
    w.source.rollups[IRIS_OK].append(_row(4, 2, 50.0))
    w.clock.now = T0 + timedelta(days=6)
    assert await w.responder.push_round() == 1
    msg = await asyncio.wait_for(w.pushes.get(), 10)
    assert msg.get("type") in (None, "normal")
    assert msg.find("{jabber:client}body") is None
    data = parse_data(find_data(msg))  # type: ignore[arg-type]
    assert [(r.time, r.value) for r in data.records] == [
        (T0 + timedelta(days=3), 200000.0)
    ]
    assert await w.responder.push_round() == 0  # nothing new: nothing sent again
    await command(w.reader, w.provider, "unsubscribe", identifier=urn)
    w.source.rollups[IRIS_OK].append(_row(5, 15))
    w.clock.now = T0 + timedelta(days=7)
    assert await w.responder.push_round() == 0
    await asyncio.sleep(0.3)
    assert w.pushes.empty()


async def test_revoked_consent_stops_series_pushes(world: World) -> None:
    w = world
    urn = f"urn:dev:prm:{PRM_OK}_{SERIES}"
    await command(
        w.reader, w.provider, "unsubscribe", identifier=f"urn:dev:prm:{PRM_OK}"
    )
    await command(w.reader, w.provider, "subscribe", identifier=urn)
    logged = len(w.source.accesses)
    assert await w.responder.push_round() == 0
    assert len(w.source.accesses) == logged  # an empty push round logs nothing
    w.source.readings[urn].append(Point(T0 + timedelta(days=3), 4.0))
    w.clock.now = T0 + timedelta(days=4)
    assert await w.responder.push_round() == 1
    pushed = parse_data(find_data(await asyncio.wait_for(w.pushes.get(), 10)))  # type: ignore[arg-type]
    assert [r.value for r in pushed.records] == [4000.0]
    assert len(w.source.accesses) == logged + 1  # the push is in the resident's log
    c = w.source.consents[(PRM_OK, "peer.localhost")]
    w.source.consents[(PRM_OK, "peer.localhost")] = Consent(
        c.consent_id,
        c.meter_id,
        c.grantee,
        c.starts_at,
        c.expires_at,
        revoked_at=w.clock.now,
    )
    w.source.readings[urn].append(Point(T0 + timedelta(days=4), 5.0))
    w.clock.now = T0 + timedelta(days=5)
    assert await w.responder.push_round() == 0
    # A bare PRM unsubscribes every series of that meter.
    await command(
        w.reader, w.provider, "unsubscribe", identifier=f"urn:dev:prm:{PRM_OK}"
    )
    assert w.responder.subscriptions.items == {}


async def test_sen1_reads_a_quoalise_proxy_as_an_inbound_source(world: World) -> None:
    """The reader side: SEN1 asks another Quoalise proxy (here a SEN1 responder)."""
    from energy_core.errors import UpstreamUnavailableError
    from federation_gateway.quoalise.reader import (
        QuoaliseReader,
        QuoaliseRefused,
        inbound_rows,
        provenance,
    )

    reader = QuoaliseReader(world.reader, wait_s=10)
    urn = f"urn:dev:prm:{PRM_OK}_{SERIES}"
    data = await reader.get_history(world.provider, urn, T0, T0 + timedelta(days=3))
    rows = inbound_rows(data, urn)
    assert [(r.start, r.value, r.unit) for r in rows] == [
        (T0 + timedelta(days=d), (9.5 + d) * 1000, "Wh") for d in range(3)
    ]
    keyid, _ = provenance(world.provider, rows)
    assert keyid == f"xmpp:{world.provider.split('/')[0]}"
    with pytest.raises(QuoaliseRefused) as refusal:
        await reader.get_history(world.provider, f"urn:dev:prm:{PRM_NO}_{SERIES}")
    assert refusal.value.condition == "not-authorized"
    # The provider's resource offline: the XMPP server answers service-unavailable.
    with pytest.raises(UpstreamUnavailableError):
        await reader.get_history(world.provider.replace("/proxy", "/gone"), urn)


async def test_people_in_an_xmpp_client_get_a_form_to_fill(world: World) -> None:
    """``execute`` without a form (Gajim): an ``executing`` form; submitting it
    completes with the data, decided like any other request."""
    w = world
    iq = w.reader.make_iq_set(ito=w.provider)
    ET.SubElement(
        iq.xml, f"{{{CMD}}}command", {"node": "get_history", "action": "execute"}
    )
    reply = (await iq.send(timeout=10)).xml.find(f"{{{CMD}}}command")
    assert reply is not None
    assert reply.get("status") == "executing"
    form = reply.find("{jabber:x:data}x")
    assert form is not None
    assert form.get("type") == "form"
    assert {f.get("var") for f in form} >= {"identifier", "start_time", "end_time"}
    done = w.reader.make_iq_set(ito=w.provider)
    cmd = ET.SubElement(
        done.xml,
        f"{{{CMD}}}command",
        {
            "node": "get_history",
            "action": "complete",
            "sessionid": reply.get("sessionid", ""),
        },
    )
    x = ET.SubElement(cmd, "{jabber:x:data}x", {"type": "submit"})
    for var, value in {
        "identifier": f"urn:sen1:iris:{IRIS_OK}_{DAILY}",
        "start_time": "2026-11-03T00:00:00+01:00",
        "end_time": "2026-11-04T00:00:00+01:00",
    }.items():
        f = ET.SubElement(x, "{jabber:x:data}field", {"var": var})
        ET.SubElement(f, "{jabber:x:data}value").text = value
    out = (await done.send(timeout=10)).xml.find(f"{{{CMD}}}command")
    assert out is not None
    assert out.get("status") == "completed"
    data = parse_data(find_data(out))  # type: ignore[arg-type]
    assert [r.time for r in data.records] == [T0]


async def test_the_biggest_answer_passes_prosody_and_one_more_is_refused(
    world: World,
) -> None:
    w = world
    urn = f"urn:dev:prm:{PRM_OK}_consumption/power/active/raw"
    w.source.consents[(PRM_OK, "peer.localhost")] = Consent(
        "c-1",
        PRM_OK,
        "peer.localhost",
        T0 - timedelta(days=200),
        T0 + timedelta(days=365),
    )
    w.source.readings[urn] = [
        Point(T0 - timedelta(minutes=30 * (i + 1)), 1.0 + i % 13 / 7)
        for i in range(5001)
    ]
    end = T0
    start = T0 - timedelta(minutes=30 * 5000)
    cmd = await command(
        w.reader,
        w.provider,
        "get_history",
        identifier=urn,
        start_time=start.isoformat(),
        end_time=end.isoformat(),
    )
    assert len(parse_data(find_data(cmd)).records) == 5000  # type: ignore[arg-type]
    err = await refused(
        w.reader,
        w.provider,
        "get_history",
        identifier=urn,
        start_time=(start - timedelta(minutes=30)).isoformat(),
        end_time=end.isoformat(),
    )
    assert condition(err) == "bad-request"
    assert "narrow the window" in text(err)
