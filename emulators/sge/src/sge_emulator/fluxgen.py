"""Flux files written from the documented structure, for the tests and the bench.

Enedis' sample files carry no licence, so SEN1 never copies them: this module
writes R50, R151 and R171 documents from the element trees of enedis.md §3.2-
§3.4, zips them (optionally inside another ZIP) and encrypts them the two ways
SGE does. Everything streams (XML written record by record into the ZIP, the ZIP
encrypted chunk by chunk), so the bench can write a file of 10,000 PRMs without
holding it. It lives in the emulator package (never in the shipped
service): the service's tests and the bench import it from here.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from energy_core.domain.time import PARIS, local_day_bounds

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Curve:
    """One PRM's R50 day: mean powers in W, one per 30 min (None = no measure)."""

    prm: str
    day: date
    watts: tuple[int | None, ...]
    doubtful: frozenset[int] = frozenset()


def half_hour_ends(day: date) -> list[datetime]:
    """The END stamps of a local day's half-hours (46, 48 or 50 of them)."""
    start, end = (b.astimezone(UTC) for b in local_day_bounds(day))
    out, at = [], start + timedelta(minutes=30)
    while at <= end:
        out.append(at.astimezone(PARIS))
        at += timedelta(minutes=30)
    return out


def r50_records(curves: Iterable[Curve]) -> Iterator[bytes]:
    """The XML of an R50 document, piece by piece (header, one PRM at a time)."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<R50><En_Tete_Flux>'
        b"<Identifiant_Flux>R50</Identifiant_Flux>"
        b"<Libelle_Flux>Courbes de charge des PRM du segment C5 sur abonnement"
        b"</Libelle_Flux><Version_XSD>1.1.0</Version_XSD>"
        b"<Identifiant_Emetteur>ERDF</Identifiant_Emetteur>"
        b"<Identifiant_Destinataire>SEN1</Identifiant_Destinataire>"
        b"<Date_Creation>2026-03-02T03:00:00+01:00</Date_Creation>"
        b"<Identifiant_Contrat>GRD-F000</Identifiant_Contrat>"
        b"<Numero_Abonnement>1</Numero_Abonnement>"
        b"<Pas_Publication>30</Pas_Publication></En_Tete_Flux>"
    )
    for curve in curves:
        parts = [
            f"<PRM><Id_PRM>{curve.prm}</Id_PRM><Donnees_Releve>"
            f"<Date_Releve>{curve.day.isoformat()}</Date_Releve>"
            "<Id_Affaire>M02SXITK</Id_Affaire>"
        ]
        for i, (end, watts) in enumerate(
            zip(half_hour_ends(curve.day), curve.watts, strict=True)
        ):
            stamp = end.isoformat()
            if watts is None:
                parts.append(f"<PDC><H>{stamp}</H></PDC>")
            else:
                iv = 1 if i in curve.doubtful else 0
                parts.append(f"<PDC><H>{stamp}</H><V>{watts}</V><IV>{iv}</IV></PDC>")
        parts.append("</Donnees_Releve></PRM>")
        yield "".join(parts).encode()
    yield b"</R50>\n"


@dataclass(frozen=True, slots=True)
class DailyIndex:
    """One PRM's R151 day: distributor indexes by class (Wh) and max power (VA)."""

    prm: str
    day: date
    indexes: tuple[tuple[str, int], ...]
    max_va: int | None = None


def r151_records(days: Iterable[DailyIndex]) -> Iterator[bytes]:
    """The XML of an R151 document, one PRM per piece."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<R151><En_Tete_Flux>'
        b"<Identifiant_Flux>R151</Identifiant_Flux><Version_XSD>V1</Version_XSD>"
        b"<Identifiant_Emetteur>ERDF</Identifiant_Emetteur>"
        b"<Date_Creation>2026-03-02T03:00:00+01:00</Date_Creation>"
        b"<Unite_Mesure_Index>Wh</Unite_Mesure_Index>"
        b"<Unite_Mesure_Puissance>VA</Unite_Mesure_Puissance></En_Tete_Flux>"
    )
    for item in days:
        parts = [
            f"<PRM><Id_PRM>{item.prm}</Id_PRM><Donnees_Releve>"
            f"<Date_Releve>{item.day.isoformat()}</Date_Releve>"
            "<Id_Calendrier_Fournisseur>FC000012</Id_Calendrier_Fournisseur>"
            "<Id_Calendrier_Distributeur>DI000003</Id_Calendrier_Distributeur>"
            "<Id_Affaire>M02SXITK</Id_Affaire>"
        ]
        for rank, (klass, value) in enumerate(item.indexes, start=1):
            parts.append(
                "<Classe_Temporelle_Distributeur>"
                f"<Id_Classe_Temporelle>{klass}</Id_Classe_Temporelle>"
                f"<Rang_Cadran>{rank}</Rang_Cadran><Valeur>{value}</Valeur>"
                "<Indice_Vraisemblance>0</Indice_Vraisemblance>"
                "</Classe_Temporelle_Distributeur>"
            )
        total = sum(v for _, v in item.indexes)
        parts.append(
            "<Classe_Temporelle><Id_Classe_Temporelle>BASE</Id_Classe_Temporelle>"
            f"<Valeur>{total}</Valeur></Classe_Temporelle>"
        )
        if item.max_va is not None:
            parts.append(
                f"<Puissance_Maximale><Valeur>{item.max_va}</Valeur></Puissance_Maximale>"
            )
        parts.append("</Donnees_Releve></PRM>")
        yield "".join(parts).encode()
    yield b"</R151>\n"


@dataclass(frozen=True, slots=True)
class Series:
    """One R171 series: a PRM's quantity in one temporal class, local end stamps."""

    prm: str
    physical: str
    unit: str
    klass: str
    values: tuple[tuple[str, int], ...]
    business: str = "CONS"


