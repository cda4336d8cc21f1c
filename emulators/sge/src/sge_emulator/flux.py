"""Flux files: R50, R151, R171, R4Q (XML), R63/R64/R65/R66/R67/C68 (JSON) and HDM (CSV).

Every file is written as a stream (XML text → ZIP member → AES writer → disk),
so an R50 of ten thousand PRMs never sits whole in memory. Names follow the
contract's examples; where an example has no date (R50, R151) a creation stamp
is appended so that two nights never overwrite each other.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from sge_emulator import profiles
from sge_emulator.catalogue import Point
from sge_emulator.crypto import EncryptingWriter
from sge_emulator.profiles import PARIS

M023_DIR = "R63_R64_R65_R66_R67_C68"
HDM_DIR = "HDM"


@dataclass(frozen=True, slots=True)
class Encryption:
    """How to encrypt: cipher, current key (with its version) and the legacy IV."""

    cipher: str
    key: bytes
    version: int
    iv: bytes | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What every header needs."""

    receiver: str
    contract_id: str
    created: datetime  # aware


def _t(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _offset(t: datetime) -> str:
    """R50/R4x stamps: Paris local time with its offset (``2022-02-02T00:30:00+01:00``)."""
    return t.astimezone(PARIS).isoformat(timespec="seconds")


def stamp(t: datetime) -> str:
    return t.astimezone(PARIS).strftime("%Y%m%d%H%M%S")


def r50_name(ctx: Context) -> str:
    return f"ERDF_R50_{ctx.receiver}_GRD-F121_{stamp(ctx.created)}.zip"


def r151_name(ctx: Context) -> str:
    return f"ERDF_R151_{ctx.receiver}_GRD-F121_{stamp(ctx.created)}.zip"


def r171_name(ctx: Context) -> str:
    return f"ENEDIS_R171_C_{ctx.contract_id.zfill(14)[-14:]}_GRDF_{ctx.receiver}_{stamp(ctx.created)}.zip"


def r4q_name(ctx: Context, day: date) -> str:
    return f"ENEDIS_{ctx.receiver}_R4Q_CDC_{day.strftime('%Y%m%d')}.zip"


def m023_name(code: str, kind: str, affaire: str, ctx: Context) -> str:
    return f"ENEDIS_{code}_P_{kind}_{affaire}_00001_{stamp(ctx.created)}.zip"


# ------------------------------------------------------------------ XML bodies


def r50_chunks(
    points: Iterable[tuple[Point, str]], days: list[date], ctx: Context
) -> Iterator[str]:
    """R50 text in chunks: ``points`` are (point, Id_Affaire)."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<R50>'
    yield (
        "<En_Tete_Flux>"
        + _t("Identifiant_Flux", "R50")
        + _t("Libelle_Flux", "Courbes de charge des PRM du segment C5 sur abonnement")
        + _t("Version_XSD", "1.1.0")
        + _t("Identifiant_Emetteur", "ERDF")
        + _t("Identifiant_Destinataire", ctx.receiver)
        + _t("Date_Creation", _offset(ctx.created))
        + _t("Identifiant_Contrat", ctx.contract_id)
        + _t("Numero_Abonnement", ctx.contract_id)
        + _t("Pas_Publication", 30)
        + "</En_Tete_Flux>"
    )
    for point, affaire in points:
        parts = ["<PRM>", _t("Id_PRM", point.prm)]
        for day in days:
            parts.append(
                "<Donnees_Releve>"
                + _t("Date_Releve", day.isoformat())
                + _t("Id_Affaire", affaire)
            )
            for t in profiles.intervals(day, 30):
                end = t + timedelta(minutes=30)  # C5 curves are end-stamped
                parts.append(
                    f"<PDC><H>{_offset(end)}</H><V>{profiles.mean_power_w(point, t, 30)}</V><IV>0</IV></PDC>"
                )
            parts.append("</Donnees_Releve>")
        parts.append("</PRM>")
        yield "".join(parts)
    yield "</R50>\n"


def r151_chunks(
    points: Iterable[tuple[Point, str]], days: list[date], ctx: Context
) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<R151>'
    yield (
        "<En_Tete_Flux>"
        + _t("Identifiant_Flux", "R151")
        + _t(
            "Libelle_Flux",
            "Puissances maximales et index des PRM du segment C5 sur abonnement",
        )
        + _t("Version_XSD", "V1")
        + _t("Identifiant_Emetteur", "ERDF")
        + _t("Identifiant_Destinataire", ctx.receiver)
        + _t("Date_Creation", _offset(ctx.created))
        + _t("Identifiant_Contrat", ctx.contract_id)
        + _t("Numero_Abonnement", ctx.contract_id)
        + _t("Unite_Mesure_Index", "Wh")
        + _t("Unite_Mesure_Puissance", "VA")
        + "</En_Tete_Flux>"
    )
    for point, affaire in points:
        parts = ["<PRM>", _t("Id_PRM", point.prm)]
        for day in days:
            total = profiles.index_wh(
                point, day
            )  # Date_Releve D = register at END of D
            hc = total * 3 // 10
            parts.append(
                "<Donnees_Releve>"
                + _t("Date_Releve", day.isoformat())
                + _t("Id_Calendrier_Fournisseur", "FC000013")
                + _t("Libelle_Calendrier_Fournisseur", "Base")
                + _t("Id_Calendrier_Distributeur", "DI000001")
                + _t("Libelle_Calendrier_Distributeur", "Base")
                + _t("Id_Affaire", affaire)
                + "<Classe_Temporelle_Distributeur>"
                + _t("Id_Classe_Temporelle", "BASE")
                + _t("Libelle_Classe_Temporelle", "Base")
                + _t("Rang_Cadran", 1)
                + _t("Valeur", total)
                + _t("Indice_Vraisemblance", 0)
                + "</Classe_Temporelle_Distributeur>"
                + "<Classe_Temporelle>"
                + _t("Id_Classe_Temporelle", "HC")
                + _t("Libelle_Classe_Temporelle", "Heures Creuses")
                + _t("Rang_Cadran", 1)
                + _t("Valeur", hc)
                + _t("Indice_Vraisemblance", 0)
                + "</Classe_Temporelle>"
                + "<Classe_Temporelle>"
                + _t("Id_Classe_Temporelle", "HP")
                + _t("Libelle_Classe_Temporelle", "Heures Pleines")
                + _t("Rang_Cadran", 2)
                + _t("Valeur", total - hc)
                + _t("Indice_Vraisemblance", 0)
                + "</Classe_Temporelle>"
                + "<Puissance_Maximale>"
                + _t("Valeur", profiles.max_power(point, day)[0])
                + "</Puissance_Maximale>"
                + "</Donnees_Releve>"
            )
        parts.append("</PRM>")
        yield "".join(parts)
    yield "</R151>\n"


def r171_chunks(
    points: Iterable[Point], days: list[date], ctx: Context
) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<ns2:R171 xmlns:ns2="http://www.enedis.fr/stm/R171">'
    yield (
        "<entete>"
        + _t("emetteur", "Enedis")
        + _t("destinataire", ctx.receiver)
        + _t(
            "dateHeureCreation",
            ctx.created.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S"),
        )
        + _t("flux", "R171")
        + _t("version", "1.0")
        + "</entete><serieMesuresDateesListe>"
    )
    for point in points:
        parts = []
        for code, label, share in (
            ("HP", "Heures Pleines", 7),
            ("HC", "Heures Creuses", 3),
        ):
            parts.append(
                "<serieMesuresDatees>"
                + _t("prmId", point.prm)
                + _t("type", "INDEX")
                + _t("grandeurMetier", "CONS")
                + _t("grandeurPhysique", "EA")
                + _t("typeCalendrier", "D")
                + _t("codeClasseTemporelle", code)
                + _t("libelleClasseTemporelle", label)
                + _t("unite", "Wh")
                + "<mesuresDateesListe>"
            )
            for day in days:
                end = profiles.day_bounds(day)[1]
                value = profiles.index_wh(point, day) * share // 10
                parts.append(
                    "<mesureDatee>"
                    + _t("dateFin", end.strftime("%Y-%m-%dT%H:%M:%S"))
                    + _t("valeur", value)
                    + "</mesureDatee>"
                )
            parts.append("</mesuresDateesListe></serieMesuresDatees>")
        parts.append(
            "<serieMesuresDatees>"
            + _t("prmId", point.prm)
            + _t("type", "PMAX")
            + _t("grandeurMetier", "CONS")
            + _t("grandeurPhysique", "PMA")
            + _t("typeCalendrier", "D")
            + _t("codeClasseTemporelle", "P")
            + _t("libelleClasseTemporelle", "Pointe")
            + _t("unite", "VA")
            + "<mesuresDateesListe>"
        )
        for day in days:
            va, at = profiles.max_power(point, day)
            parts.append(
                "<mesureDatee>"
                + _t("dateFin", at.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S"))
                + _t("valeur", va)
                + "</mesureDatee>"
            )
        parts.append("</mesuresDateesListe></serieMesuresDatees>")
        yield "".join(parts)
    yield "</serieMesuresDateesListe></ns2:R171>\n"


def r4q_chunks(point: Point, day: date, ctx: Context, affaire: str) -> Iterator[str]:
    start, end = profiles.day_bounds(day)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<Courbe>'
    yield (
        "<Entete>"
        + _t("Identifiant_Flux", "R4x")
        + _t("Libelle_Flux", "Courbe de charge quotidienne")
        + _t("Identifiant_Emetteur", "ENEDIS")
        + _t("Identifiant_Destinataire", ctx.receiver)
        + _t("Date_Creation", _offset(ctx.created))
        + _t("Frequence_Publication", "Q")
        + _t("Reference_Demande", affaire)
        + _t("Nature_De_Courbe_Demandee", "Brute")
        + "</Entete><Corps>"
        + _t("Identifiant_PRM", point.prm)
        + "<Donnees_Courbe>"
        + _t("Horodatage_Debut", _offset(start))
        + _t("Horodatage_Fin", _offset(end - timedelta(seconds=1)))
        + _t("Granularite", 10)
        + _t("Unite_Mesure", "kW")
        + _t("Grandeur_Metier", "CONS")
        + _t("Grandeur_Physique", "EA")
    )
    rows = []
    for t in profiles.intervals(day, 10):  # C1-C4 curves are start-stamped
        kw = profiles.mean_power_w(point, t, 10) / 1000
        rows.append(
            f'<Donnees_Point_Mesure Horodatage="{_offset(t)}" Valeur_Point="{kw:.3f}" Statut_Point="R"/>'
        )
    yield "".join(rows)
    yield "</Donnees_Courbe></Corps></Courbe>\n"


# ------------------------------------------------------------------ containers


def write_flux(
    path: Path,
    members: Iterable[tuple[str, Iterable[str | bytes]]],
    enc: Encryption | None,
) -> Path:
    """ZIP of ``members`` (name, chunks), encrypted as it is written, to ``path``.

    Written to ``path + '.part'`` then renamed: a reader never sees a file
    half-written (a half-downloaded file is the client's problem, not this).
    """
    part = path.with_name(path.name + ".part")
    with part.open("wb") as raw:
        sink: IO[bytes]
        writer = None
        if enc is not None:
            writer = EncryptingWriter(raw, enc.key, cipher=enc.cipher, iv=enc.iv)
            sink = writer  # type: ignore[assignment]
        else:
            sink = raw
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, chunks in members:
                with archive.open(name, "w", force_zip64=True) as member:
                    for chunk in chunks:
                        member.write(
                            chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                        )
        if writer is not None:
            writer.close()
    part.replace(path)
    return path


def nested_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A secondary ZIP holding exactly one file (C68 puts 1-10 of these in the primary)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def generate_r50(
    path: Path,
    points: list[Point],
    day: date,
    ctx: Context,
    enc: Encryption | None,
    affaire: str = "M0BENCH1",
) -> Path:
    """An R50 of ``len(points)`` PRMs x 1 day, streamed to ``path`` (bench helper)."""
    name = path.name.removesuffix(".zip") + ".xml"
    return write_flux(
        path, [(name, r50_chunks(((p, affaire) for p in points), [day], ctx))], enc
    )


# ------------------------------------------------------------------ M023 / HDM


def _naive(t: datetime) -> str:
    return t.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


def r63_document(
    affaire: str, points: list[Point], start: date, end: date, code: str
) -> bytes:
    """R63 (curves), R65 (daily energy) or R66 (max power) JSON."""
    mesures = []
    for point in points:
        pts = []
        day = start
        while day < end:
            if code == "R63":
                for t in profiles.intervals(day, 30):
                    pts.append(
                        {
                            "d": _naive(t + timedelta(minutes=30)),
                            "v": profiles.mean_power_w(point, t, 30),
                            "p": "PT30M",
                            "n": "B",
                            "tc": "",
                            "iv": 0,
                            "ec": 0,
                        }
                    )
            elif code == "R65":
                pts.append(
                    {
                        "d": day.isoformat(),
                        "v": profiles.daily_energy_wh(point, day),
                        "iv": 0,
                    }
                )
            else:
                va, at = profiles.max_power(point, day)
                pts.append({"d": _naive(at), "v": va, "iv": 0})
            day += timedelta(days=1)
        grandeur = {"R63": ("PA", "W"), "R65": ("EA", "Wh"), "R66": ("PMA", "VA")}[code]
        mesures.append(
            {
                "idPrm": point.prm,
                "etapeMetier": "BRUT",
                "modeCalcul": "BRUT" if code == "R63" else "DIFF.INDEX",
                "periode": {"dateDebut": start.isoformat(), "dateFin": end.isoformat()},
                "grandeur": [
                    {
                        "grandeurMetier": "CONS",
                        "grandeurPhysique": grandeur[0],
                        "unite": grandeur[1],
                        "points": pts,
                    }
                ],
            }
        )
    header = {
        "idDemande": affaire,
        "codeFlux": code,
        "modePublication": "P",
        "format": "JSON",
    }
    return json.dumps(
        {"header": header, "mesures": mesures}, ensure_ascii=False
    ).encode()


def r64_document(affaire: str, points: list[Point], start: date, end: date) -> bytes:
    mesures = []
    for point in points:
        values = []
        day = start
        while day <= end:
            values.append(
                {
                    "d": f"{day.isoformat()} 00:00:00",
                    "v": profiles.index_wh(point, day - timedelta(days=1)),
                    "iv": 0,
                }
            )
            day += timedelta(days=1)
        mesures.append(
            {
                "idPrm": point.prm,
                "periode": {
                    "dateDebut": f"{start.isoformat()} 00:00:00",
                    "dateFin": f"{end.isoformat()} 00:00:00",
                },
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
                                "calendrier": [
                                    {
                                        "idCalendrier": "DI000001",
                                        "libelleCalendrier": "Base",
                                        "libelleGrille": "Distributeur",
                                        "classeTemporelle": [
                                            {
                                                "idClasseTemporelle": "BASE",
                                                "libelleClasseTemporelle": "Base",
                                                "codeCadran": "IDX_EAS_D1",
                                                "valeur": values,
                                            }
                                        ],
                                    }
                                ],
                                "cadranTotalisateur": {
                                    "codeCadran": "IDX_EAS_T",
                                    "valeur": values,
                                },
                            }
                        ],
                    }
                ],
            }
        )
    header = {
        "idDemande": affaire,
        "codeFlux": "R64",
        "modePublication": "P",
        "typeDestinataire": "ACM",
        "format": "JSON",
    }
    return json.dumps(
        {"header": header, "mesures": mesures}, ensure_ascii=False
    ).encode()


def c68_documents(points: list[Point]) -> bytes:
    """One C68 JSON: an array with one object per PRM."""
    return json.dumps([_c68(point) for point in points], ensure_ascii=False).encode()


def _c68(point: Point) -> dict[str, object]:
    return {
        "idPrm": point.prm,
        "segment": point.segment,
        "etatContractuel": "SERVC",
        "formuleTarifaireAcheminement": point.tariff,
        "siret": point.siret,
        "domaineTension": point.tension,
        "puissanceSouscrite": {"valeur": point.subscribed_kva, "unite": "kVA"},
        "adresse": {
            "numeroEtNomVoie": point.street,
            "codePostal": point.postcode,
            "codeInseeCommune": point.insee,
        },
    }


def hdm_csv(prm: str, kind: str, point: Point, start: date, end: date) -> bytes:
    """``;``-separated UTF-8 with BOM: two header lines, column names, rows with offsets."""
    lines = []
    if kind == "CDC":
        lines.append(
            "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes"
        )
        lines.append(
            f"{prm};Courbe de charge;{start:%d/%m/%Y};{end:%d/%m/%Y};Energie active;Consommation;Comptage Brut;W;30"
        )
        lines.append("Horodate;Valeur")
        day = start
        while day < end:
            for t in profiles.intervals(day, 30):
                stamp_ = (
                    (t + timedelta(minutes=30))
                    .astimezone(PARIS)
                    .isoformat(timespec="seconds")
                )
                lines.append(f"{stamp_};{profiles.mean_power_w(point, t, 30)}")
            day += timedelta(days=1)
    else:
        lines.append(
            "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite"
        )
        lines.append(
            f"{prm};Index;{start:%d/%m/%Y};{end:%d/%m/%Y};Energie active;Consommation;Comptage Brut;Wh"
        )
        lines.append("Horodate;Type de releve;EAS T")
        day = start
        while day < end:
            at = profiles.day_bounds(day)[0].isoformat(timespec="seconds")
            lines.append(
                f"{at};Arrêté quotidien;{profiles.index_wh(point, day - timedelta(days=1))}"
            )
            day += timedelta(days=1)
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")
