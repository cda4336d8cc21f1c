"""The operator's routes (peer registry, key rotation) and a peer's rate limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from federation_gateway.client import PeerRefusedError

pytestmark = pytest.mark.integration
TOKEN = "operator-token-for-tests"


async def test_operator_routes_need_the_token_and_manage_the_registry(
    collectives: Any,
) -> None:
    a = await collectives("collective-a.example", operator_token=TOKEN)
    b = await collectives("collective-b.example")
    entry = {
        "base_url": b.url,
        "fingerprints": [b.runtime.keyring.current().kid],
        "territories": ["38151"],
        "levels": ["neighbourhood"],
        "buckets": ["P1D"],
        "rate_limit_per_minute": 2,
    }
    url = f"{a.url}/operator/peers/{b.domain}"
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert (await http.put(url, json=entry, headers=headers)).status_code == 401
            assert (
                await http.get(f"{a.url}/operator/peers", headers=headers)
            ).status_code == 401
            assert (
                await http.post(f"{a.url}/operator/keys/rotate", headers=headers)
            ).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        bad = {**entry, "fingerprints": ["not-a-thumbprint"]}
        assert (await http.put(url, json=bad, headers=auth)).status_code == 400
        assert (await http.put(url, json=entry, headers=auth)).status_code == 200
        listed = (await http.get(f"{a.url}/operator/peers", headers=auth)).json()
        assert [(p["domain"], p["levels"]) for p in listed] == [
            (b.domain, ["neighbourhood"])
        ]
        # The peer's XMPP identity and the communes that see its data.
        for wrong in ({"jid": "lab@peer.example/resource"}, {"shown_to": ["Grenoble"]}):
            assert (
                await http.put(url, json={**entry, **wrong}, headers=auth)
            ).status_code == 400
        more = {**entry, "jid": "lab@peer.example", "shown_to": ["38151"]}
        assert (await http.put(url, json=more, headers=auth)).status_code == 200
        (listed_peer,) = (
            await http.get(f"{a.url}/operator/peers", headers=auth)
        ).json()
        assert (listed_peer["jid"], listed_peer["shown_to"]) == (
            "lab@peer.example",
            ["38151"],
        )
        by_jid = await a.runtime.repository.peer_by_jid("LAB@peer.example")
        assert by_jid is not None
        assert by_jid.domain == b.domain

        # B's rate limit at A is 2 a minute: the third signed request is refused.
        sub = f"{a.url}/federation/v1/subscriptions"
        payload = {
            "urns": ["urn:sen1:iris:381510101_consumption/energy/active/P1D"],
            "callback_url": f"{b.url}/federation/v1/push",
        }
        await b.runtime.client.post(sub, payload)
        await b.runtime.client.post(sub, payload)
        with pytest.raises(PeerRefusedError) as limited:
            await b.runtime.client.post(sub, payload)
        assert limited.value.status == 429

        # A callback outside the peer's own base URL is refused (no pushes to
        # hosts a peer names).
        c = await collectives("collective-c.example")
        await a.runtime.repository.upsert_peer(c.peer_entry())
        with pytest.raises(PeerRefusedError) as elsewhere:
            await c.runtime.client.post(
                sub, {**payload, "callback_url": "http://169.254.169.254/latest"}
            )
        assert elsewhere.value.status == 400

        # Rotation: a new current key, the old one still published (overlap).
        old = a.runtime.keyring.current().kid
        rotated = await http.post(f"{a.url}/operator/keys/rotate", headers=auth)
        new = rotated.json()["kid"]
        assert new != old
        jwks = (await http.get(f"{a.url}/.well-known/jwks.json")).json()
        assert {k["kid"] for k in jwks["keys"]} == {old, new}
        stored = await a.runtime.pool.fetch(
            "SELECT kid, retired_at IS NULL AS current, private_sealed"
            " FROM federation_keys ORDER BY created_at"
        )
        assert [(r["kid"], r["current"]) for r in stored] == [(old, False), (new, True)]
        assert all(r["kid"] not in r["private_sealed"] for r in stored)

        # Revocation through the route.
        assert (await http.post(f"{url}/revoke", headers=auth)).status_code == 204
        assert (await http.post(f"{url}/revoke", headers=auth)).status_code == 404
