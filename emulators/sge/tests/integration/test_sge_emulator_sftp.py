"""Subscribe over SOAP, advance a night, fetch the encrypted flux files over real SFTP."""

# ruff: noqa: S314 - the XML parsed here is the emulator's own output

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import asyncssh
import httpx
import pytest

from sge_emulator import Emulator
from sge_emulator.crypto import decrypt, parse_keys
from sge_emulator.settings import DEMO_CONTRACT, DEMO_LOGIN, SFTP_PASSWORD, SFTP_USER
from sge_emulator.testing import SAD_PATH, SOAP_HEADERS, access_services_order

from .test_sge_emulator_soap import collecte, envelope, post

pytestmark = pytest.mark.integration

C5_A = "25884515170669"
C5_B = "24377424002398"


async def _files(emulator: Emulator, folder: str = ".") -> dict[str, bytes]:
    """The ZIP files of ``folder`` on the drop, by name, fetched over SFTP."""
    async with (
        asyncssh.connect(
            emulator.settings.host,
            emulator.settings.sftp_port,
            username=SFTP_USER,
            password=SFTP_PASSWORD,
            known_hosts=None,
        ) as connection,
        connection.start_sftp_client() as sftp,
    ):
        out = {}
        for name in await sftp.listdir(folder):
            if name.endswith(".zip"):
                async with sftp.open(f"{folder}/{name}", "rb") as handle:
                    out[name] = await handle.read()
        return out


def _open(emulator: Emulator, data: bytes, version: int) -> ET.Element:
    key = parse_keys(emulator.settings.keys)[version].key
    plain = decrypt(data, key, cipher="aes256")
    assert plain[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        [member] = archive.namelist()
        return ET.fromstring(archive.read(member))


async def _subscribe_sad(mtls: httpx.AsyncClient, prm: str, kind: str) -> None:
    body = access_services_order(prm, kind)
    response = await mtls.post(SAD_PATH, content=body, headers=SOAP_HEADERS)
    assert response.status_code == 200, response.text


async def test_a_night_drops_r50_and_r151_for_exactly_the_subscribed_points(
    emulator: Emulator, mtls: httpx.AsyncClient
) -> None:
    # The homologation seed (ASS-R1's CDC service on C5_A) is there; the test
    # removes it so that it controls every subscription itself.
    stop = await mtls.get("/_emulator/subscriptions")
    assert any(s["serviceSouscritId"] == "47761068" for s in stop.json())
    emulator.state.subscriptions.clear()
    assert (await _files(emulator)) == {}

    created = await post(
        mtls,
        "/CommandeCollectePublicationMesures/v3.0",
        collecte(C5_A, "2026-11-23", "2027-11-01", kind="CDC"),
    )
    assert created.status_code == 200, created.text
    await _subscribe_sad(mtls, C5_B, "IDX")

    advanced = await mtls.post("/_emulator/advance", params={"nights": 1})
    assert advanced.status_code == 200
    assert advanced.json()["today"] == "2026-11-24"
    files = await _files(emulator)
    r50 = [n for n in files if n.startswith("ERDF_R50_23X--130624--EE1_GRD-F121_")]
    r151 = [n for n in files if n.startswith("ERDF_R151_23X--130624--EE1_GRD-F121_")]
    assert len(r50) == 1
    assert len(r151) == 1
    assert len(files) == 2

    curve = _open(emulator, files[r50[0]], 1)
    assert curve.tag == "R50"
    assert [e.text for e in curve.iter("Id_PRM")] == [C5_A]
    stamps = [h.text for h in curve.iter("H")]
    assert len(stamps) == 48
    assert stamps[0] == "2026-11-23T00:30:00+01:00"
    assert stamps[-1] == "2026-11-24T00:00:00+01:00"

    index = _open(emulator, files[r151[0]], 1)
    assert [e.text for e in index.iter("Id_PRM")] == [C5_B]
    assert index.findtext("PRM/Donnees_Releve/Date_Releve") == "2026-11-23"
    assert (
        int(index.findtext("PRM/Donnees_Releve/Puissance_Maximale/Valeur") or "0") > 0
    )

    # Raw bytes are not a ZIP: they are encrypted (IV first, then ciphertext).
    assert not files[r50[0]].startswith(b"PK")


async def test_rotated_key_is_used_the_next_night_and_the_old_one_fails(
    emulator: Emulator, mtls: httpx.AsyncClient
) -> None:
    emulator.state.subscriptions.clear()
    await _subscribe_sad(mtls, C5_B, "CDC")
    rotated = await mtls.post("/_emulator/rotate-key")
    assert rotated.json() == {"key_version": 2}
    await mtls.post("/_emulator/advance")
    files = await _files(emulator)
    [name] = [n for n in files if "_R50_" in n]
    assert [e.text for e in _open(emulator, files[name], 2).iter("Id_PRM")] == [C5_B]
    with pytest.raises(
        ValueError, match="padding"
    ):  # the PKCS7 check refuses the wrong key
        _open(emulator, files[name], 1)


async def test_sftp_refuses_a_wrong_password(emulator: Emulator) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            emulator.settings.host,
            emulator.settings.sftp_port,
            username=SFTP_USER,
            password="wrong",
            known_hosts=None,
        )


async def test_a_bulk_order_is_an_affaire_id_then_a_file(
    emulator: Emulator, mtls: httpx.AsyncClient
) -> None:
    from sge_emulator.services import MFI_NS

    body = envelope(
        MFI_NS,
        "demandePublicationMesuresFines",
        f"<donneesGenerales><initiateurLogin>{DEMO_LOGIN}</initiateurLogin><contratId>{DEMO_CONTRACT}</contratId></donneesGenerales>"
        "<demande><format>JSON</format><pointIds><pointId>25150217034354</pointId><pointId>25825036170379</pointId></pointIds>"
        "<mesuresTypeCode>ENERGIE</mesuresTypeCode><dateDebut>2026-10-01</dateDebut><dateFin>2026-10-08</dateFin><sens>SOUTIRAGE</sens><cadreAcces>ACCORD_CLIENT</cadreAcces></demande>",
    )
    response = await post(mtls, "/CommandeHistoriqueDonneesMesuresFines/v1.0", body)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.find("{http://schemas.xmlsoap.org/soap/envelope/}Header") is None
    affaire = root[0][0].text
    assert affaire
    assert len(affaire) == 8
    await mtls.post("/_emulator/advance")
    files = await _files(emulator, "R63_R64_R65_R66_R67_C68")
    [name] = [n for n in files if affaire in n]
    assert name.startswith(f"ENEDIS_R65_P_CdC_{affaire}_00001_")
    data = files[name]
    key = parse_keys(emulator.settings.keys)[1].key
    with zipfile.ZipFile(io.BytesIO(decrypt(data, key, cipher="aes256"))) as archive:
        import json

        document = json.loads(archive.read(archive.namelist()[0]))
    assert {m["idPrm"] for m in document["mesures"]} == {
        "25150217034354",
        "25825036170379",
    }
    assert len(document["mesures"][0]["grandeur"][0]["points"]) == 7
