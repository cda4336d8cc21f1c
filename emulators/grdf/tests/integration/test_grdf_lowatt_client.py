"""lowatt-grdf (PyPI, MIT), unchanged, against the emulator.

lowatt-grdf has no setting for its URLs: ``API.api`` is the class attribute
``https://api.grdf.fr/adict/v2`` and the token URL is chosen among two module
constants by the shape of ``client_id``. What it does honour, through
``requests``, is the standard proxy and CA configuration. So the test runs the
emulator's intercepting proxy, sets ``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE``,
and calls lowatt's own ``API`` and ``StagingAPI`` classes as a user would: no
subclass, no patched constant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lowatt_grdf import api as lowatt_api
from lowatt_grdf import models as lowatt_models

from grdf_emulator import demo_meters
from grdf_emulator.intercept import InterceptProxy, make_certificates
from grdf_emulator.settings import DEMO_SECRET
from sen1_stack.broker import free_port

from .conftest import TODAY, Emulator

pytestmark = pytest.mark.integration

DEMO = demo_meters()[2]


@pytest_asyncio.fixture
async def through_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[Emulator], Any]]:
    """Points every ``requests`` call of this test at an intercepting proxy in
    front of the given emulator, by environment only."""
    certificates = make_certificates(tmp_path / "ca")
    proxies: list[InterceptProxy] = []

    async def attach(emulator: Emulator) -> None:
        port = int(emulator.base.rsplit(":", 1)[1])
        proxy = InterceptProxy(certificates, "127.0.0.1", port)
        proxy_port = free_port()
        await proxy.start("127.0.0.1", proxy_port)
        proxies.append(proxy)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_pem))

    yield attach
    for proxy in proxies:
        await proxy.close()


async def test_lowatt_api_declares_lists_and_collects(
    emulator_factory, through_proxy
) -> None:
    emulator: Emulator = await emulator_factory(requests_per_second=1)
    await through_proxy(emulator)
    client = lowatt_api.API("sen1-demo", DEMO_SECRET)  # Okta-style id -> Okta path
    declaration = lowatt_models.DeclareAccess(
        pce=DEMO.pce,
        code_postal=DEMO.address.code_postal,
        courriel_titulaire=DEMO.holder.courriel,
        nom_titulaire=DEMO.holder.nom,
        date_debut_droit_acces=TODAY.isoformat(),
        date_fin_droit_acces=(TODAY + timedelta(days=365)).isoformat(),
        perim_donnees_conso_debut=(TODAY - timedelta(days=365)).isoformat(),
        perim_donnees_conso_fin=(TODAY + timedelta(days=365)).isoformat(),
        perim_donnees_informatives=True,
        perim_donnees_publiees=True,
        perim_donnees_contractuelles=True,
        perim_donnees_techniques=True,
    )
    await asyncio.to_thread(client.declare_acces, declaration)
    pending = await asyncio.to_thread(client.droits_acces, [DEMO.pce])
    (right,) = [r for r in pending if "id_droit_acces" in r]
    assert right["etat_droit_acces"] == "A valider"
    assert pending[-1]["code_statut_traitement"] == "0000000000"

    await emulator.hook(f"rights/{right['id_droit_acces']}/accept")
    everything = await asyncio.to_thread(client.droits_acces)
    accesses = [
        lowatt_models.converter.structure(item, lowatt_models.Access)
        for item in everything
        if "code_statut_traitement" not in item
    ]
    mine = next(a for a in accesses if a.pce == DEMO.pce)
    assert mine.is_active()
    assert mine.perim_donnees_informatives is True
    assert mine.courriel_titulaire == DEMO.holder.courriel
    await asyncio.to_thread(client.check_consent_validation, [DEMO.pce])

    days = await asyncio.to_thread(
        client.donnees_consos_informatives,
        DEMO.pce,
        (TODAY - timedelta(days=7)).isoformat(),
        TODAY.isoformat(),
    )
    assert [d["consommation"]["journee_gaziere"] for d in days] == [
        (TODAY - timedelta(days=7 - i)).isoformat() for i in range(6)
    ]
    assert all(d["consommation"]["energie"] > 0 for d in days)
    contract = await asyncio.to_thread(client.donnees_contractuelles, DEMO.pce)
    assert contract["donnees_contractuelles"]["car"] > 0
    # one call per second: lowatt's own throttle keeps it under the quota
    assert emulator.state.throttled == 0
    assert emulator.state.calls == 6


async def test_lowatt_staging_api_sofit_and_sandbox_quirks(
    emulator_factory, through_proxy
) -> None:
    # a sandbox id starting "grdf_" makes lowatt use the old SOFIT token path
    emulator: Emulator = await emulator_factory(
        requests_per_second=1, client_id="grdf_sen1"
    )
    await through_proxy(emulator)
    client = lowatt_api.StagingAPI("grdf_sen1", DEMO_SECRET)
    rights = await asyncio.to_thread(client.droits_acces)  # pretty-printed, "}{"
    states = {r["id_pce"]: r["etat_droit_acces"] for r in rights if "id_pce" in r}
    assert states["09999999932770"] == "Révoquée"
    injections = await asyncio.to_thread(  # the sandbox's misspelt path
        client.donnees_injections_publiees, "GI151947", "2026-01-01", "2026-04-01"
    )
    assert [i["injection"]["sens_flux_gaz"] for i in injections] == ["Production"] * 3
    technical = await asyncio.to_thread(client.donnees_techniques, "09999999900617")
    assert (
        technical["donnees_techniques"]["situation_compteur"]["code_postal"] == "75015"
    )
