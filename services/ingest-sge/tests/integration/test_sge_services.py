"""Every SGE SOAP service of the zeep client, over real mutual TLS against
emulators/sge: technical and contractual data, measures history, point search
(and its command line), subscriptions in both models with stop and list, the
M023 bulk orders whose files appear on the SFTP drop, and one fault per
documented code family landing in its branch of the error tree."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from energy_core.errors import ConsentRevokedError, NoDataError, PermanentError
from ingest_sge.client import SftpDrop, SftpTarget, decrypt_file, iter_members
from ingest_sge.client.answers import SearchCriteria
from ingest_sge.client.crypto import parse_keys
from ingest_sge.client.faults import (
    AuthorisationRefusedError,
    MalformedRequestError,
    PeriodRefusedError,
    PointUnknownError,
    SearchCriteriaError,
    SearchTooBroadError,
    ServiceMissingError,
    SgeRequestRefusedError,
)
from ingest_sge.client.soap import SgeSoapClient
from sge_emulator import Emulator
from sge_emulator.settings import (
    DEMO_CONTRACT,
    DEMO_LOGIN,
    SFTP_PASSWORD,
    SFTP_USER,
)

from .emulated import TODAY, WSDL_DIR, advance, mtls, soap_config

pytestmark = pytest.mark.integration

ADP_C5, ADP_C4 = "25946599093143", "98800004847471"
AHC_C4, AHC_C5 = "98800000396971", "25162373298976"
COLLECTE_C5 = "25884515170669"  # the old model's homologation point
SAD_C5 = "25855571545617"  # the access-services model's homologation point
M023_C5 = ("25150217034354", "25825036170379")


@pytest_asyncio.fixture
async def client(emulator: Emulator) -> AsyncIterator[SgeSoapClient]:
    sge = SgeSoapClient(soap_config(emulator))
    try:
        yield sge
    finally:
        await sge.aclose()


async def _advance(emulator: Emulator) -> list[str]:
    async with mtls(emulator) as client:
        return await advance(client)


# ---------------------------------------------------------------- points


async def test_technical_data_of_a_c5_point_with_and_without_authorisation(
    client: SgeSoapClient,
) -> None:
    facts = await client.technical_data(ADP_C5)
    assert (facts.prm, facts.segment, facts.c5) == (ADP_C5, "C5", True)
    assert (facts.contract_state, facts.tension, facts.metering) == (
        "SERVC",
        "BTINF",
        "LINKY",
    )
    assert facts.contractual
    assert (facts.tariff_code, facts.subscribed_power, facts.subscribed_power_unit) == (
        "BTINFCU4",
        36.0,
        "kVA",
    )
    assert facts.offpeak
    assert all(len(r) == 11 for r in facts.offpeak)  # HH:MM-HH:MM
    assert (facts.postcode, facts.insee) == ("84160", "84042")
    assert len(facts.meter_serials) == 1
    # ADP-R2: without the customer's authorisation, no contractual part
    bare = await client.technical_data(ADP_C5, authorised=False)
    assert not bare.contractual
    assert (bare.tariff_code, bare.subscribed_power) == (None, None)
    assert bare.segment == "C5"


async def test_technical_data_of_a_c4_point(client: SgeSoapClient) -> None:
    facts = await client.technical_data(ADP_C4)
    assert (facts.segment, facts.c5, facts.tension) == ("C4", False, "BTSUP")
    assert (facts.tariff_code, facts.subscribed_power) == ("BTSUPCU4", 132.0)
    assert facts.offpeak == ()


async def test_unknown_point_is_point_unknown(client: SgeSoapClient) -> None:
    with pytest.raises(PointUnknownError) as unknown:
        await client.technical_data("99999999999999")  # ADP-NR1
    assert unknown.value.code == "SGT401"
    assert "point inexistant" in unknown.value.text


async def test_measures_history_is_twelve_contiguous_months(
    client: SgeSoapClient,
) -> None:
    history = await client.measures_history(AHC_C4)
    assert len(history) == 12
    assert {(m.grid, m.physical, m.unit) for m in history} == {("TURPE", "EA", "kWh")}
    assert all(m.value > 0 and m.start < m.end for m in history)
    assert all(m.trigger and m.status and m.nature for m in history)
    for before, after in itertools.pairwise(history):
        assert before.end == after.start  # sorted oldest first, no gap
    assert history[-1].end == TODAY.replace(day=1)


async def test_history_without_authorisation_is_refused(
    client: SgeSoapClient,
) -> None:
    with pytest.raises(AuthorisationRefusedError) as refused:
        await client.measures_history(AHC_C5, authorised=False)  # AHC-NR1
    assert refused.value.code == "SGT4G2"
    assert isinstance(refused.value, ConsentRevokedError)


# ---------------------------------------------------------------- point search


async def test_search_by_siret_address_and_name(client: SgeSoapClient) -> None:
    by_siret = await client.search_points(SearchCriteria(siret="12345678900011"))
    assert len(by_siret) == 13
    assert all(p.prm.startswith(("988", "300")) for p in by_siret)
    assert all(p.address[-1] == "84160 CUCURON" for p in by_siret)  # ligne6
    # RP-R2 / RP-R3: a street, a postcode, a commune and (part of) the name
    by_name = await client.search_points(
        SearchCriteria(
            street="1 RUE DE LA MER", postcode="84160", insee="84042", name="TES"
        )
    )
    assert by_name
    assert all(p.holder == "TEST" for p in by_name)
    assert {p.prm for p in by_siret} <= {p.prm for p in by_name}
    # the demo's public buildings, found by the city's SIRET
    city = await client.search_points(SearchCriteria(siret="21380151000017"))
    assert city
    assert all(p.holder == "COMMUNE D ECHIROLLES" for p in city)
    assert all(p.address[-1] == "38130 ECHIROLLES" for p in city)
    nothing = await client.search_points(
        SearchCriteria(postcode="75001", name="PERSONNE")
    )
    assert nothing == []


async def test_search_limits(client: SgeSoapClient) -> None:
    with pytest.raises(SearchTooBroadError) as broad:  # RP-NR1: > 200 points
        await client.search_points(
            SearchCriteria(postcode="84160", insee="84042", category="RES")
        )
    assert broad.value.code == "SGT4F8"
    with pytest.raises(SearchCriteriaError) as vague:  # RP-NR2
        await client.search_points(
            SearchCriteria(insee="34231", street="1 RUE DE LA MER")
        )
    assert vague.value.code == "SGT4F7"
    with pytest.raises(SearchCriteriaError):  # a name needs 3 characters
        await client.search_points(SearchCriteria(postcode="84160", name="TE"))


async def test_search_command_line(emulator: Emulator) -> None:
    pki = emulator.pki
    env = {
        **os.environ,
        "INGEST_SGE_SOAP_BASE_URL": emulator.base_url,
        "INGEST_SGE_SOAP_WSDL_DIR": str(WSDL_DIR),
        "INGEST_SGE_SOAP_LOGIN": DEMO_LOGIN,
        "INGEST_SGE_SOAP_CONTRACT_ID": DEMO_CONTRACT,
        "INGEST_SGE_SOAP_CERT_FILE": str(pki.client_pem),
        "INGEST_SGE_SOAP_KEY_FILE": str(pki.client_key),
        "INGEST_SGE_SOAP_CA_FILE": str(pki.ca_pem),
    }

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ingest_sge",
            "search",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    status, out, _ = await run("--siret", "12345678900011")
    assert status == 0
    found = [json.loads(line) for line in out.splitlines()]
    assert len(found) == 13
    assert all(len(p["prm"]) == 14 and p["address"] for p in found)
    status, out, err = await run(
        "--postcode", "84160", "--insee", "84042", "--category", "RES"
    )
    assert (status, out) == (3, "")
    assert json.loads(err.splitlines()[-1])["code"] == "SGT4F8"


# ---------------------------------------------------------------- subscriptions


async def test_old_model_subscribe_list_and_stop(client: SgeSoapClient) -> None:
    end = TODAY + timedelta(days=300)
    order = await client.collect_publish(
        COLLECTE_C5, kind="IDX", start=TODAY, end=end, holder="COMMUNE DE TEST"
    )
    assert order is not None
    assert order.affaire_id
    assert order.service_id
    assert len(order.affaire_id) == 8
    assert [p.fiche for p in order.prestations] == ["F305"]
    again = await client.collect_publish(
        COLLECTE_C5, kind="IDX", start=TODAY, end=end, holder="COMMUNE DE TEST"
    )
    assert again is None  # SGT570: already active, a success
    services = {s.service_id: s for s in await client.subscribed_services(COLLECTE_C5)}
    assert services[order.service_id].active
    assert services[order.service_id].measure_type == "IDX"
    assert services[order.service_id].end == end
    assert "47761068" in services  # ASS-R1's seeded curve service
    stopped = await client.stop_service(COLLECTE_C5, order.service_id)
    assert stopped.affaire_id
    assert stopped.affaire_id != order.affaire_id
    after = {s.service_id: s for s in await client.subscribed_services(COLLECTE_C5)}
    assert not after[order.service_id].active
    assert after[order.service_id].state == "TERMINE"
    with pytest.raises(SgeRequestRefusedError) as twice:
        await client.stop_service(COLLECTE_C5, order.service_id)
    assert twice.value.code == "SGT400"


async def test_both_models_share_one_subscription_state(
    client: SgeSoapClient, emulator: Emulator
) -> None:
    emulator.state.subscriptions.clear()
    service_id = await client.subscribe(SAD_C5, data="CDC")  # access-services model
    assert service_id
    # the older model sees it: same kind on the same point is already active
    assert (
        await client.collect_publish(
            SAD_C5,
            kind="CDC",
            start=TODAY,
            end=TODAY + timedelta(days=200),
            holder="COMMUNE DE TEST",
        )
        is None
    )
    listed = await client.subscribed_services(SAD_C5)
    assert [(s.service_id, s.measure_type, s.active) for s in listed] == [
        (service_id, "CDC", True)
    ]
    assert any(f.startswith("ERDF_R50_") for f in await _advance(emulator))
    await client.stop_service(SAD_C5, service_id)  # stopped through the old model
    assert not any(f.startswith("ERDF_R50_") for f in await _advance(emulator))
    # and it can be subscribed again in the new model once stopped
    assert await client.subscribe(SAD_C5, data="CDC")
    # the other way round: indexes ordered in the older model are active for the newer
    today = emulator.state.today  # two nights later: a C5 order starts today
    indexes = await client.collect_publish(
        SAD_C5,
        kind="IDX",
        start=today,
        end=today + timedelta(days=200),
        holder="COMMUNE DE TEST",
    )
    assert indexes is not None
    assert await client.subscribe(SAD_C5, data="IDX") is None  # SGT570
    active = {
        s.measure_type for s in await client.subscribed_services(SAD_C5) if s.active
    }
    assert active == {"CDC", "IDX"}


# ---------------------------------------------------------------- M023 bulk orders


async def _dropped(
    emulator: Emulator, tmp_path: Path, affaire: str
) -> dict[str, list[bytes]]:
    """Downloads (SFTP) and decrypts the files named after ``affaire``."""
    target = SftpTarget(
        emulator.settings.host,
        emulator.settings.sftp_port,
        SFTP_USER,
        SFTP_PASSWORD,
        None,
        None,
        "R63_R64_R65_R66_R67_C68",
        (f"*_{affaire}_*.zip",),
        10.0,
    )
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    keys = parse_keys(emulator.settings.keys)
    out: dict[str, list[bytes]] = {}
    async with SftpDrop(target, spool) as drop:
        for remote in await drop.list():
            local = await drop.download(remote)
            plain = spool / f"{remote.name}.plain"
            decrypt_file(local.path, plain, keys)
            out[remote.name] = [stream.read() for _, stream in iter_members(plain)]
    return out


async def test_bulk_orders_drop_files_for_the_ordered_points(
    client: SgeSoapClient, emulator: Emulator, tmp_path: Path
) -> None:
    fine = await client.order_fine_data(
        M023_C5,
        measure="INDEX",
        start=TODAY - timedelta(days=10),
        end=TODAY - timedelta(days=3),
    )
    billing = await client.order_billing_data(
        M023_C5[:1], start=TODAY - timedelta(days=60), end=TODAY - timedelta(days=1)
    )
    technical = await client.order_technical_data(M023_C5)
    assert len({fine, billing, technical}) == 3
    assert all(4 <= len(a) <= 8 and a.isalnum() for a in (fine, billing, technical))
    for affaire in (fine, billing, technical):  # nothing before the night
        assert not list(emulator.drop.rglob(f"*_{affaire}_*"))
    await _advance(emulator)
    for affaire, code, prms in (
        (fine, "R64_P_INDEX", M023_C5),
        (billing, "R67_P_", M023_C5[:1]),
        (technical, "C68_P_ITC", M023_C5),
    ):
        files = await _dropped(emulator, tmp_path, affaire)
        assert len(files) == 1, files
        (name,) = files
        assert name.startswith(f"ENEDIS_{code}")
        assert f"_{affaire}_00001_" in name
        text = b"".join(files[name]).decode()
        for prm in prms:
            assert prm in text
        others = set(M023_C5) - set(prms)
        assert not any(prm in text for prm in others)


async def test_bulk_order_limits(client: SgeSoapClient) -> None:
    with pytest.raises(PeriodRefusedError) as too_old:  # MFI-NR1: > 24 months
        await client.order_fine_data(
            M023_C5,
            measure="COURBES",
            start=date(2020, 1, 1),
            end=date(2020, 1, 8),
        )
    assert too_old.value.code == "SGT4L8"
    calls = client.requests
    with pytest.raises(ValueError, match="10000"):
        await client.order_technical_data([f"{i:014d}" for i in range(10_001)])
    assert client.requests == calls  # refused before any call


# ---------------------------------------------------------------- faults


async def test_each_documented_fault_family_over_mtls(
    client: SgeSoapClient, emulator: Emulator
) -> None:
    emulator.state.subscriptions.clear()
    with pytest.raises(ServiceMissingError) as missing:
        await client.detailed_measures(
            AHC_C5,
            measure="INDEX",
            physical="EA",
            start=TODAY - timedelta(days=5),
            end=TODAY - timedelta(days=3),
            access="SERVICE_ACCES",
        )
    assert missing.value.code == "SGT211"
    with pytest.raises(MalformedRequestError) as malformed:
        await client.detailed_measures(
            AHC_C5,
            measure="INDEX",
            physical="PA",
            start=TODAY - timedelta(days=5),
            end=TODAY - timedelta(days=3),
        )
    assert malformed.value.code == "SGT562"
    with pytest.raises(MalformedRequestError) as kind:
        await client.collect_publish(
            COLLECTE_C5,
            kind="COURBE",
            start=TODAY,
            end=TODAY + timedelta(days=30),
            holder="X",
        )
    assert kind.value.code == "SGT4Q1"
    with pytest.raises(NoDataError) as nodata:
        await client.detailed_measures(
            AHC_C5,
            measure="ENERGIE",
            physical="EA",
            start=TODAY + timedelta(days=1),
            end=TODAY + timedelta(days=3),
        )
    assert nodata.value.code == "SGT4G3"  # type: ignore[attr-defined]
    with pytest.raises(PeriodRefusedError) as year:
        await client.collect_publish(
            COLLECTE_C5, kind="IDX", start=TODAY, end=date(2100, 1, 1), holder="X"
        )
    assert year.value.code == "SGT4H4"
    stranger = SgeSoapClient(soap_config(emulator, contract="9999999"))
    try:
        with pytest.raises(AuthorisationRefusedError) as contract:
            await stranger.measures_history(AHC_C4)
    finally:
        await stranger.aclose()
    assert contract.value.code == "SGT4G2"
    for error in (missing, malformed, kind, year, contract):
        assert isinstance(error.value, PermanentError)
