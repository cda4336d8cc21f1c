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
import json
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


def starts(day: date, minutes: int) -> list[datetime]:
    """The START stamps (Paris, with offset) of a local day's intervals."""
    start, end = (b.astimezone(UTC) for b in local_day_bounds(day))
    out, at = [], start
    while at < end:
        out.append(at.astimezone(PARIS))
        at += timedelta(minutes=minutes)
    return out


@dataclass(frozen=True, slots=True)
class CurveR4x:
    """One R4x Donnees_Courbe: mean powers (kW) START-stamped every ``minutes``."""

    prm: str
    day: date
    kw: tuple[float | None, ...]
    minutes: int = 10
    physical: str = "EA"
    unit: str = "kW"
    business: str = "CONS"
    status: str = "R"
    local_stamps: bool = False  # stamps without offset (not seen upstream; tested)


def r4x_records(curves: Iterable[CurveR4x], *, frequency: str = "Q") -> Iterator[bytes]:
    """The XML of an R4x document (root ``Courbe``), one ``Corps`` per PRM
    (enedis.md §3.5: values as attributes, ``Horodatage`` the START)."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Courbe><Entete>'
        b"<Identifiant_Flux>R4x</Identifiant_Flux>"
        b"<Libelle_Flux>Courbe de charge</Libelle_Flux>"
        b"<Identifiant_Emetteur>ENEDIS</Identifiant_Emetteur>"
        b"<Identifiant_Destinataire>SEN1</Identifiant_Destinataire>"
        b"<Date_Creation>2026-03-02T03:00:00+01:00</Date_Creation>"
        + f"<Frequence_Publication>{frequency}</Frequence_Publication>".encode()
        + b"<Reference_Demande>M0R4X001</Reference_Demande>"
        b"<Nature_De_Courbe_Demandee>Brute</Nature_De_Courbe_Demandee></Entete>"
    )
    for c in curves:
        stamps = starts(c.day, c.minutes)
        start, end = local_day_bounds(c.day)
        parts = [
            f"<Corps><Identifiant_PRM>{c.prm}</Identifiant_PRM><Donnees_Courbe>"
            f"<Horodatage_Debut>{start.isoformat()}</Horodatage_Debut>"
            f"<Horodatage_Fin>{(end - timedelta(seconds=1)).isoformat()}</Horodatage_Fin>"
            f"<Granularite>{c.minutes}</Granularite><Unite_Mesure>{c.unit}</Unite_Mesure>"
            f"<Grandeur_Metier>{c.business}</Grandeur_Metier>"
            f"<Grandeur_Physique>{c.physical}</Grandeur_Physique>"
        ]
        for at, kw in zip(stamps, c.kw, strict=True):
            text = (
                at.strftime("%Y-%m-%dT%H:%M:%S") if c.local_stamps else at.isoformat()
            )
            if kw is None:
                parts.append(f'<Donnees_Point_Mesure Horodatage="{text}"/>')
            else:
                parts.append(
                    f'<Donnees_Point_Mesure Horodatage="{text}" '
                    f'Valeur_Point="{kw}" Statut_Point="{c.status}"/>'
                )
        parts.append("</Donnees_Courbe></Corps>")
        yield "".join(parts).encode()
    yield b"</Courbe>\n"


# ------------------------------------------------------- M023 results (R63/R64/C68)


def _naive(at: datetime) -> str:
    return at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class CurveR63:
    """One PRM's R63 curve over a local day: mean powers in W every ``minutes``.

    C5 (30 min) is END-stamped, C1-C4 (10/5 min) START-stamped, as CMD v3.
    """

    prm: str
    day: date
    watts: tuple[int, ...]
    minutes: int = 30


def _r63_points(c: CurveR63) -> list[tuple[str, int]]:
    step = timedelta(minutes=c.minutes)
    stamps = starts(c.day, c.minutes)
    if c.minutes == 30:
        stamps = [(s.astimezone(UTC) + step).astimezone(PARIS) for s in stamps]
    return [(_naive(s), w) for s, w in zip(stamps, c.watts, strict=True)]


def r63_json(curves: Iterable[CurveR63], affaire: str = "M053Q0D3") -> Iterator[bytes]:
    """An R63 JSON document, one ``mesures`` item per piece (header first)."""
    header = {
        "idDemande": affaire,
        "codeFlux": "R63",
        "modePublication": "P",
        "format": "JSON",
    }
    yield b'{"header": ' + json.dumps(header).encode() + b', "mesures": ['
    for i, c in enumerate(curves):
        item = {
            "idPrm": c.prm,
            "etapeMetier": "BRUT",
            "modeCalcul": "BRUT",
            "periode": {
                "dateDebut": c.day.isoformat(),
                "dateFin": (c.day + timedelta(days=1)).isoformat(),
            },
            "grandeur": [
                {
                    "grandeurMetier": "CONS",
                    "grandeurPhysique": "PA",
                    "unite": "W",
                    "points": [
                        {
                            "d": d,
                            "v": w,
                            "p": f"PT{c.minutes}M",
                            "n": "B",
                            "tc": "",
                            "iv": 0,
                            "ec": 0,
                        }
                        for d, w in _r63_points(c)
                    ],
                }
            ],
        }
        yield (b", " if i else b"") + json.dumps(item).encode()
    yield b"]}\n"


R63_CSV_COLUMNS = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;"
    "Etape métier;Unité;Horodate;Valeur;Nature;Pas;Indice de vraisemblance;"
    "Etat complémentaire"
)


def r63_csv(curves: Iterable[CurveR63]) -> Iterator[bytes]:
    """An R63 CSV (``;``, UTF-8 with BOM), one row per point (enedis.md §3.7)."""
    yield ("\ufeff" + R63_CSV_COLUMNS + "\n").encode()
    for c in curves:
        first, last = c.day.isoformat(), (c.day + timedelta(days=1)).isoformat()
        yield "".join(
            f"{c.prm};{first};{last};PA;CONS;BRUT;W;{d};{w};B;PT{c.minutes}M;0;0\n"
            for d, w in _r63_points(c)
        ).encode()


@dataclass(frozen=True, slots=True)
class IndexR64:
    """One PRM's R64 indexes: per day D the register at the START of D (Wh)."""

    prm: str
    values: tuple[tuple[date, tuple[tuple[str, int], ...]], ...]  # day, (class, Wh)
    supplier: bool = True  # also the supplier grid (same energy, other split)


