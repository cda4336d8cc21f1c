"""lowatt-enedis 3.3.2 (PyPI, GPLv3, suds), unchanged, against the emulator over mTLS.

lowatt-enedis has no endpoint setting: it reads each service's address from the
WSDL it ships and rewrites it to ``https://sge-ws.enedis.fr/...``. What it does
honour is the standard ``https_proxy`` (urllib's default ``ProxyHandler``), so
the emulator's CONNECT proxy tunnels that host to the mTLS listener, whose
certificate names ``sge-ws.enedis.fr``. TLS, client certificate included, runs
end to end. For trust lowatt reads only ``certifi.where()``; the test points
that at a copy of certifi's bundle with the emulator's CA appended, which is
what an operator does by appending a CA to the bundle. No lowatt function,
class or constant is patched or subclassed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import certifi
import pytest
from lowatt_enedis import WSException, get_client
from lowatt_enedis import services as lowatt

from sge_emulator import Emulator
from sge_emulator.settings import DEMO_CONTRACT, DEMO_LOGIN

pytestmark = pytest.mark.integration

ORIGINAL_BUNDLE = certifi.where()


@pytest.fixture
def through_proxy(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Emulator:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        Path(ORIGINAL_BUNDLE).read_bytes() + emulator.pki.ca_pem.read_bytes()
    )
    monkeypatch.setattr(certifi, "where", lambda: str(bundle))
    for name in (
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    proxy = f"http://127.0.0.1:{emulator.settings.proxy_port}"
    monkeypatch.setenv("https_proxy", proxy)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    return emulator


def _call(emulator: Emulator, service: str, func: Any, **options: Any) -> Any:
    client = get_client(
        service, str(emulator.pki.client_pem), str(emulator.pki.client_key)
    )
    args = SimpleNamespace(login=DEMO_LOGIN, contrat=DEMO_CONTRACT, **options)
    return func(client, args)


async def _lowatt(emulator: Emulator, service: str, func: Any, **options: Any) -> Any:
    """One lowatt call (suds blocks: it runs in a thread)."""
    return await asyncio.to_thread(_call, emulator, service, func, **options)


_SEARCH_FIELDS = [
    "siret",
    "compteur",
    "tension",
    "nom",
    "categorie",
    "hp",
    "etage",
    "batiment",
    "voie",
    "lieuDit",
    "cp",
    "insee",
]


async def _search_point(emulator: Emulator, **criteria: str) -> Any:
    """lowatt's point search with every criterion it reads, unset unless given."""
    options: dict[str, Any] = dict.fromkeys(_SEARCH_FIELDS) | criteria
    return await _lowatt(
        emulator, "RecherchePoint-v2.0", lowatt.search_point, **options
    )


def _v3_curve(start: str, end: str) -> dict[str, Any]:
    """lowatt's options for a CMD v3 load curve (``from``/``to`` are keywords)."""
    return {
        "prm": "25162373298976",
        "type": "COURBE",
        "courbe_type": "PA",
        "injection": False,
        "cadre": "ACCORD_CLIENT",
        "from": start,
        "to": end,
        "corrigee": "false",
    }


async def test_lowatt_technical_data(through_proxy: Emulator) -> None:
    point = await _lowatt(
        through_proxy,
        "ConsultationDonneesTechniquesContractuelles-v1.0",
        lowatt.point_technical_data,
        prm="25946599093143",
        autorisation=True,
    )
    assert point._id == "25946599093143"
    assert point.donneesGenerales.etatContractuel._code == "SERVC"
    assert (
        int(
            point.situationContractuelle.structureTarifaire.puissanceSouscriteMax.valeur
        )
        == 36
    )
    # ADP-R2: without the customer's authorisation there is no contractual situation.
    point = await _lowatt(
        through_proxy,
        "ConsultationDonneesTechniquesContractuelles-v1.0",
        lowatt.point_technical_data,
        prm="25946599093143",
        autorisation=False,
    )
    assert (
        not hasattr(point, "situationContractuelle")
        or point.situationContractuelle is None
    )


async def test_lowatt_unknown_point_is_sgt401(through_proxy: Emulator) -> None:
    with pytest.raises(WSException) as caught:
        await _lowatt(
            through_proxy,
            "ConsultationDonneesTechniquesContractuelles-v1.0",
            lowatt.point_technical_data,
            prm="99999999999999",
            autorisation=True,
        )
    assert caught.value.code == "SGT401"
    assert "point inexistant" in caught.value.message


