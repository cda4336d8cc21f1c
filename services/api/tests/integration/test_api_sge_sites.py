"""SGE sites of a manager or a city: register (many PRMs, the customer's declared
authorisation), follow, withdraw; the sites reach the portfolio only once the
authorisation is verified, and leave it when refused or withdrawn. Attackers
(another person, a city key, the public) get nothing of them.

The worker's side is played with the same shared SQL ingest-sge runs
(``energy_store.sge_sites.claim/verify/finish``); the whole path with ingest-sge
and the SGE emulator is ``tests/integration/test_sge_portfolio_flow.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from energy_store import sge_sites

pytestmark = pytest.mark.integration

SCHOOL, GYM, HALL = "30000000000001", "30000000000002", "30000000000003"


def _body(*prms: str, name: str = "Groupe scolaire", **authorisation: Any) -> dict:
    today = datetime.now(UTC).date()
    return {
        "sites": [{"name": name, "prms": list(prms)}],
        "authorisation": {
            "authorised_by": "Commune d'Échirolles",
            "authoriser_kind": "legal",
            "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
            "proof_reference": "délibération 2026-118",
            "history_from": (today - timedelta(days=60)).isoformat(),
            **authorisation,
        },
    }


async def _work(pool: Any, *, refuse: str | None = None) -> dict[str, str]:
    """What the ingest-sge worker does, minus SGE: claim, verify, record active
    (or refused for ``refuse``, as an SGT4K2 from SGE would)."""
    now = datetime.now(UTC)
    states = {}
    async with pool.acquire() as conn:
        for site in await sge_sites.claim(
            conn, now=now, limit=100, lease=timedelta(minutes=5)
        ):
            reason = await sge_sites.verify(conn, site, now=now)
            if reason is None and site.meter_id == refuse:
                reason = "SGT4K2"
            state = "refused" if reason else "active"
            await sge_sites.finish(
                conn, site, state=state, now=now, reason=reason, service_id="svc"
            )
            states[site.meter_id] = state
    return states


async def _half_hours(conn: Any, put_readings: Any, meter: str) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        days=2
    )
    await put_readings(conn, meter, start, [250.0] * 48)


async def _portfolio(client: Any, token: str) -> set[str]:
    r = await client.get(
        "/v1/me/portfolio", headers={"authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    return {s["meter_id"] for s in r.json()["sites"]}


async def test_register_verify_portfolio_then_withdraw(
    client, world, put_readings, auth_header
) -> None:
    manager = auth_header(world.resident_a)
    r = await client.post("/v1/me/sge-sites", json=_body(SCHOOL, GYM), headers=manager)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2
    assert SCHOOL not in r.text  # the answer names no PRM back
    again = await client.post("/v1/me/sge-sites", json=_body(SCHOOL), headers=manager)
    assert again.json()["accepted"] == 0  # a live site is not registered twice

    listed = (await client.get("/v1/me/sge-sites", headers=manager)).json()["sites"]
    assert {(s["meter_id"], s["state"], s["verification"]) for s in listed} == {
        (SCHOOL, "requested", "pending"),
        (GYM, "requested", "pending"),
    }
    school = next(s for s in listed if s["meter_id"] == SCHOOL)
    assert school["authorised_by"] == "Commune d'Échirolles"
    assert school["proof_reference"] == "délibération 2026-118"
    assert school["scope"] == "consumption"
    async with world.pool.acquire() as conn:
        for meter in (SCHOOL, GYM):
            await _half_hours(conn, put_readings, meter)
    # pending: the declaration alone grants nothing
    assert not {SCHOOL, GYM} & await _portfolio(client, world.resident_a)

    assert await _work(world.pool, refuse=GYM) == {SCHOOL: "active", GYM: "refused"}

    sites = await _portfolio(client, world.resident_a)
    assert SCHOOL in sites
    assert GYM not in sites  # SGE refused it: never shown
    page = await client.get("/v1/me/portfolio", headers=manager)
    school_site = next(s for s in page.json()["sites"] if s["meter_id"] == SCHOOL)
    assert school_site["name"] == "Groupe scolaire"  # its registered name
    assert school_site["kwh"] == pytest.approx(48 * 250.0 / 1000)
    listed = (await client.get("/v1/me/sge-sites", headers=manager)).json()["sites"]
    states = {s["meter_id"]: (s["state"], s["reason"]) for s in listed}
    assert states == {SCHOOL: ("active", None), GYM: ("refused", "SGT4K2")}
    async with world.pool.acquire() as conn:
        revoked = await conn.fetchval(
            "SELECT revoked_at IS NOT NULL FROM consents WHERE meter_id = $1"
            " AND purpose = $2",
            GYM,
            sge_sites.SGE_PURPOSE,
        )
    assert revoked  # the refusal is in the registry

    # attackers: another person, a city key, the public
    other = auth_header(world.resident_b)
    assert SCHOOL not in await _portfolio(client, world.resident_b)
    theirs = await client.get("/v1/me/sge-sites", headers=other)
    assert theirs.status_code == 200
    assert theirs.json()["sites"] == []
    assert SCHOOL not in theirs.text
    gone = await client.delete(f"/v1/me/sge-sites/{SCHOOL}", headers=other)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    for headers in (
        {"x-api-key": world.commune_key},
        {"x-api-key": world.other_iris_key},
        {},
    ):
        for method, path in (
            ("GET", "/v1/me/sge-sites"),
            ("POST", "/v1/me/sge-sites"),
            ("DELETE", f"/v1/me/sge-sites/{SCHOOL}"),
        ):
            kw = {"json": _body(SCHOOL)} if method == "POST" else {}
            answer = await client.request(method, path, headers=headers, **kw)
            assert answer.status_code in (401, 403), (method, path, answer.text)
            problem = {k: v for k, v in answer.json().items() if k != "instance"}
            assert SCHOOL not in str(problem)  # only the caller's own URL echoed
    assert SCHOOL in await _portfolio(client, world.resident_a)  # untouched

    # the registrant's export holds their sites; another person's does not
    for token, expected in ((manager, {SCHOOL, GYM}), (other, set())):
        archive = await client.get("/v1/me/export", headers=token)
        assert archive.status_code == 200
        rows = json.loads(
            zipfile.ZipFile(io.BytesIO(archive.content)).read("sge_sites.json")
        )
        assert {r["meter_id"] for r in rows} == expected

    # withdrawn: gone from the portfolio at once, subscription left to stop
    r = await client.delete(f"/v1/me/sge-sites/{SCHOOL}", headers=manager)
    assert r.status_code == 204
    assert SCHOOL not in await _portfolio(client, world.resident_a)
    listed = (await client.get("/v1/me/sge-sites", headers=manager)).json()["sites"]
    assert {s["meter_id"]: s["state"] for s in listed}[SCHOOL] == "withdrawing"
    assert (
        await client.delete(f"/v1/me/sge-sites/{SCHOOL}", headers=manager)
    ).status_code == 404


async def test_a_point_someone_else_holds_is_refused(
    client, world, auth_header
) -> None:
    """Bulk forging: a manager declares other people's PRMs. The resident's own
    point (verified, occupied) is refused at once, with no consent written on
    it; a point another manager got verified first is refused at verification."""
    attacker = auth_header(world.resident_b)
    r = await client.post(
        "/v1/me/sge-sites", json=_body(world.meter_a, HALL), headers=attacker
    )
    assert r.status_code == 202
    async with world.pool.acquire() as conn:
        written = await conn.fetchval(
            "SELECT count(*) FROM consents c JOIN people p USING (person_id)"
            " WHERE c.meter_id = $1 AND c.purpose = $2",
            world.meter_a,
            sge_sites.SGE_PURPOSE,
        )
    assert written == 0
    states = {
        s["meter_id"]: (s["state"], s["reason"])
        for s in (await client.get("/v1/me/sge-sites", headers=attacker)).json()[
            "sites"
        ]
    }
    assert states[world.meter_a] == ("refused", "held_by_another")
    # HALL: registered by both; the first verified wins, the other is refused
    manager = auth_header(world.resident_a)
    await client.post("/v1/me/sge-sites", json=_body(HALL), headers=manager)
    now = datetime.now(UTC)
    async with world.pool.acquire() as conn:
        claims = await sge_sites.claim(
            conn, now=now, limit=10, lease=timedelta(minutes=5)
        )
        assert [c.meter_id for c in claims] == [HALL, HALL]
        verdicts = [await sge_sites.verify(conn, c, now=now) for c in claims]
        assert verdicts == [None, sge_sites.HELD]  # the first verified wins
        for claim, verdict in zip(claims, verdicts, strict=True):
            await sge_sites.finish(
                conn,
                claim,
                state="refused" if verdict else "active",
                now=now,
                reason=verdict,
            )
    assert world.meter_a not in await _portfolio(client, world.resident_b)
    mine = await _portfolio(client, world.resident_b)
    theirs = await _portfolio(client, world.resident_a)
    assert (HALL in mine) != (HALL in theirs)  # exactly one of them holds it


async def test_limits_and_validation(client, world, auth_header) -> None:
    manager = auth_header(world.resident_a)
    today = datetime.now(UTC).date()
    too_many = [f"31{i:012d}" for i in range(sge_sites.MAX_PER_REQUEST + 1)]
    for body in (
        _body(*too_many),
        _body("1234"),
        _body(SCHOOL, valid_until=(today + timedelta(days=4 * 365)).isoformat()),
        _body(SCHOOL, valid_from=(today + timedelta(days=2)).isoformat()),
        _body(SCHOOL, authoriser_kind="robot"),
        _body(SCHOOL, proof_reference=""),
    ):
        r = await client.post("/v1/me/sge-sites", json=body, headers=manager)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sge_sites") == 0
    # a declarant whose sites keep being refused is stopped
    held = [
        r["meter_id"]
        for r in await world.pool.fetch(
            "SELECT DISTINCT o.delivery_point_id AS meter_id FROM occupancies o"
            " JOIN meters m ON m.meter_id = o.delivery_point_id"
            " WHERE m.scheme = 'prm' AND o.person_id <> (SELECT person_id FROM people"
            " WHERE email = $1) LIMIT $2",
            world.territory.residents[0].email,
            sge_sites.MAX_REFUSED_PER_DAY,
        )
    ]
    assert len(held) == sge_sites.MAX_REFUSED_PER_DAY
    r = await client.post("/v1/me/sge-sites", json=_body(*held), headers=manager)
    assert r.status_code == 202
    assert {s["state"] for s in r.json()["sites"]} == {"refused"}
    r = await client.post("/v1/me/sge-sites", json=_body(SCHOOL), headers=manager)
    assert r.status_code == 429
    assert r.json()["type"] == "/problems/rate-limited"