def r64_json(items: Iterable[IndexR64], affaire: str = "M06IFF1Z") -> Iterator[bytes]:
    """An R64 JSON document (the ELC fixture's tree), one ``mesures`` item per piece."""
    header = {
        "idDemande": affaire,
        "codeFlux": "R64",
        "modePublication": "P",
        "format": "JSON",
    }
    yield b'{"header": ' + json.dumps(header).encode() + b', "mesures": ['
    for i, item in enumerate(items):
        classes: dict[str, list[dict[str, object]]] = {}
        totals = []
        for day, per_class in item.values:
            for klass, wh in per_class:
                classes.setdefault(klass, []).append(
                    {"d": f"{day.isoformat()} 00:00:00", "v": wh, "iv": 0}
                )
            totals.append(
                {
                    "d": f"{day.isoformat()} 00:00:00",
                    "v": sum(v for _, v in per_class),
                    "iv": 0,
                }
            )
        calendars = [
            {
                "idCalendrier": "DI000003",
                "libelleCalendrier": "Distributeur 4 postes",
                "libelleGrille": "Distributeur",
                "classeTemporelle": [
                    {
                        "idClasseTemporelle": k,
                        "libelleClasseTemporelle": k,
                        "codeCadran": f"IDX_EAS_D{n}",
                        "valeur": v,
                    }
                    for n, (k, v) in enumerate(classes.items(), start=1)
                ],
            }
        ]
        if item.supplier:
            calendars.append(
                {
                    "idCalendrier": "FC000012",
                    "libelleCalendrier": "Base",
                    "libelleGrille": "Fournisseur",
                    "classeTemporelle": [
                        {
                            "idClasseTemporelle": "BASE",
                            "codeCadran": "IDX_EAS_F1",
                            "valeur": totals,
                        }
                    ],
                }
            )
        mesure = {
            "idPrm": item.prm,
            "periode": {"dateDebut": "", "dateFin": ""},
            "contexte": [
                {
                    "etapeMetier": "BRUT",
                    "contexteReleve": "COL",
                    "typeReleve": "AQ",
                    "grandeur": [
                        {
                            "grandeurMetier": "CONS",
                            "grandeurPhysique": "EA",
                            "unite": "Wh",
                            "calendrier": calendars,
                            "cadranTotalisateur": {
                                "codeCadran": "IDX_EAS_T",
                                "valeur": totals,
                            },
                        }
                    ],
                }
            ],
        }
        yield (b", " if i else b"") + json.dumps(mesure).encode()
    yield b"]}\n"