def r171_records(
    series: Iterable[Series], *, qualified: bool = False
) -> Iterator[bytes]:
    """The XML of an R171 document (root ``ns2:R171``; children unqualified
    unless ``qualified``)."""
    p = "ns2:" if qualified else ""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ns2:R171 xmlns:ns2="http://www.enedis.fr/stm/R171">'
        + f"<{p}entete><{p}emetteur>Enedis</{p}emetteur><{p}flux>R171</{p}flux>"
        f"<{p}dateHeureCreation>2026-03-02T02:41:07</{p}dateHeureCreation>"
        f"</{p}entete><{p}serieMesuresDateesListe>".encode()
    )
    for s in series:
        parts = [
            f"<{p}serieMesuresDatees><{p}prmId>{s.prm}</{p}prmId><{p}type>INDEX</{p}type>"
            f"<{p}grandeurMetier>{s.business}</{p}grandeurMetier>"
            f"<{p}grandeurPhysique>{s.physical}</{p}grandeurPhysique>"
            f"<{p}typeCalendrier>D</{p}typeCalendrier>"
            f"<{p}codeClasseTemporelle>{s.klass}</{p}codeClasseTemporelle>"
            f"<{p}unite>{s.unit}</{p}unite><{p}mesuresDateesListe>"
        ]
        for end, value in s.values:
            parts.append(
                f"<{p}mesureDatee><{p}dateFin>{end}</{p}dateFin>"
                f"<{p}valeur>{value}</{p}valeur></{p}mesureDatee>"
            )
        parts.append(f"</{p}mesuresDateesListe></{p}serieMesuresDatees>")
        yield "".join(parts).encode()
    yield f"</{p}serieMesuresDateesListe></ns2:R171>\n".encode()


def write_zip(
    target: IO[bytes], member: str, pieces: Iterable[bytes], *, nested: bool = False
) -> None:
    """Writes ``pieces`` as one deflated member of a ZIP (inside a second ZIP if
    ``nested``), streaming."""
    if nested:
        inner = io.BytesIO()
        write_zip(inner, member, pieces)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as outer:
            outer.writestr(member.rsplit(".", 1)[0] + ".zip", inner.getvalue())
        return
    with (
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        for piece in pieces:
            out.write(piece)


def encrypt_file(
    source: Path, target: Path, key: bytes, *, iv: bytes | None = None
) -> None:
    """AES-CBC + PKCS7 of a file, chunk by chunk: AES-128 with the given fixed IV,
    or AES-256 with a random IV written as the first 16 bytes."""
    dynamic = iv is None
    iv = os.urandom(16) if iv is None else iv
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(128).padder()
    with source.open("rb") as src, target.open("wb") as out:
        if dynamic:
            out.write(iv)
        while chunk := src.read(_CHUNK):
            out.write(encryptor.update(padder.update(chunk)))
        out.write(encryptor.update(padder.finalize()) + encryptor.finalize())


def flux_file(
    target: Path,
    member: str,
    pieces: Iterable[bytes],
    *,
    key: bytes | None,
    iv: bytes | None = None,
    nested: bool = False,
) -> Path:
    """A whole flux file: ZIP of ``pieces`` (nested if asked), encrypted with
    ``key`` (plain ZIP when ``key`` is None)."""
    plain = target.with_suffix(".plain") if key is not None else target
    with plain.open("wb") as out:
        write_zip(out, member, pieces, nested=nested)
    if key is not None:
        encrypt_file(plain, target, key, iv=iv)
        plain.unlink()
    return target