async def test_lowatt_detailed_measures_v3(through_proxy: Emulator) -> None:
    response = await _lowatt(
        through_proxy,
        "ConsultationMesuresDetaillees-v3.0",
        lowatt.point_detailed_measuresV3,
        **_v3_curve("2026-11-02", "2026-11-09"),
    )
    points = response.grandeur[0].points
    assert len(points) == 7 * 48
    assert points[0].d == "2026-11-02 00:30:00"  # C5: end of interval, no offset
    assert points[-1].d == "2026-11-09 00:00:00"
    assert all(int(p.v) > 0 for p in points)
    with pytest.raises(WSException) as caught:
        await _lowatt(
            through_proxy,
            "ConsultationMesuresDetaillees-v3.0",
            lowatt.point_detailed_measuresV3,
            **_v3_curve("2026-11-01", "2026-11-09"),
        )
    assert caught.value.code == "SGT4L8"


async def test_lowatt_point_search(through_proxy: Emulator) -> None:
    response = await _search_point(through_proxy, siret="21380151000017", cp="38130")
    prms = {p._id for p in response.point}
    assert prms
    assert all(p.startswith("2215") for p in prms)
    # RP-NR1: too many results
    with pytest.raises(WSException) as caught:
        await _search_point(through_proxy, categorie="RES", cp="84160", insee="84042")
    assert caught.value.code == "SGT4F8"


async def test_lowatt_measures_history_parses_with_its_own_helper(
    through_proxy: Emulator,
) -> None:
    response = await _lowatt(
        through_proxy,
        "ConsultationMesures-v1.1",
        lowatt.point_measures,
        prm="98800000396971",
        autorisation=True,
    )
    [serie] = list(lowatt.measures_resp2py(response))
    assert serie["grandeurPhysique"] == "EA"
    assert serie["unit"] == "kWh"
    assert len(serie["mesures"]) == 12
    begin, end, value, nature, trigger, status = serie["mesures"][0]
    assert begin < end
    assert value > 0
    assert (nature, trigger, status) == ("REEL", "CYCLIQUE", "INITIALE")
    # AHC-NR1: the C5 point without authorisation
    with pytest.raises(WSException) as caught:
        await _lowatt(
            through_proxy,
            "ConsultationMesures-v1.1",
            lowatt.point_measures,
            prm="25162373298976",
            autorisation=False,
        )
    assert caught.value.code == "SGT4G2"


async def test_lowatt_subscribes_in_the_access_services_model(
    through_proxy: Emulator,
) -> None:
    options = {
        "prm": "25852098337945",
        "to": "2027-06-01",
        "sens": "SOUTIRAGE",
        "type": ["CDC", "IDX"],
        "period": "daily",
        "corrigee": False,
        "denomination": "COMMUNE D ECHIROLLES",
        "nom": None,
        "prenom": None,
        "civilite": None,
        "naf": None,
        "secteur": None,
        "siret": None,
        "no_autorisation": False,
    }
    response = await _lowatt(
        through_proxy,
        "CommanderServicesAccesDonnees-V1.0",
        lowatt.point_cmd_acces_donnees,
        **options,
    )
    # suds unwraps the single child ``affaires``: the response is that list holder.
    assert len(response.affaire) == 2
    kinds = sorted(
        s.kind
        for s in through_proxy.state.subscriptions.values()
        if s.prm == "25852098337945" and s.state == "ACTIF"
    )
    assert kinds == ["CDC", "IDX"]
    with pytest.raises(WSException) as caught:
        await _lowatt(
            through_proxy,
            "CommanderServicesAccesDonnees-V1.0",
            lowatt.point_cmd_acces_donnees,
            **options,
        )
    assert caught.value.code == "SGT570"


@pytest.mark.filterwarnings("ignore:ConsultationMesuresDetaillees-v2.0 is deprecated")
async def test_lowatt_detailed_measures_v2_parse_with_offsets(
    through_proxy: Emulator,
) -> None:
    response = await _lowatt(
        through_proxy,
        "ConsultationMesuresDetaillees-v2.0",
        lowatt.point_detailed_measures,
        prm="25478147557460",
        type="COURBE",
        courbe_type="PA",
        injection=False,
        no_autorisation=False,
        **{"from": "2026-10-25", "to": "2026-10-26", "corrigee": "false"},
    )
    rows = list(lowatt.detailed_measures_resp2py(response))
    assert len(rows) == 50  # the October day, unambiguous thanks to the offsets
    assert len({stamp for stamp, _ in rows}) == 50
    assert rows[0][0].isoformat() == "2026-10-24T22:30:00+00:00"
    assert rows[-1][0].isoformat() == "2026-10-25T23:00:00+00:00"