R64_CSV_COLUMNS = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;"
    "Etape métier;Unité;Horodate;Contexte de relève;Type de relève;"
    "Identifiant calendrier;Libellé grille;Identifiant classe temporelle;Cadran;"
    "Valeur;Indice de vraisemblance"
)


def r64_csv(items: Iterable[IndexR64]) -> Iterator[bytes]:
    """An R64 CSV: the JSON tree flattened one register value per row.

    The column names are SEN1's reading of the JSON fields (the R6X CSV guide
    was not available): the parser finds columns by name, not by position.
    """
    yield ("\ufeff" + R64_CSV_COLUMNS + "\n").encode()
    for item in items:
        rows = []
        for day, per_class in item.values:
            for n, (klass, wh) in enumerate(per_class, start=1):
                rows.append(
                    f"{item.prm};;;EA;CONS;BRUT;Wh;{day.isoformat()} 00:00:00;COL;AQ;"
                    f"DI000003;Distributeur;{klass};IDX_EAS_D{n};{wh};0\n"
                )
            if item.supplier:
                rows.append(
                    f"{item.prm};;;EA;CONS;BRUT;Wh;{day.isoformat()} 00:00:00;COL;AQ;"
                    f"FC000012;Fournisseur;BASE;IDX_EAS_F1;{sum(v for _, v in per_class)};0\n"
                )
        yield "".join(rows).encode()


@dataclass(frozen=True, slots=True)
class Technical:
    """One PRM's C68 technical and contractual data (the fields SEN1 reads)."""

    prm: str
    segment: str = "C5"
    state: str = "SERVC"
    tariff: str = "BTINFCUST"
    tension: str = "BTINF"
    subscribed_kva: float = 36
    siret: str = ""


def c68_json(items: Iterable[Technical]) -> Iterator[bytes]:
    """A C68 JSON: an array with one object per PRM (PROM's field names)."""
    yield b"["
    for i, t in enumerate(items):
        item = {
            "idPrm": t.prm,
            "segment": t.segment,
            "etatContractuel": t.state,
            "formuleTarifaireAcheminement": t.tariff,
            "domaineTension": t.tension,
            "puissanceSouscrite": {"valeur": t.subscribed_kva, "unite": "kVA"},
            "siret": t.siret,
        }
        yield (b", " if i else b"") + json.dumps(item).encode()
    yield b"]\n"


C68_CSV_COLUMNS = (
    "Identifiant PRM;Segment;Etat contractuel;Formule tarifaire acheminement;"
    "Domaine de tension;Puissance souscrite;SIRET"
)


def c68_csv(items: Iterable[Technical]) -> Iterator[bytes]:
    """A C68 CSV: one row per PRM, powers as ``"36 kVA"`` strings (PROM)."""
    yield ("\ufeff" + C68_CSV_COLUMNS + "\n").encode()
    for t in items:
        kva = f"{t.subscribed_kva:g}"
        yield (
            f"{t.prm};{t.segment};{t.state};{t.tariff};{t.tension};{kva} kVA;{t.siret}\n"
        ).encode()
