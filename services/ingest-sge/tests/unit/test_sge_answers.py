"""SGE answers read from their XML: what each documented element becomes, and
what happens when optional parts are absent (None or empty, never a guess)."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from energy_core.errors import PayloadInvalidError
from ingest_sge.client import answers

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _root(ns: str, local: str, inner: str) -> etree._Element:
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Header/><soap:Body>'
        f'<ns3:{local} xmlns:ns3="{ns}">{inner}</ns3:{local}>'
        "</soap:Body></soap:Envelope>"
    ).encode()
    return answers.body_root(envelope)


ADP = """<point id="09111642617347"><donneesGenerales><etatContractuel code="SERVC"/>
<adresseInstallation><numeroEtNomVoie>3 RUE DES ECOLES</numeroEtNomVoie>
<codePostal>38130</codePostal><commune code="38151"><libelle>ECHIROLLES</libelle></commune>
</adresseInstallation><segment code="C5"/><niveauOuvertureServices code="2"/></donneesGenerales>
<situationAlimentation><alimentationPrincipale><domaineTension code="BTINF"/>
<puissanceRaccordementSoutirage><valeur>36</valeur><unite>kVA</unite></puissanceRaccordementSoutirage>
</alimentationPrincipale></situationAlimentation>
<situationComptage><dispositifComptage><typeComptage code="LINKY"/><compteurs>
<compteur><matricule>012345678901</matricule></compteur></compteurs>
<relais><plageHeuresCreuses>HC (2H00-7H00;14H00-17H00)</plageHeuresCreuses></relais>
</dispositifComptage></situationComptage>
{contract}</point>"""
CONTRACT = """<situationContractuelle><structureTarifaire>
<formuleTarifaireAcheminement code="BTINFCUST"><libelle>Courte utilisation</libelle></formuleTarifaireAcheminement>
<puissanceSouscriteMax><valeur>12</valeur><unite>kVA</unite></puissanceSouscriteMax>
</structureTarifaire></situationContractuelle>"""


def test_technical_data_reads_tariff_power_and_offpeak_hours() -> None:
    facts = answers.technical_data(_root("urn:adp", "r", ADP.format(contract=CONTRACT)))
    assert (facts.prm, facts.segment, facts.c5, facts.services_level) == (
        "09111642617347",
        "C5",
        True,
        "2",
    )
    assert (facts.street, facts.postcode, facts.insee, facts.commune) == (
        "3 RUE DES ECOLES",
        "38130",
        "38151",
        "ECHIROLLES",
    )
    assert (facts.tension, facts.connection_kva, facts.metering) == (
        "BTINF",
        36.0,
        "LINKY",
    )
    assert facts.meter_serials == ("012345678901",)
    # off-peak hours from the relay when the meter carries none
    assert facts.offpeak == ("02:00-07:00", "14:00-17:00")
    assert facts.contractual
    assert (facts.tariff_code, facts.tariff_label) == (
        "BTINFCUST",
        "Courte utilisation",
    )
    assert (facts.subscribed_power, facts.subscribed_power_unit) == (12.0, "kVA")


def test_technical_data_without_contract_or_segment_guesses_nothing() -> None:
    facts = answers.technical_data(
        _root(
            "urn:adp", "r", ADP.format(contract="").replace('<segment code="C5"/>', "")
        )
    )
    assert not facts.contractual
    assert (facts.tariff_code, facts.subscribed_power, facts.segment, facts.c5) == (
        None,
        None,
        None,
        None,
    )
    with pytest.raises(PayloadInvalidError):
        answers.technical_data(_root("urn:adp", "r", "<autre/>"))


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("HC (22H30-6H30)", ("22:30-06:30",)),
        ("HC (23H00-7H00)", ("23:00-07:00",)),
        ("HC (2H00-7H00;14H00-17H00)", ("02:00-07:00", "14:00-17:00")),
        ("Pas d'heures creuses", ()),
        (None, ()),
    ],
)
def test_offpeak_ranges(text: str | None, ranges: tuple[str, ...]) -> None:
    assert answers.offpeak_ranges(text) == ranges


def test_history_is_sorted_oldest_first_with_its_codes() -> None:
    def mesure(start: str, end: str, value: int) -> str:
        return (
            f"<mesure><valeur>{value}</valeur><dateDebut>{start}</dateDebut>"
            f'<dateFin>{end}</dateFin><nature code="REEL"/>'
            '<declencheur code="CYCLIQUE"/><statut code="INITIALE"/></mesure>'
        )

    inner = (
        '<seriesMesuresDateesGrilleTurpe><serie><grandeurPhysique code="EA"/>'
        '<classeTemporelle code="HP"/><calendrier code="DI000002"/><unite>kWh</unite>'
        "<mesuresDatees>"
        + mesure("2026-10-01", "2026-11-01", 420)
        + mesure("2026-09-01", "2026-10-01", 380)
        + "</mesuresDatees></serie></seriesMesuresDateesGrilleTurpe>"
    )
    history = answers.measures_history(_root("urn:ahc", "r", inner))
    assert [(m.start, m.end, m.value) for m in history] == [
        (date(2026, 9, 1), date(2026, 10, 1), 380),
        (date(2026, 10, 1), date(2026, 11, 1), 420),
    ]
    assert {
        (m.grid, m.time_class, m.calendar, m.trigger, m.status) for m in history
    } == {("TURPE", "HP", "DI000002", "CYCLIQUE", "INITIALE")}
    with pytest.raises(PayloadInvalidError):
        answers.measures_history(
            _root(
                "urn:ahc",
                "r",
                "<seriesMesuresDateesGrilleFrn><serie><mesuresDatees><mesure>"
                "<valeur>1</valeur></mesure></mesuresDatees></serie>"
                "</seriesMesuresDateesGrilleFrn>",
            )
        )


def test_found_points_keep_the_address_lines_in_order() -> None:
    inner = (
        '<points><point id="25000000000001"><adresseInstallationNormalisee>'
        "<ligne4>3 RUE DES ECOLES</ligne4><ligne6>38130 ECHIROLLES</ligne6>"
        "<ligne2>ECOLE JEAN MOULIN</ligne2></adresseInstallationNormalisee>"
        '<matricule>0123</matricule><numeroSerie>9876</numeroSerie><typeComptage code="LINKY"/>'
        '<etatContractuel code="SERVC"/><nomClientFinalOuDenominationSociale>COMMUNE'
        "</nomClientFinalOuDenominationSociale></point></points>"
    )
    (point,) = answers.found_points(_root("urn:rp", "r", inner))
    assert point.address == (
        "ECOLE JEAN MOULIN",
        "3 RUE DES ECOLES",
        "38130 ECHIROLLES",
    )
    assert point.meter_serials == ("0123", "9876")
    assert (point.metering, point.contract_state, point.holder) == (
        "LINKY",
        "SERVC",
        "COMMUNE",
    )
    assert answers.found_points(_root("urn:rp", "r", "")) == []  # no match: no points


def test_search_criteria_are_sent_in_the_documented_order() -> None:
    criteria = answers.SearchCriteria(
        name="ECOLE", siret="21380151000017", postcode="38130", street="RUE"
    )
    request = criteria.to_request()
    assert list(request) == [
        "adresseInstallation",
        "numSiret",
        "nomClientFinalOuDenominationSociale",
    ]
    assert list(request["adresseInstallation"]) == ["numeroEtNomVoie", "codePostal"]  # type: ignore[call-overload]
    assert "rechercheHorsPerimetre" not in request
    assert answers.SearchCriteria(siret="1", out_of_perimeter=True).to_request()[
        "rechercheHorsPerimetre"
    ]


def test_orders_and_subscribed_services() -> None:
    order = answers.order(
        _root(
            "urn:ccpm",
            "r",
            "<affaireId>M02SXITK</affaireId><prestations><prestation><rang>1</rang>"
            '<fiche code="F300C"><libelle>x</libelle></fiche><option code="F300CO1">'
            "<libelle>y</libelle></option></prestation></prestations>"
            "<serviceSouscritId>64697749</serviceSouscritId>",
        )
    )
    assert order == answers.Order(
        "M02SXITK", "64697749", (answers.Prestation("F300C", "F300CO1"),)
    )
    (service,) = answers.subscribed_services(
        _root(
            "urn:rssm",
            "r",
            "<servicesSouscritsMesures><serviceSouscritMesures>"
            "<serviceSouscritId>64697749</serviceSouscritId><pointId>25884515170669</pointId>"
            '<serviceSouscritType code="F300C"><libelle>x</libelle></serviceSouscritType>'
            "<serviceSouscritLibelle>Courbe</serviceSouscritLibelle><injection>false</injection>"
            "<soutirage>true</soutirage><etatCode>TERMINE</etatCode><dateDebut>2026-01-01</dateDebut>"
            "<dateFin>2026-06-01</dateFin><motifFinLibelle>Arrêt</motifFinLibelle>"
            "<mesuresTypeCode>CDC</mesuresTypeCode><mesuresPas>PT30M</mesuresPas>"
            "</serviceSouscritMesures></servicesSouscritsMesures>",
        )
    )
    assert not service.active
    assert (service.type_code, service.measure_type, service.step) == (
        "F300C",
        "CDC",
        "PT30M",
    )
    assert (service.start, service.end, service.soutirage, service.injection) == (
        date(2026, 1, 1),
        date(2026, 6, 1),
        True,
        False,
    )
    assert service.corrected is None  # absent, not false


def test_m023_answer_is_the_affaire_id_itself() -> None:
    ns = "https://sge-b2b.enedis.fr/services/commandehistoriquedonneesmesuresfines/v1"
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><ns:affaireId xmlns:ns="{ns}">'
        "M05J6FUB</ns:affaireId></soap:Body></soap:Envelope>"
    ).encode()
    assert answers.affaire_id(answers.body_root(envelope)) == "M05J6FUB"
    with pytest.raises(PayloadInvalidError):
        answers.affaire_id(_root(ns, "autre", "M05J6FUB"))


def test_an_answer_that_is_not_soap_is_refused() -> None:
    with pytest.raises(PayloadInvalidError):
        answers.body_root(b"<html>503 Service Unavailable")
    with pytest.raises(PayloadInvalidError):
        answers.body_root(
            f'<s:Envelope xmlns:s="{SOAP}"><s:Body/></s:Envelope>'.encode()
        )
