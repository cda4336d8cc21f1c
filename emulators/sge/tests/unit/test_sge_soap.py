"""Envelopes, validation and faults, through the dispatcher without a network."""

# ruff: noqa: S314 - the XML parsed here is the emulator's own output

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from sge_emulator import build_state, handle_soap
from sge_emulator.services import ADP_NS, CMD3_NS, RP_NS
from sge_emulator.settings import DEMO_LOGIN, EmulatorSettings
from sge_emulator.soap import SOAP_ENV, TEC, SgeFault
from sge_emulator.state import EmulatorState


@pytest.fixture
def state() -> EmulatorState:
    return build_state(
        EmulatorSettings(start_date="2026-11-23", with_demo=False, state_dir="unused")
    )


def _env(ns: str, root: str, inner: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:n="{ns}"><s:Body><n:{root}>{inner}</n:{root}></s:Body></s:Envelope>'
    ).encode()


def _fault(payload: bytes) -> tuple[str, str]:
    resultat = ET.fromstring(payload).find(
        f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/detail/{{{TEC}}}erreur/resultat"
    )
    assert resultat is not None
    return resultat.get("code") or "", resultat.text or ""


def test_fault_code_must_be_six_characters() -> None:
    with pytest.raises(ValueError, match="6 characters"):
        SgeFault("SGT41")


def test_unparseable_body_is_sgt562(state: EmulatorState) -> None:
    status, payload = handle_soap(state, "/RecherchePoint/v2.0", b"<not-xml")
    assert status == 500
    assert _fault(payload)[0] == "SGT562"


def test_missing_required_element_names_it(state: EmulatorState) -> None:
    status, payload = handle_soap(
        state,
        "/ConsultationDonneesTechniquesContractuelles/v1.0",
        _env(
            ADP_NS,
            "consulterDonneesTechniquesContractuelles",
            f"<loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>",
        ),
    )
    code, message = _fault(payload)
    assert (status, code) == (500, "SGT562")
    assert "pointId" in message


def test_login_must_be_an_email_and_the_accounts(state: EmulatorState) -> None:
    body = _env(
        ADP_NS,
        "consulterDonneesTechniquesContractuelles",
        "<pointId>25946599093143</pointId><loginUtilisateur>not-an-email</loginUtilisateur>",
    )
    assert (
        _fault(
            handle_soap(
                state, "/ConsultationDonneesTechniquesContractuelles/v1.0", body
            )[1]
        )[0]
        == "SGT562"
    )
    body = _env(
        ADP_NS,
        "consulterDonneesTechniquesContractuelles",
        "<pointId>25946599093143</pointId><loginUtilisateur>other@tiers.invalid</loginUtilisateur>",
    )
    assert (
        _fault(
            handle_soap(
                state, "/ConsultationDonneesTechniquesContractuelles/v1.0", body
            )[1]
        )[0]
        == "SGT4G2"
    )


def test_header_only_where_declared(state: EmulatorState) -> None:
    status, payload = handle_soap(
        state,
        "/RecherchePoint/v2.0",
        _env(
            RP_NS,
            "rechercherPoint",
            f"<criteres><numSiret>12345678900011</numSiret></criteres><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>",
        ),
    )
    assert status == 200
    root = ET.fromstring(payload)
    assert root.find(f"{{{SOAP_ENV}}}Header/{{{TEC}}}acquittement") is not None
    points = root.findall(
        f"{{{SOAP_ENV}}}Body/{{{RP_NS}}}rechercherPointResponse/points/point"
    )
    assert len(points) == 13
    assert all(p.get("id", "").startswith(("988", "300")) for p in points)
    status, payload = handle_soap(
        state,
        "/ConsultationMesuresDetaillees/v3.0",
        _env(
            CMD3_NS,
            "consulterMesuresDetailleesV3",
            f"<demande><initiateurLogin>{DEMO_LOGIN}</initiateurLogin><pointId>25162373298976</pointId><mesuresTypeCode>PMAX</mesuresTypeCode><grandeurPhysique>PMA</grandeurPhysique><dateDebut>2026-11-02</dateDebut><dateFin>2026-11-04</dateFin><mesuresPas>P1D</mesuresPas><mesuresCorrigees>false</mesuresCorrigees><sens>SOUTIRAGE</sens><cadreAcces>EST_TITULAIRE</cadreAcces></demande>",
        ),
    )
    assert status == 200
    root = ET.fromstring(payload)
    assert root.find(f"{{{SOAP_ENV}}}Header") is None
    answer = root.find(
        f"{{{SOAP_ENV}}}Body/{{{CMD3_NS}}}consulterMesuresDetailleesResponseV3"
    )
    assert answer is not None
    assert answer.findtext("grandeur/unite") == "VA"
    assert answer.findtext("pas") == "P1D"
    assert [len(p.findtext("d") or "") for p in answer.findall("grandeur/points")] == [
        19,
        19,
    ]


def test_unexpected_errors_are_sgt500_never_an_empty_500(
    state: EmulatorState, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sge_emulator import services

    def boom(*_: object) -> object:
        raise RuntimeError("bug")

    route = services.ROUTES[("/RecherchePoint/v2.0", f"{{{RP_NS}}}rechercherPoint")]
    monkeypatch.setitem(
        services.ROUTES,
        ("/RecherchePoint/v2.0", route.root),
        services.Service(route.path, route.root, boom),
    )
    status, payload = handle_soap(
        state, "/RecherchePoint/v2.0", _env(RP_NS, "rechercherPoint", "")
    )
    assert status == 500
    assert payload
    assert _fault(payload)[0] == "SGT500"


def test_soap12_envelopes_are_accepted(state: EmulatorState) -> None:
    body = (
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:n="{ADP_NS}"><e:Body><n:consulterDonneesTechniquesContractuelles>'
        f"<pointId>25946599093143</pointId><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>"
        "</n:consulterDonneesTechniquesContractuelles></e:Body></e:Envelope>"
    ).encode()
    assert (
        handle_soap(state, "/ConsultationDonneesTechniquesContractuelles/v1.0", body)[0]
        == 200
    )
