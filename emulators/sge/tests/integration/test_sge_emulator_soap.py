"""The SOAP services over real mutual TLS: handshake, envelopes, every documented fault."""

# ruff: noqa: S314 - the XML parsed here is the emulator's own output

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET

import httpx
import pytest

from sge_emulator import Emulator
from sge_emulator.services import (
    ADP_NS,
    AHC_NS,
    CADM_NS,
    CCPM_NS,
    CMD2_NS,
    CMD3_NS,
    MFI_NS,
    RP_NS,
    RSSM_NS,
    SAD_NS,
)
from sge_emulator.settings import DEMO_CONTRACT, DEMO_LOGIN
from sge_emulator.soap import SOAP_ENV, TEC

pytestmark = pytest.mark.integration

LOGIN = DEMO_LOGIN
C5 = "25162373298976"
C4 = "98800001144455"
ENTETE = (
    f'<tec:entete xmlns:tec="{TEC}"><version>1.0</version>'
    f"<infoDemandeur><loginDemandeur>{LOGIN}</loginDemandeur></infoDemandeur></tec:entete>"
)


def envelope(ns: str, root: str, inner: str, header: str = "") -> str:
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{ns}">'
        f"<SOAP-ENV:Header>{header}</SOAP-ENV:Header><SOAP-ENV:Body>"
        f"<ns1:{root}>{inner}</ns1:{root}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def cmd3(
    prm: str,
    start: str,
    end: str,
    type_code: str = "COURBE",
    physical: str = "PA",
    cadre: str = "ACCORD_CLIENT",
    drop: str = "",
) -> str:
    fields = {
        "initiateurLogin": LOGIN,
        "pointId": prm,
        "mesuresTypeCode": type_code,
        "grandeurPhysique": physical,
        "dateDebut": start,
        "dateFin": end,
        "mesuresCorrigees": "false",
        "sens": "SOUTIRAGE",
        "cadreAcces": cadre,
    }
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if k != drop)
    return envelope(
        CMD3_NS, "consulterMesuresDetailleesV3", f"<demande>{inner}</demande>"
    )


def collecte(
    prm: str, start: str, end: str | None, accord: str = "true", kind: str = "CDC"
) -> str:
    end_xml = f"<dateFin>{end}</dateFin>" if end else ""
    return envelope(
        CCPM_NS,
        "commanderCollectePublicationMesures",
        "<demande><donneesGenerales><objetCode>AME</objetCode>"
        f"<pointId>{prm}</pointId><initiateurLogin>{LOGIN}</initiateurLogin><contratId>{DEMO_CONTRACT}</contratId>"
        f"</donneesGenerales><accesMesures><dateDebut>{start}</dateDebut>{end_xml}"
        f"<declarationAccordClient><accord>{accord}</accord><personneMorale><denominationSociale>VILLE</denominationSociale></personneMorale></declarationAccordClient>"
        f"<mesuresTypeCode>{kind}</mesuresTypeCode><soutirage>true</soutirage><injection>false</injection>"
        f"<mesuresPas>PT30M</mesuresPas><transmissionRecurrente>true</transmissionRecurrente><periodiciteTransmission>P1D</periodiciteTransmission>"
        "</accesMesures></demande>",
        ENTETE.replace("1.0</version>", "3.0</version>"),
    )


