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


def _with_header(ns: str, root: str, inner: str, header: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:n="{ns}"><s:Header>{header}</s:Header>'
        f"<s:Body><n:{root}>{inner}</n:{root}></s:Body></s:Envelope>"
    ).encode()


ADP_BODY = f"<pointId>25946599093143</pointId><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>"
ENTETE = (
    f'<tec:entete xmlns:tec="{TEC}"><version>1.0</version><infoDemandeur>'
    "<loginDemandeur>{login}</loginDemandeur></infoDemandeur></tec:entete>"
)


def test_children_must_be_unqualified(state: EmulatorState) -> None:
    qualified = f"<n:pointId>25946599093143</n:pointId><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>"
    status, payload = handle_soap(
        state,
        "/ConsultationDonneesTechniquesContractuelles/v1.0",
        _env(ADP_NS, "consulterDonneesTechniquesContractuelles", qualified),
    )
    assert status == 500
    code, message = _fault(payload)
    assert code == "SGT562"
    assert "pointId" in message
    assert "non qualifié" in message


def test_a_header_is_accepted_only_where_the_wsdl_declares_it(
    state: EmulatorState,
) -> None:
    adp = "/ConsultationDonneesTechniquesContractuelles/v1.0"
    root = "consulterDonneesTechniquesContractuelles"
    declared = _with_header(ADP_NS, root, ADP_BODY, ENTETE.format(login=DEMO_LOGIN))
    assert handle_soap(state, adp, declared)[0] == 200
    bad_login = _with_header(ADP_NS, root, ADP_BODY, ENTETE.format(login="nobody"))
    assert _fault(handle_soap(state, adp, bad_login)[1])[0] == "SGT562"
    other = '<dc:enteteP xmlns:dc="urn:x"><version>1.0</version></dc:enteteP>'
    code, message = _fault(
        handle_soap(state, adp, _with_header(ADP_NS, root, ADP_BODY, other))[1]
    )
    assert (code, "enteteP" in message) == ("SGT562", True)
    # CMD v3 declares no header: an entete there is refused, an empty one is not
    demande = (
        f"<demande><initiateurLogin>{DEMO_LOGIN}</initiateurLogin><pointId>25162373298976</pointId>"
        "<mesuresTypeCode>ENERGIE</mesuresTypeCode><grandeurPhysique>EA</grandeurPhysique>"
        "<dateDebut>2026-11-02</dateDebut><dateFin>2026-11-04</dateFin>"
        "<mesuresCorrigees>false</mesuresCorrigees><sens>SOUTIRAGE</sens>"
        "<cadreAcces>ACCORD_CLIENT</cadreAcces></demande>"
    )
    cmd3 = "/ConsultationMesuresDetaillees/v3.0"
    with_entete = _with_header(
        CMD3_NS,
        "consulterMesuresDetailleesV3",
        demande,
        ENTETE.format(login=DEMO_LOGIN),
    )
    code, message = _fault(handle_soap(state, cmd3, with_entete)[1])
    assert code == "SGT562"
    assert "non déclaré" in message
    empty = _with_header(CMD3_NS, "consulterMesuresDetailleesV3", demande, "")
    assert handle_soap(state, cmd3, empty)[0] == 200


def test_both_models_list_the_same_services(state: EmulatorState) -> None:
    """One point, one set of measures services, whichever model ordered them."""
    from sge_emulator.services import RSAD_NS, RSSM_NS

    prm = "24380318190106"  # seeded with service 666 by the access-services model
    old = handle_soap(
        state,
        "/RechercheServicesSouscritsMesures/v1.0",
        _env(
            RSSM_NS,
            "rechercherServicesSouscritsMesures",
            f"<criteres><pointId>{prm}</pointId><contratId>{state.settings.contract_id}"
            f"</contratId></criteres><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>",
        ),
    )
    new = handle_soap(
        state,
        "/RechercheServicesAccesDonnees/v1.0",
        _env(
            RSAD_NS,
            "rechercherServicesAccesDonnees",
            f"<criteres><pointId>{prm}</pointId><contratId>{state.settings.contract_id}"
            f"</contratId></criteres><loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur>",
        ),
    )
    assert old[0] == new[0] == 200
    old_ids = [e.text for e in ET.fromstring(old[1]).iter("serviceSouscritId")]
    new_ids = [e.text for e in ET.fromstring(new[1]).iter("serviceSouscritId")]
    assert old_ids == new_ids == ["666"]


@pytest.mark.parametrize(
    ("inner", "says"),
    [
        (
            f"<loginUtilisateur>{DEMO_LOGIN}</loginUtilisateur><pointId>25946599093143</pointId>",
            "pointId hors séquence",
        ),
        (ADP_BODY + "<inconnu>1</inconnu>", "inconnu inattendu"),
    ],
)
def test_children_must_follow_the_sequence(
    state: EmulatorState, inner: str, says: str
) -> None:
    status, payload = handle_soap(
        state,
        "/ConsultationDonneesTechniquesContractuelles/v1.0",
        _env(ADP_NS, "consulterDonneesTechniquesContractuelles", inner),
    )
    code, message = _fault(payload)
    assert (status, code) == (500, "SGT562")
    assert says in message
