"""GRDF rights on the api: who may declare, the windows, proofs, and attackers.

The cross-service journey (ingest-grdf and the emulator) is
``tests/integration/test_grdf_rights_flow.py`` at the repository root; here the
api's own rules, against the demo territory.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from api import auth
from api.reference import load_reference
from energy_core.domain.time import PARIS

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


async def _token(conn: Any, email: str) -> str:
    person = await conn.fetchval("SELECT person_id FROM people WHERE email = $1", email)
    await auth.create_account(
        conn, email=email, password=PASSWORD, role="resident", person_id=person
    )
    token = await auth.login(
        conn, email=email, password=PASSWORD, ttl=timedelta(hours=1)
    )
    assert token
    return token


def _h(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _body(pce: str, name: str, mail: str, **over: Any) -> dict[str, Any]:
    today = datetime.now(PARIS).date()
    body = {
        "meter_id": pce,
        "holder_name": name,
        "email": mail,
        "postcode": "38130",
        "data_from": (today - timedelta(days=300)).isoformat(),
        "data_until": (today + timedelta(days=300)).isoformat(),
        "right_end": (today + timedelta(days=300)).isoformat(),
    }
    body.update(over)
    return body


async def test_who_may_declare_and_the_windows(
    world: Any, client: httpx.AsyncClient
) -> None:
    t = world.territory
    gas = {str(m.meter) for m in t.meters if m.energy.value == "gas"}
    building = {str(m.meter): m.building_id for m in t.meters}
    by_building: dict[str, list[Any]] = {}
    for r in t.residents:
        by_building.setdefault(building[r.meters[0]], []).append(r)
    # a flat with gas in a building of several homes, a neighbour, a stranger
    owner, neighbour = next(
        (next(r for r in rs if any(m in gas for m in r.meters)),
         next(r for r in rs if not any(m in gas for m in r.meters)))
        for rs in by_building.values()
        if len(rs) > 1 and any(any(m in gas for m in r.meters) for r in rs)
        and any(not any(m in gas for m in r.meters) for r in rs)
    )  # fmt: skip
    pce = next(m for m in owner.meters if m in gas)
    stranger = next(r for r in t.residents if building[r.meters[0]] != building[pce])
    async with world.pool.acquire() as conn:
        tokens = {
            r.email: await _token(conn, r.email) for r in (owner, neighbour, stranger)
        }
    today = datetime.now(PARIS).date()

    async def declare(who: Any, **over: Any) -> httpx.Response:
        return await client.post(
            "/v1/me/grdf/rights", json=_body(pce, who.display_name, who.email, **over),
            headers=_h(tokens[who.email]),
        )  # fmt: skip

    # a stranger (another building): as if the PCE did not exist
    r = await declare(stranger)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    # a neighbour in the building: the PCE is held by its occupant
    r = await declare(neighbour)
    assert r.status_code == 409
    # the holder: windows checked, a person holder is the caller
    r = await declare(owner, data_from=(today - timedelta(days=4 * 366)).isoformat())
    assert r.status_code == 422
    r = await declare(owner, right_end=(today + timedelta(days=4 * 366)).isoformat(),
                      data_until=today.isoformat())  # fmt: skip
    assert r.status_code == 422
    r = await declare(owner, holder_company="SCI X")
    assert r.status_code == 422, "a person or a company, not both"
    r = await declare(owner, email="someone@else.example")
    assert r.status_code == 422
    r = await declare(owner)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "sending"
    assert (await declare(owner)).status_code == 409, "one request at a time"
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT c.verification, c.source, c.data_from, q.kind, q.status"
            " FROM grdf_requests q JOIN consents c USING (consent_id)"
            " WHERE q.meter_id = $1",
            pce,
        )
    assert row["verification"] == "pending"
    assert row["source"] == "grdf"
    assert row["data_from"].astimezone(PARIS).hour == 6, "a gas day starts at 06:00"
    assert (row["kind"], row["status"]) == ("declare", "queued")
    # nobody else sees it or acts on it
    for who in (neighbour, stranger):
        mine = await client.get("/v1/me/grdf/rights", headers=_h(tokens[who.email]))
        assert pce not in mine.text
        r = await client.post(
            f"/v1/me/grdf/rights/{pce}/revoke", headers=_h(tokens[who.email])
        )
        assert r.status_code == 404
    for headers, status in (({"x-api-key": world.other_iris_key}, 403), ({}, 401)):
        assert (
            await client.get("/v1/me/grdf/rights", headers=headers)
        ).status_code == (status)


async def test_proofs_only_when_grdf_asks_and_only_proper_files(
    world: Any, client: httpx.AsyncClient
) -> None:
    t = world.territory
    gas = {str(m.meter) for m in t.meters if m.energy.value == "gas"}
    owner = next(r for r in t.residents if any(m in gas for m in r.meters))
    other = next(r for r in t.residents if r is not owner)
    pce = next(m for m in owner.meters if m in gas)
    today = datetime.now(PARIS).date()
    async with world.pool.acquire() as conn:
        token = await _token(conn, owner.email)
        attacker = await _token(conn, other.email)
        await conn.execute(
            "INSERT INTO grdf_rights (meter_id, right_id, state, right_start, right_end)"
            " VALUES ($1, 'r-1', 'active', $2, $3)",
            pce, today, today + timedelta(days=300),
        )  # fmt: skip
    url = f"/v1/me/grdf/rights/{pce}/proofs"
    pdf = ("files", ("bail.pdf", b"%PDF-1.4 a lease", "application/pdf"))
    r = await client.post(url, files=[pdf], headers=_h(token))
    assert r.status_code == 409, "GRDF asked nothing"
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE grdf_rights SET proof_status = 'requested' WHERE meter_id = $1", pce
        )
    listed = (await client.get("/v1/me/grdf/rights", headers=_h(token))).json()
    assert next(i for i in listed["items"] if i["meter_id"] == pce)["proof"] == (
        "requested"
    )
    text = ("files", ("bail.pdf", b"not a pdf at all", "application/pdf"))
    assert (await client.post(url, files=[text], headers=_h(token))).status_code == 422
    assert (
        await client.post(url, files=[pdf] * 4, headers=_h(token))
    ).status_code == 422
    assert (
        await client.post(url, files=[pdf], headers=_h(attacker))
    ).status_code == 404
    assert (await client.post(url, files=[pdf])).status_code == 401
    r = await client.post(url, files=[pdf], headers=_h(token))
    assert r.status_code == 202, r.text
    async with world.pool.acquire() as conn:
        stored = await conn.fetch("SELECT filename, data FROM grdf_request_files")
    assert [(s["filename"], bytes(s["data"])) for s in stored] == [
        ("bail.pdf", b"%PDF-1.4 a lease")
    ]


async def test_the_proof_deadline_is_shown_and_reminded_until_grdf_decides(
    world: Any, client: httpx.AsyncClient
) -> None:
    """GRDF asks proofs: the rights list says the deadline and the days left,
    a reminder (``asked``, then ``due_soon`` in the last week, then ``overdue``
    while GRDF has not decided); once GRDF's state changes (the daily check
    mirrored it revoked) there is no reminder and the state is GRDF's. Nobody
    else sees the PCE's reminder."""
    t = world.territory
    gas = {str(m.meter) for m in t.meters if m.energy.value == "gas"}
    owner = next(r for r in t.residents if any(m in gas for m in r.meters))
    other = next(r for r in t.residents if r is not owner and not set(r.meters) & gas)
    pce = next(m for m in owner.meters if m in gas)
    today = datetime.now(PARIS).date()
    async with world.pool.acquire() as conn:
        token = await _token(conn, owner.email)
        attacker = await _token(conn, other.email)
        await conn.execute(
            "INSERT INTO grdf_rights (meter_id, right_id, state, right_start,"
            " right_end, proof_status, proof_deadline)"
            " VALUES ($1, 'r-1', 'active', $2, $3, 'requested', $4)",
            pce, today, today + timedelta(days=300), today + timedelta(days=20),
        )  # fmt: skip

    async def mine(who: str = token) -> dict[str, Any] | None:
        page = (await client.get("/v1/me/grdf/rights", headers=_h(who))).json()
        return next((i for i in page["items"] if i["meter_id"] == pce), None)

    async def move(deadline_in: int, state: str = "active") -> None:
        async with world.pool.acquire() as conn:
            await conn.execute(
                "UPDATE grdf_rights SET proof_deadline = $2, state = $3"
                " WHERE meter_id = $1",
                pce, today + timedelta(days=deadline_in), state,
            )  # fmt: skip

    item = await mine()
    assert item is not None
    assert item["proof_deadline"] == (today + timedelta(days=20)).isoformat()
    assert (item["proof_days_left"], item["proof_reminder"]) == (20, "asked")
    await move(7)
    item = await mine()
    assert item is not None
    assert (item["proof_days_left"], item["proof_reminder"]) == (7, "due_soon")
    await move(-1)
    item = await mine()
    assert item is not None
    assert (item["state"], item["proof_reminder"]) == ("active", "overdue")
    await move(-1, "revoked")  # GRDF revoked it: the daily check mirrored it
    item = await mine()
    assert item is not None
    assert (item["state"], item["proof_reminder"]) == ("revoked", None)
    assert await mine(attacker) is None
    assert (await client.get("/v1/me/grdf/rights")).status_code == 401


