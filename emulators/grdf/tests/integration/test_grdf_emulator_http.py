"""The ADICT emulator over real HTTP: tokens, quotas, NDJSON, rights, errors."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from grdf_emulator import demo_meters
from grdf_emulator.profiles import gas_day_bounds

from .conftest import BAS, OKTA, SOFIT, TODAY, V2, Emulator

pytestmark = pytest.mark.integration

DEMO = demo_meters()[0]  # a flat held by a demo resident


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("application/x-ndjson")
    text = response.text
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def declaration(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "role_tiers": "AUTORISE_CONTRAT_FOURNITURE",
        "code_postal": DEMO.address.code_postal,
        "nom_titulaire": DEMO.holder.nom,
        "courriel_titulaire": DEMO.holder.courriel,
        "date_debut_droit_acces": (TODAY - timedelta(days=1)).isoformat(),
        "date_fin_droit_acces": (TODAY + timedelta(days=365)).isoformat(),
        "perim_donnees_conso_debut": (TODAY - timedelta(days=3 * 365)).isoformat(),
        "perim_donnees_conso_fin": (TODAY + timedelta(days=365)).isoformat(),
        "perim_donnees_contractuelles": "Vrai",
        "perim_donnees_techniques": "vrai",
        "perim_donnees_informatives": "VRAI",
        "perim_donnees_publiees": "Vrai",
    }
    body.update(overrides)
    return body


async def declare_active(
    emulator: Emulator, api: httpx.AsyncClient, **overrides: object
) -> str:
    response = await api.put(
        f"/pce/{DEMO.pce}/droit_acces", json=declaration(**overrides)
    )
    assert response.status_code == 201, response.text
    right_id = str(response.json()["id_droit_acces"])
    await emulator.hook(f"rights/{right_id}/accept")
    return right_id


async def informatives(
    api: httpx.AsyncClient, pce: str, start: date, end: date
) -> httpx.Response:
    return await api.get(
        f"/pce/{pce}/donnees_consos_informatives",
        params={"date_debut": start.isoformat(), "date_fin": end.isoformat()},
    )


async def test_both_token_paths_and_expiry_gives_401(emulator: Emulator) -> None:
    for path in (OKTA, SOFIT):
        response = await emulator.http.post(
            path,
            data={
                "grant_type": "client_credentials",
                "client_id": "sen1-demo",
                "client_secret": "sen1-demo-secret",
                "scope": V2,
            },
        )
        body = response.json()
        assert response.status_code == 200
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 14399
        assert body["scope"].startswith("/adict/v2 sen1-demo ")
    wrong = await emulator.http.post(
        OKTA,
        data={
            "grant_type": "client_credentials",
            "client_id": "sen1-demo",
            "client_secret": "wrong",
            "scope": V2,
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"

    api = await emulator.api()
    assert (await api.get("/droits_acces")).status_code == 200
    await emulator.hook("tokens_expire")
    expired = await api.get("/droits_acces")
    assert expired.status_code == 401
    assert expired.json()["code_statut_traitement"] == "1000000001"
    await api.aclose()


async def test_token_lifetime_elapses(emulator_factory) -> None:
    emulator = await emulator_factory(token_lifetime_s=1)
    api = await emulator.api()
    assert (await api.get("/droits_acces")).status_code == 200
    await asyncio.sleep(1.1)
    assert (await api.get("/droits_acces")).status_code == 401
    await api.aclose()


async def test_bearer_header_rules(emulator: Emulator) -> None:
    token = await emulator.token()
    url = f"{V2}/droits_acces"
    missing = await emulator.http.get(url)
    lower = await emulator.http.get(url, headers={"Authorization": f"bearer {token}"})
    no_space = await emulator.http.get(url, headers={"Authorization": f"Bearer{token}"})
    sandbox_scope = await emulator.http.get(
        f"{BAS}/droits_acces", headers={"Authorization": f"Bearer {token}"}
    )
    assert (missing.status_code, lower.status_code, no_space.status_code) == (
        401,
        400,
        400,
    )
    assert sandbox_scope.status_code == 401  # a v2 token is not a sandbox token


async def test_one_call_per_second_shared_by_bases(emulator_factory) -> None:
    emulator = await emulator_factory(requests_per_second=1)
    production, sandbox = await emulator.api(), await emulator.api(BAS)
    first = await production.get("/droits_acces")
    second = await sandbox.get("/droits_acces")
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["retry-after"] == "1", "whole seconds until a call passes"
    await asyncio.sleep(1.05)
    assert (await production.get("/droits_acces")).status_code == 200
    assert emulator.state.throttled == 1
    await production.aclose()
    await sandbox.aclose()


async def test_daily_cap_then_next_paris_day(emulator_factory) -> None:
    emulator = await emulator_factory(daily_cap=3)
    api = await emulator.api()
    statuses = [(await api.get("/droits_acces")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = await api.get("/droits_acces")
    # until the next Paris midnight (the test clock's morning: over 10 hours)
    assert int(refused.headers["retry-after"]) > 10 * 3600
    emulator.clock.now += timedelta(days=1)
    assert (await api.get("/droits_acces")).status_code == 200
    await api.aclose()


async def test_access_list_is_ndjson_with_trailer(emulator: Emulator) -> None:
    api = await emulator.api()
    objects = lines(await api.get("/droits_acces"))
    assert objects[-1] == {
        "code_statut_traitement": "0000000000",
        "message_retour_traitement": "L'opération s'est déroulée avec succès.",
    }
    states = {o["id_pce"]: o["etat_droit_acces"] for o in objects[:-1]}
    assert states["09999999932770"] == "Révoquée"
    assert states["09999999930215"] == "Obsolète"
    assert states["09999999900617"] == "Active"
    assert all(
        o["perim_donnees_informatives"] in ("vrai", "faux") for o in objects[:-1]
    )

    none = lines(await api.post("/droits_acces", json={"id_pce": ["21389999999999"]}))
    assert none == [
        {
            "code_statut_traitement": "0000000000",
            "message_retour_traitement": "Aucun droit d'accès trouvé.",
        }
    ]
    filtered = lines(
        await api.post(
            "/droits_acces",
            json={"etat_droit_acces": ["Révoquée", "Obsolète"], "id_pce": None},
        )
    )
    assert {o["id_pce"] for o in filtered[:-1]} == {"09999999932770", "09999999930215"}
    too_many = await api.post(
        "/droits_acces", json={"id_pce": [f"{i:014d}" for i in range(1001)]}
    )
    assert too_many.status_code == 400
    assert too_many.json()["code_statut_traitement"] == "2000000009"
    await api.aclose()


async def test_declare_accept_collect_revoke(emulator: Emulator) -> None:
    api = await emulator.api()
    declared = await api.put(f"/pce/{DEMO.pce}/droit_acces", json=declaration())
    body = declared.json()
    assert declared.status_code == 201
    assert body["code_statut_traitement"] == "0000000002"
    assert body["etat_droit_acces"] == "A valider"
    again = await api.put(f"/pce/{DEMO.pce}/droit_acces", json=declaration())
    assert again.status_code == 409
    assert again.json()["code_statut_traitement"] == "1000000003"

    window = (TODAY - timedelta(days=10), TODAY)
    pending = lines(await informatives(api, DEMO.pce, *window))
    assert pending[0]["statut_restitution"]["code"] == "1000002"
    assert pending[0]["consommation"] is None

    await emulator.hook(f"rights/{body['id_droit_acces']}/accept")
    days = lines(await informatives(api, DEMO.pce, *window))
    assert [d["consommation"]["journee_gaziere"] for d in days] == [
        (window[0] + timedelta(days=i)).isoformat() for i in range(9)
    ]  # gas day J is out on J+2: yesterday's (ending today 06:00) is not yet
    for day in days:
        conso = day["consommation"]
        coeff = conso["coeff_calcul"]["coeff_conversion"]
        assert conso["energie"] == round(conso["volume_brut"] * coeff)
        assert isinstance(day["releve_debut"]["index_brut_debut"]["valeur_index"], int)
        assert "horodate_Index" in day["releve_fin"]["index_brut_fin"]

    revoked = await api.patch(f"/droit_acces/{body['id_droit_acces']}")
    assert revoked.status_code == 200
    assert revoked.json()["code_statut_traitement"] == "0000000000"
    after = lines(await informatives(api, DEMO.pce, *window))
    assert after[0]["statut_restitution"] == {
        "code": "1000014",
        "message": "Le droit d'accès a été révoqué par vos soins.",
    }
    twice = await api.patch(f"/droit_acces/{body['id_droit_acces']}")
    assert twice.status_code == 409
    unknown = await api.patch("/droit_acces/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json()["code_statut_traitement"] == "1000000001"
    await api.aclose()


async def test_declaration_refusals(emulator: Emulator) -> None:
    api = await emulator.api()
    unknown = await api.put("/pce/21389999999999/droit_acces", json=declaration())
    assert (unknown.status_code, unknown.json()["code_statut_traitement"]) == (
        404,
        "1000000006",
    )
    elsewhere = await api.put(
        f"/pce/{DEMO.pce}/droit_acces", json=declaration(code_postal="75001")
    )
    assert elsewhere.status_code == 409
    both = await api.put(
        f"/pce/{DEMO.pce}/droit_acces", json=declaration(raison_sociale="ACME")
    )
    assert both.status_code == 400
    assert "simultanément" in both.json()["message_retour_traitement"]
    not_bool = await api.put(
        f"/pce/{DEMO.pce}/droit_acces", json=declaration(perim_donnees_publiees="oui")
    )
    assert not_bool.status_code == 400
    bad_pce = await api.put("/pce/GI12/droit_acces", json=declaration())
    assert bad_pce.status_code == 400
    await api.aclose()


async def test_functional_errors_per_pce_state(emulator: Emulator) -> None:
    api = await emulator.api()
    window = (TODAY - timedelta(days=30), TODAY)

    async def code(pce: str, what: str = "donnees_consos_informatives") -> str:
        response = await api.get(
            f"/pce/{pce}/{what}",
            params={
                "date_debut": window[0].isoformat(),
                "date_fin": window[1].isoformat(),
            },
        )
        assert response.status_code == 200
        (only,) = lines(response)
        return str(only["statut_restitution"]["code"])

    assert await code("09999999932770") == "1000014"  # revoked (by the holder)
    assert await code("09999999930215") == "1000001"  # expired
    assert await code("21389999999999") == "1000002"  # no right
    assert await code("09999999975102") == "1000008"  # 6M meter: no daily data
    assert await code("GI999092") == "1000008"  # out of service since 2023

    await declare_active(emulator, api, perim_donnees_publiees="Faux")
    assert await code(DEMO.pce, "donnees_consos_publiees") == "1000009"

    await emulator.hook("partial", {"pce": "09999999900617", "day": "2026-11-10"})
    stream = lines(await informatives(api, "09999999900617", *window))
    errors = [o for o in stream if o["statut_restitution"] is not None]
    assert [e["statut_restitution"]["code"] for e in errors] == ["2000100"]
    assert errors[0]["periode"]["date_debut"] == "2026-11-10"
    assert len(stream) == 29
    assert stream[0]["consommation"] is not None
    await api.aclose()


async def test_query_validation_400(emulator: Emulator) -> None:
    api = await emulator.api()
    url = "/pce/09999999900617/donnees_consos_informatives"

    async def refused(params: dict[str, str], pce_url: str = url) -> dict[str, Any]:
        response = await api.get(pce_url, params=params)
        assert response.status_code == 400, params
        body: dict[str, Any] = response.json()
        assert body["consommation"] is None
        assert body["releve_debut"] is None
        return body

    bad = await refused(
        {"date_debut": "2026-01-01", "date_fin": "2026-02-01"},
        "/pce/123/donnees_consos_informatives",
    )
    assert bad["pce"] == {"id_pce": "123"}
    assert bad["statut_restitution"]["code"] == "1000005"
    await refused({})
    await refused({"periode": "2026-10", "date_debut": "2026-10-01"})
    await refused({"date_debut": "2026-10-01"})
    await refused({"date_debut": "01/10/2026", "date_fin": "2026-10-05"})
    await refused({"date_debut": "2026-10-05", "date_fin": "2026-10-05"})
    tomorrow = await refused({"date_debut": "2026-11-01", "date_fin": "2026-11-24"})
    assert "date du jour" in tomorrow["statut_restitution"]["message"]
    old = await refused({"date_debut": "2023-11-01", "date_fin": "2023-12-01"})
    assert "3 ans" in old["statut_restitution"]["message"]
    published = await api.get(
        "/pce/09999999900617/donnees_consos_publiees",
        params={"date_debut": "2022-01-01", "date_fin": "2022-04-01"},
    )
    assert published.status_code == 200  # 5 years for published data
    month = lines(await api.get(url, params={"periode": "2026-10"}))
    assert len(month) == 31
    assert month[0]["periode"] == {
        "valeur": "2026-10",
        "date_debut": "2026-10-01",
        "date_fin": "2026-11-01",
    }
    await api.aclose()


async def test_dst_gas_days_over_http(emulator: Emulator) -> None:
    api = await emulator.api()
    march = lines(
        await informatives(api, "09999999900617", date(2026, 3, 27), date(2026, 3, 30))
    )
    october = lines(
        await informatives(
            api, "09999999900617", date(2026, 10, 23), date(2026, 10, 26)
        )
    )

    def hours(record: dict[str, Any]) -> float:
        conso = record["consommation"]
        start = datetime.fromisoformat(conso["date_debut_consommation"])
        end = datetime.fromisoformat(conso["date_fin_consommation"])
        return (end - start).total_seconds() / 3600

    assert [hours(r) for r in march] == [24, 23, 24]
    assert [hours(r) for r in october] == [24, 25, 24]
    assert (
        march[1]["consommation"]["date_debut_consommation"]
        == "2026-03-28T06:00:00+01:00"
    )
    assert (
        march[1]["consommation"]["date_fin_consommation"] == "2026-03-29T06:00:00+02:00"
    )
    # consecutive days chain: the end reading of one is the start reading of the next
    assert (
        march[0]["releve_fin"]["index_brut_fin"]
        == march[1]["releve_debut"]["index_brut_debut"]
    )
    await api.aclose()


async def test_provisional_then_definitive_and_catch_up(emulator_factory) -> None:
    emulator = await emulator_factory(missing_day_rate=0.3, catch_up_days=3)
    api = await emulator.api()
    window = (TODAY - timedelta(days=20), TODAY)
    before = {
        d["consommation"]["journee_gaziere"]: d
        for d in lines(await informatives(api, "09999999900617", *window))
    }
    emulator.clock.now += timedelta(days=10)
    after = {
        d["consommation"]["journee_gaziere"]: d
        for d in lines(await informatives(api, "09999999900617", *window))
    }
    missing = set(after) - set(before)
    newly_out = {(TODAY - timedelta(days=i)).isoformat() for i in (1, 2)}
    caught_up = missing - newly_out
    assert caught_up, "late gas days are missing first, then caught up"
    assert len(after) == 20  # after the catch-up, no day of the window is missing
    assert set(before) < set(after)
    recent = max(before)
    assert before[recent]["consommation"]["statut_conso"] == "Provisoire"
    assert after[recent]["consommation"]["statut_conso"] == "Définitive"
    assert (
        after[recent]["consommation"]["energie"]
        == before[recent]["consommation"]["energie"]
    )
    await api.aclose()


async def test_data_window_and_scopes_clamp(emulator: Emulator) -> None:
    api = await emulator.api()
    start = TODAY - timedelta(days=12)
    await declare_active(emulator, api, perim_donnees_conso_debut=start.isoformat())
    days = lines(await informatives(api, DEMO.pce, TODAY - timedelta(days=30), TODAY))
    assert days[0]["consommation"]["journee_gaziere"] == start.isoformat()
    published = lines(
        await api.get(
            f"/pce/{DEMO.pce}/donnees_consos_publiees",
            params={"date_debut": "2026-01-01", "date_fin": TODAY.isoformat()},
        )
    )
    assert (
        published[0]["statut_restitution"]["code"] == "1000008"
    )  # no whole month inside
    await api.aclose()


async def test_published_periods(emulator: Emulator) -> None:
    api = await emulator.api()
    monthly = lines(
        await api.get(
            "/pce/09999999900617/donnees_consos_publiees",
            params={"date_debut": "2025-01-01", "date_fin": "2026-01-01"},
        )
    )
    half = lines(
        await api.get(
            "/pce/09999999975102/donnees_consos_publiees",
            params={"date_debut": "2023-01-01", "date_fin": "2026-01-01"},
        )
    )
    assert 12 <= len(monthly) <= 13
    assert 6 <= len(half) <= 7
    record = monthly[0]
    assert record["consommation"]["type_conso"] == "Publiée"
    assert record["consommation"]["journee_gaziere"] is None
    assert record["releve_debut"]["raison_releve"] == "RNO"
    slip = record["bordereau_publication"]
    first = date.fromisoformat(slip["date_debut_bordereau"])
    last = date.fromisoformat(slip["date_fin_bordereau"])
    assert slip["nb_jour_gazier"] == (last - first).days + 1
    start, _ = gas_day_bounds(first)
    assert record["consommation"]["date_debut_consommation"] == start.isoformat()
    await api.aclose()


async def test_proof_upload_rules(emulator: Emulator) -> None:
    api = await emulator.api()
    right = await declare_active(emulator, api)
    pdf = b"%PDF-1.4 consent"
    url = f"/droit_acces/{right}/preuves"
    not_asked = await api.put(url, files=[("preuves", ("a.pdf", pdf))])
    assert not_asked.status_code == 409
    assert "ne demande pas" in not_asked.json()["message_retour_traitement"]
    await emulator.hook(f"rights/{right}/request_proof")
    four = await api.put(url, files=[("preuves", (f"{i}.pdf", pdf)) for i in range(4)])
    big = await api.put(
        url, files=[("preuves", ("big.pdf", b"%PDF" + b"0" * 4 * 1024 * 1024))]
    )
    exe = await api.put(url, files=[("preuves", ("x.pdf", b"MZ\x90\x00"))])
    empty = await api.put(url, files=[("other", ("a.pdf", pdf))])
    assert [r.status_code for r in (four, big, exe, empty)] == [409, 409, 409, 400]
    ok = await api.put(
        url, files=[("preuves", ("a.pdf", pdf)), ("preuves", ("b.png", b"\x89PNG.."))]
    )
    assert ok.status_code == 200
    listed = lines(await api.post("/droits_acces", json={"id_pce": [DEMO.pce]}))
    assert listed[0]["statut_controle_preuve"] == "Preuve en cours de vérification"
    await api.aclose()


async def test_sandbox_quirks_behind_flags(emulator_factory) -> None:
    quirky = await emulator_factory()
    plain = await emulator_factory(
        sandbox_multiline_json=False, sandbox_injection_typo=False
    )
    params = {"date_debut": "2026-01-01", "date_fin": "2026-04-01"}
    sandbox = await quirky.api(BAS)
    text = (await sandbox.get("/droits_acces")).text
    assert "}{" in text
    assert text.count("\n") > 20
    assert (
        await sandbox.get("/pce/GI151947/donnees_injections_publiees", params=params)
    ).status_code == 404
    typo = await sandbox.get("/pce/GI151947/donnees_injection_publiees", params=params)
    objects = json.loads("[" + text.replace("\n", "").replace("}{", "},{") + "]")
    assert objects[-1]["code_statut_traitement"] == "0000000000"
    injections = json.loads(
        "[" + typo.text.replace("\n", "").replace("}{", "},{") + "]"
    )
    assert injections[0]["injection"]["sens_flux_gaz"] == "Production"
    straight = await plain.api(BAS)
    assert (
        len(
            lines(
                await straight.get(
                    "/pce/GI151947/donnees_injections_publiees", params=params
                )
            )
        )
        == 3
    )
    await sandbox.aclose()
    await straight.aclose()


async def test_contract_and_technical_shapes(emulator_factory) -> None:
    old = await emulator_factory()
    new = await emulator_factory(contract_shape="nested")
    a, b = await old.api(), await new.api()
    flat = (await a.get("/pce/09999999900617/donnees_contractuelles")).json()
    nested = (await b.get("/pce/09999999900617/donnees_contractuelles")).json()
    assert isinstance(flat["donnees_contractuelles"]["car"], int)
    assert (
        nested["donnees_contractuelles"]["car"]["car_actuelle"]
        == flat["donnees_contractuelles"]["car"]
    )
    filtered = (
        await a.get(
            "/pce/09999999900617/donnees_contractuelles",
            params=[("filtre", "car"), ("filtre", "cja")],
        )
    ).json()
    assert set(filtered["donnees_contractuelles"]) == {"car", "cja"}
    assert (
        await a.get(
            "/pce/09999999900617/donnees_contractuelles", params={"filtre": "nope"}
        )
    ).status_code == 400
    technical = (await a.get("/pce/09999999900617/donnees_techniques")).json()
    assert (
        technical["donnees_techniques"]["caracteristiques_compteur"]["frequence"]
        == "MM"
    )
    assert (
        "code_calibre"
        in (await b.get("/pce/09999999900617/donnees_techniques")).json()[
            "donnees_techniques"
        ]["caracteristiques_compteur"]
    )
    await a.aclose()
    await b.aclose()


async def test_other_client_sees_nothing_and_holder_auto_accepts(
    emulator_factory,
) -> None:
    emulator = await emulator_factory(holder_auto_accept_s=0)
    api = await emulator.api()
    wrong_name = await api.put(
        f"/pce/{demo_meters()[1].pce}/droit_acces",
        json=declaration(nom_titulaire="Quelqu'un d'autre", code_postal="38130"),
    )
    right = await api.put(f"/pce/{DEMO.pce}/droit_acces", json=declaration())
    assert wrong_name.status_code == right.status_code == 201
    listed = {
        o["id_pce"]: o
        for o in lines(
            await api.post(
                "/droits_acces", json={"id_pce": [DEMO.pce, demo_meters()[1].pce]}
            )
        )[:-1]
    }
    assert listed[DEMO.pce]["etat_droit_acces"] == "Active"
    assert listed[demo_meters()[1].pce]["etat_droit_acces"] == "Refusée"
    # a right belongs to the third party that declared it
    emulator.state.rights.by_id[
        right.json()["id_droit_acces"]
    ].client_id = "someone-else"
    assert (
        await api.patch(f"/droit_acces/{right.json()['id_droit_acces']}")
    ).status_code == 404
    await api.aclose()


async def test_injected_maintenance_then_recovery(emulator: Emulator) -> None:
    api = await emulator.api()
    await emulator.hook("faults", {"status": 503, "count": 2})
    statuses = [(await api.get("/droits_acces")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    await api.aclose()


async def test_contract_scope_is_enforced(emulator: Emulator) -> None:
    api = await emulator.api()
    await declare_active(emulator, api, perim_donnees_contractuelles="Faux")
    refused = (await api.get(f"/pce/{DEMO.pce}/donnees_contractuelles")).json()
    assert refused["donnees_contractuelles"] is None
    assert refused["statut_restitution"]["code"] == "1000002"
    allowed = (await api.get(f"/pce/{DEMO.pce}/donnees_techniques")).json()
    assert allowed["donnees_techniques"]["situation_compteur"]["code_postal"] == "38130"
    await api.aclose()


async def test_no_retry_after_when_the_flag_is_off(emulator_factory) -> None:
    """The contract leaves the 429's shape unverified: clients must cope without."""
    emulator = await emulator_factory(daily_cap=1, retry_after=False)
    api = await emulator.api()
    await api.get("/droits_acces")
    refused = await api.get("/droits_acces")
    assert refused.status_code == 429
    assert "retry-after" not in refused.headers
    await api.aclose()