async def post(client: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    return await client.post(
        path,
        content=body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
    )


def fault_code(response: httpx.Response) -> str:
    assert response.status_code == 500, response.text
    root = ET.fromstring(response.content)
    detail = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/detail")
    assert detail is not None
    assert len(detail) == 1
    erreur = detail[0]
    assert erreur.tag == f"{{{TEC}}}erreur"
    resultat = erreur[0]
    assert resultat.tag == "resultat"
    assert resultat.text
    code = resultat.get("code")
    assert code is not None
    assert len(code) == 6
    return code


async def test_handshake_without_client_certificate_is_refused(
    emulator: Emulator,
) -> None:
    context = ssl.create_default_context(cafile=str(emulator.pki.ca_pem))
    async with httpx.AsyncClient(
        base_url=emulator.base_url, verify=context
    ) as anonymous:
        with pytest.raises(
            (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
        ):
            await post(
                anonymous,
                "/ConsultationMesuresDetaillees/v3.0",
                cmd3(C5, "2026-11-02", "2026-11-03"),
            )


async def test_cmd3_curve_envelope_has_no_header_and_unqualified_children(
    mtls: httpx.AsyncClient,
) -> None:
    response = await post(
        mtls,
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C4, "2026-11-02", "2026-11-03"),
    )
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.find(f"{{{SOAP_ENV}}}Header") is None
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None
    answer = body[0]
    assert answer.tag == f"{{{CMD3_NS}}}consulterMesuresDetailleesResponseV3"
    assert all("{" not in child.tag for child in answer.iter() if child is not answer)
    points = answer.findall("grandeur/points")
    assert len(points) == 144  # C1-C4: 10-min, start-stamped
    assert points[0].findtext("d") == "2026-11-02 00:00:00"
    assert points[-1].findtext("d") == "2026-11-02 23:50:00"
    assert answer.findtext("modeCalcul") == "MESURE"
    assert b'xmlns="' not in response.content


async def test_cmd3_energy_matches_the_curve(mtls: httpx.AsyncClient) -> None:
    energy = await post(
        mtls,
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-02", "2026-11-03", "ENERGIE", "EA"),
    )
    curve = await post(
        mtls,
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-02", "2026-11-03"),
    )
    e_root = ET.fromstring(energy.content)[0][0]
    c_root = ET.fromstring(curve.content)[0][0]
    wh = int(e_root.findtext("grandeur/points/v") or "0")
    watts = [int(p.findtext("v") or "0") for p in c_root.findall("grandeur/points")]
    assert wh == sum(watts) // 2
    assert wh > 0
    assert e_root.findtext("typeValeur") == "GLOBALE"
    assert e_root.findtext("modeCalcul") == "DIFF.INDEX"


async def test_dst_day_has_50_half_hours(mtls: httpx.AsyncClient) -> None:
    response = await post(
        mtls,
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-10-25", "2026-10-26"),
    )
    stamps = [
        p.findtext("d")
        for p in ET.fromstring(response.content)[0][0].findall("grandeur/points")
    ]
    assert len(stamps) == 50
    assert stamps.count("2026-10-25 02:30:00") == 2  # the repeated hour, rendered twice


async def test_technical_data_has_acquittement(mtls: httpx.AsyncClient) -> None:
    body = envelope(
        ADP_NS,
        "consulterDonneesTechniquesContractuelles",
        f"<pointId>{C5}</pointId><loginUtilisateur>{LOGIN}</loginUtilisateur><autorisationClient>true</autorisationClient>",
        ENTETE,
    )
    response = await post(
        mtls, "/ConsultationDonneesTechniquesContractuelles/v1.0", body
    )
    assert response.status_code == 200
    header = ET.fromstring(response.content).find(f"{{{SOAP_ENV}}}Header")
    assert header is not None
    resultat = header.find(f"{{{TEC}}}acquittement/resultat")
    assert resultat is not None
    assert resultat.get("code") == "SGT200"


async def test_body_root_must_match_the_path(mtls: httpx.AsyncClient) -> None:
    response = await post(
        mtls, "/ConsultationMesures/v1.1", cmd3(C5, "2026-11-02", "2026-11-03")
    )
    assert fault_code(response) == "SGT562"


FAULTS = [
    (
        "SGT401",
        "/ConsultationDonneesTechniquesContractuelles/v1.0",
        envelope(
            ADP_NS,
            "consulterDonneesTechniquesContractuelles",
            f"<pointId>99999999999999</pointId><loginUtilisateur>{LOGIN}</loginUtilisateur>",
        ),
    ),
    (
        "SGT4G2",
        "/ConsultationMesures/v1.1",
        envelope(
            AHC_NS,
            "consulterMesures",
            f"<pointId>{C5}</pointId><loginDemandeur>{LOGIN}</loginDemandeur><contratId>{DEMO_CONTRACT}</contratId><autorisationClient>false</autorisationClient>",
        ),
    ),
    (
        "SGT4G2",
        "/ConsultationMesures/v1.1",
        envelope(
            AHC_NS,
            "consulterMesures",
            f"<pointId>{C5}</pointId><loginDemandeur>{LOGIN}</loginDemandeur><contratId>999</contratId><autorisationClient>true</autorisationClient>",
        ),
    ),
    (
        "SGT4L8",
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-01", "2026-11-09"),
    ),
    (
        "SGT4L8",
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2023-01-01", "2023-01-02"),
    ),
    (
        "SGT211",
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-01", "2026-11-03", "INDEX", "EA", "SERVICE_ACCES"),
    ),
    (
        "SGT562",
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-01", "2026-11-03", drop="grandeurPhysique"),
    ),
    (
        "SGT4G3",
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(C5, "2026-11-24", "2026-11-26"),
    ),
    (
        "SGT4K2",
        "/ConsultationMesuresDetaillees/v2.0",
        envelope(
            CMD2_NS,
            "consulterMesuresDetaillees",
            f"<demande><initiateurLogin>{LOGIN}</initiateurLogin><pointId>{C5}</pointId><mesuresTypeCode>ENERGIE</mesuresTypeCode><grandeurPhysique>EA</grandeurPhysique><soutirage>true</soutirage><injection>false</injection><dateDebut>2026-11-01</dateDebut><dateFin>2026-11-03</dateFin><mesuresCorrigees>false</mesuresCorrigees><accordClient>false</accordClient></demande>",
        ),
    ),
    (
        "SGT4F7",
        "/RecherchePoint/v2.0",
        envelope(
            RP_NS,
            "rechercherPoint",
            f"<criteres><adresseInstallation><numeroEtNomVoie>1 RUE DE LA MER</numeroEtNomVoie><codeInseeCommune>34231</codeInseeCommune></adresseInstallation></criteres><loginUtilisateur>{LOGIN}</loginUtilisateur>",
        ),
    ),
    (
        "SGT4F8",
        "/RecherchePoint/v2.0",
        envelope(
            RP_NS,
            "rechercherPoint",
            f"<criteres><adresseInstallation><codePostal>84160</codePostal><codeInseeCommune>84042</codeInseeCommune></adresseInstallation><categorieClientFinalCode>RES</categorieClientFinalCode></criteres><loginUtilisateur>{LOGIN}</loginUtilisateur>",
        ),
    ),
    (
        "SGT566",
        "/CommandeCollectePublicationMesures/v3.0",
        collecte(
            "25884515170669", "2026-11-23", "2027-11-01", accord="false", kind="IDX"
        ),
    ),
    (
        "SGT4H4",
        "/CommandeCollectePublicationMesures/v3.0",
        collecte("25884515170669", "2026-11-23", "2100-01-01", kind="IDX"),
    ),
    (
        "SGT4Q1",
        "/CommanderAccesDonneesMesures/v1.0",
        envelope(
            CADM_NS,
            "commanderAccesDonneesMesures",
            f"<demande><donneesGenerales><objetCode>AME</objetCode><pointId>24380318190106</pointId><initiateurLogin>{LOGIN}</initiateurLogin><contrat><contratId>{DEMO_CONTRACT}</contratId></contrat></donneesGenerales><accesDonnees><dateDebut>2026-11-23</dateDebut><dateFin>2027-11-01</dateFin><declarationAccordClient><accord>true</accord><personnePhysique><nom>DUPONT</nom></personnePhysique></declarationAccordClient><typeDonnees>COURBE</typeDonnees></accesDonnees></demande>",
        ),
    ),
    (
        "SGT4L8",
        "/CommandeHistoriqueDonneesMesuresFines/v1.0",
        envelope(
            MFI_NS,
            "demandePublicationMesuresFines",
            f"<donneesGenerales><initiateurLogin>{LOGIN}</initiateurLogin><contratId>{DEMO_CONTRACT}</contratId></donneesGenerales><demande><pointIds><pointId>25150217034354</pointId></pointIds><mesuresTypeCode>COURBES</mesuresTypeCode><dateDebut>2020-01-01</dateDebut><dateFin>2020-01-08</dateFin><sens>SOUTIRAGE</sens><cadreAcces>ACCORD_CLIENT</cadreAcces></demande>",
        ),
    ),
]


@pytest.mark.parametrize(
    ("code", "path", "body"),
    FAULTS,
    ids=[f"{c}-{p.split('/')[1]}" for c, p, _ in FAULTS],
)
async def test_documented_fault(
    mtls: httpx.AsyncClient, code: str, path: str, body: str
) -> None:
    assert fault_code(await post(mtls, path, body)) == code


async def test_duplicate_subscription_is_sgt570_and_lists_once(
    mtls: httpx.AsyncClient,
) -> None:
    first = await post(
        mtls,
        "/CommandeCollectePublicationMesures/v3.0",
        collecte("25884515170669", "2026-11-23", "2027-11-01", kind="IDX"),
    )
    assert first.status_code == 200, first.text
    answer = ET.fromstring(first.content)[1][0]
    assert answer.findtext("prestations/prestation/fiche/libelle")
    assert answer.find("prestations/prestation/fiche").get("code") == "F305"  # type: ignore[union-attr]
    assert len(answer.findtext("affaireId") or "") == 8
    again = await post(
        mtls,
        "/CommandeCollectePublicationMesures/v3.0",
        collecte("25884515170669", "2026-11-23", "2027-11-01", kind="IDX"),
    )
    assert fault_code(again) == "SGT570"
    listing = await post(
        mtls,
        "/RechercheServicesSouscritsMesures/v1.0",
        envelope(
            RSSM_NS,
            "rechercherServicesSouscritsMesures",
            f"<criteres><pointId>25884515170669</pointId><contratId>{DEMO_CONTRACT}</contratId></criteres><loginUtilisateur>{LOGIN}</loginUtilisateur>",
        ),
    )
    kinds = [
        e.findtext("mesuresTypeCode")
        for e in ET.fromstring(listing.content)[1][0].iter("serviceSouscritMesures")
    ]
    assert sorted(kinds) == ["CDC", "IDX"]  # ASS-R1's seeded CDC + the new IDX


async def test_service_acces_after_subscription_answers_index(
    mtls: httpx.AsyncClient,
) -> None:
    body = envelope(
        SAD_NS,
        "commanderServicesAccesDonnees",
        f"<demande><donneesGenerales><pointId>25855571545617</pointId><initiateurLogin>{LOGIN}</initiateurLogin><contratId>{DEMO_CONTRACT}</contratId><sens>SOUTIRAGE</sens></donneesGenerales>"
        "<servicesSouscrits><serviceSouscrit><typeDonnees>IDX</typeDonnees><optionsPublication><optionPublication><mesuresCorrigees>false</mesuresCorrigees><periodiciteTransmission>P1D</periodiciteTransmission></optionPublication></optionsPublication></serviceSouscrit></servicesSouscrits></demande>",
        ENTETE,
    )
    created = await post(mtls, "/CommandeServicesAccesDonnees/v1.0", body)
    assert created.status_code == 200, created.text
    fiche = ET.fromstring(created.content)[1][0].find(
        "affaires/affaire/prestations/prestation/fiche"
    )
    assert fiche is not None
    assert fiche.get("libelle")
    response = await post(
        mtls,
        "/ConsultationMesuresDetaillees/v3.0",
        cmd3(
            "25855571545617", "2026-11-10", "2026-11-12", "INDEX", "EA", "SERVICE_ACCES"
        ),
    )
    assert response.status_code == 200, response.text
    answer = ET.fromstring(response.content)[0][0]
    values = [
        int(v.findtext("v") or "0")
        for v in answer.findall("contexte/grandeur/cadranTotalisateur/valeur")
    ]
    assert len(values) == 2
    assert values[1] > values[0]
    assert answer.find("mesuresCorrigees") is None  # INDEX answers omit it