async def test_gas_is_priced_in_the_band_of_the_pce_s_car(
    world: Any, client: httpx.AsyncClient
) -> None:
    """The reference bands loaded: a CAR of 12 MWh is band B1 (heating price),
    one of 3 MWh band B0 (the cooking and hot water price, dearer per kWh), one
    of 50 MWh band B2I, for which no benchmark price is held: its day is unpriced
    (never priced at another band's price) and the note says why."""
    t = world.territory
    gas = {str(m.meter) for m in t.meters if m.energy.value == "gas"}
    owner = next(r for r in t.residents if any(m in gas for m in r.meters))
    pce = next(m for m in owner.meters if m in gas)
    today = datetime.now(PARIS).date()
    day = today - timedelta(days=40)
    start = datetime.combine(day, time(6), PARIS)
    async with world.pool.acquire() as conn:
        token = await _token(conn, owner.email)
        await load_reference(conn)
        series = await conn.fetchval(
            """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension,
                                   unit, period)
               VALUES ($1, $2, 'pce', 'consumption', 'interval', 'energy', 'Wh',
                       'daily') RETURNING series_id""",
            f"urn:dev:pce:{pce}_consumption/energy/daily",
            pce,
        )
        await conn.execute(
            "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
            " VALUES ($1, $2, $3, 10000, 1)",
            series, start, datetime.combine(day + timedelta(days=1), time(6), PARIS),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO grdf_rights (meter_id, right_id, state, right_start,"
            " right_end, car_kwh, tariff_option)"
            " VALUES ($1, 'r-1', 'active', $2, $3, 12000, 'T2')",
            pce, today - timedelta(days=400), today + timedelta(days=300),
        )  # fmt: skip
    url = f"/v1/meters/{pce}/cost"
    params = {"month": day.strftime("%Y-%m")}
    b1 = (await client.get(url, params=params, headers=_h(token))).json()
    assert b1["option"] == "gas B1"
    assert b1["price_note"] == "band B1 from CAR 12000 kWh/yr"
    assert b1["kwh"] == 10
    assert b1["energy_eur"] > 0
    assert b1["unpriced_days"] == []
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE grdf_rights SET car_kwh = 3000 WHERE meter_id = $1", pce
        )
    b0 = (await client.get(url, params=params, headers=_h(token))).json()
    assert b0["option"] == "gas B0"
    assert b0["price_note"] == "band B0 from CAR 3000 kWh/yr"
    assert b0["kwh"] == 10
    assert b0["energy_eur"] > b1["energy_eur"]  # the small user's kWh costs more
    assert b0["unpriced_days"] == []
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE grdf_rights SET car_kwh = 50000 WHERE meter_id = $1", pce
        )
    b2 = (await client.get(url, params=params, headers=_h(token))).json()
    assert b2["option"] == "gas B2I"
    assert "no benchmark price held for band B2I" in b2["price_note"]
    assert (b2["kwh"], b2["energy_eur"], b2["standing_eur"]) == (10, 0, 0)
    assert b2["unpriced_days"] == [day.isoformat()]
