"""Results of bulk orders (M023): R63 curves, R64 indexes, C68 technical data, JSON or CSV.

SGE answers an asynchronous order with files in the ``R63_R64_R65_R66_R67_C68``
folder of the drop (enedis.md §3.7): one JSON document (``{"header", "mesures":
[...]}``, or an array of PRM objects for C68) or one ``;``-separated CSV (UTF-8
with BOM, one row per value). An order may cover 10,000 PRMs, so neither is read
whole: :class:`JsonItems` decodes one ``mesures`` item at a time from a sliding
text buffer, and the CSV is read row by row, consecutive rows of one PRM making
one batch. An item or row that cannot be mapped is a :class:`Rejected` carrying
its own bytes; the stream goes on.

Timestamps (all local Paris time WITHOUT offset, ``YYYY-MM-DD hh:mm:ss``):

* R63 points ``d`` follow CMD v3 (sge-interop.md §6.3): 30-min C5 curves are
  END-stamped, 10/5-min C1-C4 curves START-stamped (the step ``p`` says which);
  ``v`` is a mean power in W -> INTERVAL Wh = v x step. In one series a wall-clock
  time written twice (the repeated October hour) is the first pass the first
  time and the second pass the second time; a lone ambiguous time follows the
  ``ambiguous`` setting; a time in the March gap is refused. R65-style daily
  energies (``EA``, ``d`` a date) are the local day's INTERVAL, R66-style
  maxima (``PMA``) the MAXIMUM over the local day of ``d``.
* R64 ``d`` of day D is the register at the START of D (00:00 Paris of D; the
  opposite of R151, ELC ADR-0042). The distributor grid is published, one
  channel per temporal class, as for R151; the supplier grid and the totaliser
  repeat the same energy and are counted as skipped.
* C68 carries no readings: each PRM becomes a :class:`C68Record`.

The CSV column names of R64 and C68 are SEN1's reading of the JSON fields (the
R6X CSV guide was not available): columns are found by name, never by position.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from energy_core.domain import (
    Direction,
    Energy,
    Kind,
    Quality,
    RowsBatch,
    SeriesRows,
    Source,
    Stamp,
)
from energy_core.domain.ids import Prm
from energy_core.domain.time import local_day_bounds, to_micros
from energy_core.domain.units import Unit
from energy_core.errors import EnergyError, PayloadInvalidError
from ingest_sge.mapping.flux import ByteStream, FluxStats, Rejected
from ingest_sge.mapping.local_time import Ambiguous, SeriesClock, paris_instant

_DIRECTIONS = {"CONS": Direction.CONSUMPTION, "PROD": Direction.PRODUCTION}
_STEP = re.compile(r"PT(\d+)M")
_NATURE = {
    # points/n (CMD v3 and R63): measured, corrected, estimated
    "B": Quality.RAW,
    "R": Quality.RAW,
    "C": Quality.CORRECTED,
    "E": Quality.ESTIMATED,
    "S": Quality.ESTIMATED,
    "H": Quality.ESTIMATED,
    "P": Quality.ESTIMATED,
    "K": Quality.ESTIMATED,
}
_HOUR_US = 3_600_000_000
_WS = re.compile(r"\s*")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
BULK_CODES = ("R63", "R64", "R65", "R66", "C68")
"""The bulk flux codes mapped (R65/R66 share R63's tree: daily energies, maxima)."""
_CODE = re.compile(r"(?<![A-Z0-9])(R6[3-7]|C68)(?:[AB])?(?![0-9])")


@dataclass(frozen=True, slots=True)
class C68Record:
    """One PRM's technical and contractual data from a C68 (no personal data kept).

    ``subscribed_kva`` is None when the file gives none or not in kVA.
    """

    prm: Prm
    segment: str
    state: str
    tariff: str
    tension: str
    subscribed_kva: float | None


def flux_code(*names: str) -> str:
    """The bulk flux code in a file or member name (``ENEDIS_R63_P_CdC_…``), or ``""``."""
    for name in names:
        match = _CODE.search(name.upper())
        if match:
            return match.group(1)
    return ""


# ------------------------------------------------------------------ streaming JSON


class JsonItems:
    """Top-level fields and the items of one array of a JSON document, streamed.

    Yields ``(key, value)`` for the small top-level fields (``header``) and
    ``(array_key, item)`` for each element of ``array_key`` (``mesures``), or
    ``("", item)`` for each element of a top-level array (C68). Only one item is
    decoded at a time; the text buffer slides, so memory follows the largest
    item, never the document. A document that is not JSON, or ends early, is a
    :class:`PayloadInvalidError`.
    """

    def __init__(self, stream: ByteStream, array_key: str = "mesures") -> None:
        self._stream = stream
        self._array_key = array_key
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._chunk = 1 << 16
        self.last_raw = ""

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.read(self._chunk)
        self._eof = not data
        self._buf = self._buf[self._pos :] + self._decoder.decode(data, final=self._eof)
        self._pos = 0
        return True

    def _peek(self) -> str:
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def _value(self) -> Any:
        self._peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if not self._fill():
                    raise PayloadInvalidError(f"JSON: {exc.msg}") from exc
                self._chunk = min(self._chunk * 2, 1 << 24)  # big items: fewer retries
                continue
            if (
                not self._eof
                and isinstance(value, int | float)
                and _NUMBER_TAIL.fullmatch(self._buf, end)
            ):
                self._fill()  # the number may go on in the next chunk ("1." + "25")
                continue
            self.last_raw = self._buf[self._pos : end]
            self._pos = end
            self._chunk = 1 << 16
            return value

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise PayloadInvalidError(f"JSON: {char!r} expected")
        self._pos += 1

    def _array(self) -> Iterator[Any]:
        self._expect("[")
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield self._value()
            char = self._peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise PayloadInvalidError("JSON: ',' or ']' expected in an array")

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        first = self._peek()
        if first == "[":
            for item in self._array():
                yield "", item
        elif first == "{":
            self._pos += 1
            if self._peek() == "}":
                self._pos += 1
                return
            while True:
                key = self._value()
                if not isinstance(key, str):
                    raise PayloadInvalidError("JSON: an object key must be a string")
                self._expect(":")
                if key == self._array_key and self._peek() == "[":
                    for item in self._array():
                        yield key, item
                else:
                    yield key, self._value()
                char = self._peek()
                self._pos += 1
                if char == "}":
                    break
                if char != ",":
                    raise PayloadInvalidError("JSON: ',' or '}' expected in an object")
        else:
            raise PayloadInvalidError("JSON: a document starts with '{' or '['")
        if self._peek() != "":
            raise PayloadInvalidError("JSON: text after the document")


# ------------------------------------------------------------------ entry point


def parse_bulk(
    stream: ByteStream,
    *,
    code: str,
    ambiguous: Ambiguous = Ambiguous.EARLIER,
    stats: FluxStats | None = None,
) -> Iterator[RowsBatch | C68Record | Rejected]:
    """Streams an R63/R64/R65/R66/C68 document, JSON or CSV (sniffed).

    ``code`` is the flux code from the file name (see :func:`flux_code`); a JSON
    ``header.codeFlux`` given before the items wins over it.
    """
    stats = stats if stats is not None else FluxStats()
    stats.flux = code
    if code and code not in BULK_CODES:
        # R67 (billing energies) has another tree: refused whole, with the reason
        raise PayloadInvalidError(f"bulk flux {code} is not mapped (R63-R66, C68 are)")
    head = stream.read(4096)
    prefixed = _Prefixed(head, stream)
    first = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
    if first in (b"{", b"["):
        yield from _json(prefixed, code, ambiguous, stats)
    else:
        yield from _csv(prefixed, code, ambiguous, stats)


class _Prefixed:
    """A stream whose first bytes were already read (the sniffing)."""

    def __init__(self, head: bytes, rest: ByteStream) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._rest.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._rest.read(size)


def _json(
    stream: ByteStream, code: str, ambiguous: Ambiguous, stats: FluxStats
) -> Iterator[RowsBatch | C68Record | Rejected]:
    items = JsonItems(stream)
    for key, value in items:
        if key == "header":
            if isinstance(value, Mapping) and value.get("codeFlux") in BULK_CODES:
                code = stats.flux = str(value["codeFlux"])
            continue
        if key not in ("", "mesures"):
            continue
        if key == "" and not code:
            code = stats.flux = "C68"  # a top-level array of PRM objects
        stats.records += 1
        try:
            if not isinstance(value, Mapping):
                raise PayloadInvalidError("an item is not an object")
            if code == "C68":
                yield _technical(value)
            elif code == "R64":
                yield _r64(value, ambiguous, stats)
            elif code in ("R63", "R65", "R66"):
                yield _r63(value, ambiguous, stats)
            else:
                raise PayloadInvalidError(f"bulk flux {code!r} is not mapped")
        except EnergyError as exc:
            yield Rejected(code, items.last_raw.encode(), exc)


# ------------------------------------------------------------------ R63 (curves)


def _step(text: object) -> int:
    match = _STEP.fullmatch(str(text or "PT30M"))
    if match is None or not 0 < int(match.group(1)) <= 60:
        raise PayloadInvalidError(f"p: unknown step {text!r}")
    return int(match.group(1))


def _number(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise PayloadInvalidError(f"{name}: not a number: {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise PayloadInvalidError(f"{name}: not a number: {value!r}") from exc


def _day(text: object, name: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError as exc:
        raise PayloadInvalidError(f"{name}: not a date: {text!r}") from exc


def _curve_rows(
    points: list[Mapping[str, Any]], ambiguous: Ambiguous, default_step: str = ""
) -> tuple[list[tuple[int, int, float, Quality]], Stamp]:
    """PA points (mean W) -> Wh rows; 30-min steps END-stamped, shorter START."""
    clock = SeriesClock([str(p.get("d", "")) for p in points], ambiguous)
    rows: list[tuple[int, int, float, Quality]] = []
    stamped = Stamp.END
    for point in points:
        minutes = _step(point.get("p") or default_step or "PT30M")
        step_us = minutes * 60_000_000
        at = clock.micros(str(point.get("d", "")), "points/d")
        if minutes == 30:
            start, end = at - step_us, at
        else:
            start, end, stamped = at, at + step_us, Stamp.START
        quality = _NATURE.get(str(point.get("n") or "B"), Quality.RAW)
        value = _number(point.get("v"), "points/v") * step_us / _HOUR_US
        rows.append((start, end, value, quality))
    return rows, stamped


_DAILY_KINDS = {
    ("EA", "Wh"): Kind.INTERVAL,
    ("EA", "kWh"): Kind.INTERVAL,
    ("PMA", "VA"): Kind.MAXIMUM,
    ("PMA", "kVA"): Kind.MAXIMUM,
}
"""R63 daily series: energy per day (an interval) or the day's maximum power."""


def _day_row(point: Mapping[str, Any]) -> tuple[int, int, float, Quality]:
    """One daily value over its Paris day (start-stamped: ``d`` names the day)."""
    begin, finish = local_day_bounds(_day(point.get("d"), "points/d"))
    value = _number(point.get("v"), "points/v")
    return (to_micros(begin), to_micros(finish), value, Quality.RAW)


def _r63(
    mesure: Mapping[str, Any], ambiguous: Ambiguous, stats: FluxStats
) -> RowsBatch:
    meter = Prm(str(mesure.get("idPrm", "")))
    series: list[SeriesRows] = []
    stamped = Stamp.END
    for grandeur in mesure.get("grandeur") or ():
        physical = str(grandeur.get("grandeurPhysique", ""))
        unit = str(grandeur.get("unite", ""))
        business = str(grandeur.get("grandeurMetier") or "CONS")
        if business not in _DIRECTIONS:
            raise PayloadInvalidError(f"grandeurMetier {business!r} is not CONS/PROD")
        direction = _DIRECTIONS[business]
        points = [p for p in grandeur.get("points") or () if p.get("v") is not None]
        stats.skipped["r63_no_value"] += len(grandeur.get("points") or ()) - len(points)
        if physical == "PA" and unit == "W":
            rows, stamped = _curve_rows(points, ambiguous)
            series.append(SeriesRows(Kind.INTERVAL, Unit.WH, rows, direction))
        elif (physical, unit) in _DAILY_KINDS:
            rows = [_day_row(point) for point in points]
            kind = _DAILY_KINDS[physical, unit]
            series.append(
                SeriesRows(kind, Unit.parse(unit, field="unite"), rows, direction)
            )
            stamped = Stamp.START
        else:
            # reactive energies, voltages: no kind or unit in the domain yet
            stats.skipped[f"r63_{physical.lower() or 'unknown'}"] += 1
    return RowsBatch(
        meter, Source.ENEDIS_SGE, Energy.ELECTRICITY, tuple(series), stamped
    )


# ------------------------------------------------------------------ R64 (indexes)


def _r64(
    mesure: Mapping[str, Any], ambiguous: Ambiguous, stats: FluxStats
) -> RowsBatch:
    meter = Prm(str(mesure.get("idPrm", "")))
    series: list[SeriesRows] = []
    for contexte in mesure.get("contexte") or ():
        quality = (
            Quality.CORRECTED if contexte.get("etapeMetier") == "CORR" else Quality.RAW
        )
        for grandeur in contexte.get("grandeur") or ():
            physical = str(grandeur.get("grandeurPhysique", ""))
            business = str(grandeur.get("grandeurMetier") or "CONS")
            if business not in _DIRECTIONS:
                raise PayloadInvalidError(
                    f"grandeurMetier {business!r} is not CONS/PROD"
                )
            if physical != "EA":
                stats.skipped[f"r64_{physical.lower() or 'unknown'}"] += 1
                continue
            unit = Unit.parse(str(grandeur.get("unite") or "Wh"), field="unite")
            if grandeur.get("cadranTotalisateur"):
                stats.skipped["r64_totaliser"] += 1
            for calendrier in grandeur.get("calendrier") or ():
                grid = str(calendrier.get("libelleGrille", "")).lower()
                if not grid.startswith("distributeur"):
                    stats.skipped["r64_supplier_grid"] += 1
                    continue
                for klass in calendrier.get("classeTemporelle") or ():
                    channel = str(klass.get("idClasseTemporelle") or "")
                    rows = [
                        _index_row(v, ambiguous, quality)
                        for v in klass.get("valeur") or ()
                        if v.get("v") is not None
                    ]
                    series.append(
                        SeriesRows(
                            Kind.INDEX, unit, rows, _DIRECTIONS[business], channel
                        )
                    )
    return RowsBatch(
        meter, Source.ENEDIS_SGE, Energy.ELECTRICITY, tuple(series), Stamp.START
    )


def _index_row(
    value: Mapping[str, Any], ambiguous: Ambiguous, quality: Quality
) -> tuple[int, int, float, Quality]:
    at = to_micros(
        paris_instant(str(value.get("d", "")), field="valeur/d", ambiguous=ambiguous)
    )
    iv = value.get("iv")
    if quality is Quality.RAW and iv not in (None, 0, "0"):
        quality = Quality.ESTIMATED  # a non-zero likelihood index: doubtful
    return at, at, _number(value.get("v"), "valeur/v"), quality


# ------------------------------------------------------------------ C68


def _kva(value: object) -> float | None:
    """``{"valeur": 36, "unite": "kVA"}``, ``"36 kVA"`` or ``36`` -> 36.0."""
    if isinstance(value, Mapping):
        unit = str(value.get("unite") or "kVA")
        if unit.lower() != "kva":
            return None
        value = value.get("valeur")
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lower().endswith("kva"):
        text = text[:-3].strip()
    return _number(text.replace(",", "."), "puissanceSouscrite")


def _technical(item: Mapping[str, Any]) -> C68Record:
    return C68Record(
        prm=Prm(str(item.get("idPrm", ""))),
        segment=str(item.get("segment") or ""),
        state=str(item.get("etatContractuel") or ""),
        tariff=str(item.get("formuleTarifaireAcheminement") or ""),
        tension=str(item.get("domaineTension") or ""),
        subscribed_kva=_kva(item.get("puissanceSouscrite")),
    )


# ------------------------------------------------------------------ CSV


_CSV_COLUMNS = {
    # SEN1 name -> accepted header names (accents and case folded)
    "prm": ("identifiant prm",),
    "physical": ("grandeur physique",),
    "business": ("grandeur metier",),
    "unit": ("unite",),
    "at": ("horodate",),
    "value": ("valeur",),
    "nature": ("nature",),
    "step": ("pas",),
    "likelihood": ("indice de vraisemblance",),
    "grid": ("libelle grille",),
    "klass": ("identifiant classe temporelle", "classe temporelle"),
    "segment": ("segment",),
    "state": ("etat contractuel",),
    "tariff": ("formule tarifaire acheminement",),
    "tension": ("domaine de tension",),
    "power": ("puissance souscrite",),
}
_FOLD = str.maketrans("éèêëàâîïôûùç", "eeeeaaiiouuc")


def _columns(header: list[str]) -> dict[str, int]:
    folded = [h.strip().lower().translate(_FOLD) for h in header]
    out = {}
    for name, accepted in _CSV_COLUMNS.items():
        for i, h in enumerate(folded):
            if h in accepted:
                out[name] = i
                break
    return out


def _csv(
    stream: ByteStream, code: str, ambiguous: Ambiguous, stats: FluxStats
) -> Iterator[RowsBatch | C68Record | Rejected]:
    text = io.TextIOWrapper(
        io.BufferedReader(_Raw(stream)), encoding="utf-8-sig", newline=""
    )
    reader = csv.reader(text, delimiter=";")
    try:
        header = next(reader)
    except StopIteration:
        raise PayloadInvalidError("empty CSV") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise PayloadInvalidError(f"CSV: {exc}") from exc
    cols = _columns(header)
    if "prm" not in cols:
        raise PayloadInvalidError("CSV: no 'Identifiant PRM' column")
    if not code:
        code = stats.flux = (
            "C68" if "value" not in cols else ("R64" if "klass" in cols else "R63")
        )
    if code == "C68":
        yield from _c68_rows(reader, cols, stats)
        return
    if "value" not in cols or "at" not in cols:
        raise PayloadInvalidError("CSV: 'Horodate' and 'Valeur' columns are needed")
    group: list[list[str]] = []
    try:
        for row in reader:
            if not row or not any(row):
                continue
            if group and row[cols["prm"]] != group[0][cols["prm"]]:
                yield _csv_group(code, group, cols, ambiguous, stats)
                group = []
            group.append(row)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise PayloadInvalidError(f"CSV: {exc}") from exc
    if group:
        yield _csv_group(code, group, cols, ambiguous, stats)


def _field(row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _csv_group(
    code: str,
    rows: list[list[str]],
    cols: dict[str, int],
    ambiguous: Ambiguous,
    stats: FluxStats,
) -> RowsBatch | Rejected:
    """Consecutive rows of one PRM -> one batch (the JSON mapping on a rebuilt tree)."""
    stats.records += 1
    try:
        prm = _field(rows[0], cols, "prm")
        if code == "R64":
            return _r64(_r64_tree(prm, rows, cols), ambiguous, stats)
        grandeurs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in rows:
            key = (
                _field(row, cols, "physical"),
                _field(row, cols, "unit"),
                _field(row, cols, "business") or "CONS",
            )
            value = _field(row, cols, "value")
            grandeurs.setdefault(key, []).append(
                {
                    "d": _field(row, cols, "at"),
                    "v": value.replace(",", ".") if value else None,
                    "p": _field(row, cols, "step") or None,
                    "n": _field(row, cols, "nature") or None,
                }
            )
        mesure = {
            "idPrm": prm,
            "grandeur": [
                {"grandeurPhysique": p, "unite": u, "grandeurMetier": b, "points": pts}
                for (p, u, b), pts in grandeurs.items()
            ],
        }
        return _r63(mesure, ambiguous, stats)
    except EnergyError as exc:
        payload = "\n".join(";".join(r) for r in rows).encode()
        return Rejected(code, payload, exc)


def _r64_tree(prm: str, rows: list[list[str]], cols: dict[str, int]) -> dict[str, Any]:
    grandeurs: dict[
        tuple[str, str, str], dict[tuple[str, str], list[dict[str, Any]]]
    ] = {}
    for row in rows:
        key = (
            _field(row, cols, "physical") or "EA",
            _field(row, cols, "unit") or "Wh",
            _field(row, cols, "business") or "CONS",
        )
        klass = (
            _field(row, cols, "grid") or "Distributeur",
            _field(row, cols, "klass"),
        )
        value = _field(row, cols, "value")
        grandeurs.setdefault(key, {}).setdefault(klass, []).append(
            {
                "d": _field(row, cols, "at"),
                "v": value.replace(",", ".") if value else None,
                "iv": _field(row, cols, "likelihood") or 0,
            }
        )
    return {
        "idPrm": prm,
        "contexte": [
            {
                "etapeMetier": "BRUT",
                "grandeur": [
                    {
                        "grandeurPhysique": p,
                        "unite": u,
                        "grandeurMetier": b,
                        "calendrier": [
                            {
                                "libelleGrille": grid,
                                "classeTemporelle": [
                                    {"idClasseTemporelle": klass, "valeur": values}
                                ],
                            }
                            for (grid, klass), values in classes.items()
                        ],
                    }
                    for (p, u, b), classes in grandeurs.items()
                ],
            }
        ],
    }


def _c68_rows(
    reader: Iterator[list[str]], cols: dict[str, int], stats: FluxStats
) -> Iterator[C68Record | Rejected]:
    try:
        for row in reader:
            if not row or not any(row):
                continue
            stats.records += 1
            try:
                yield C68Record(
                    prm=Prm(_field(row, cols, "prm")),
                    segment=_field(row, cols, "segment"),
                    state=_field(row, cols, "state"),
                    tariff=_field(row, cols, "tariff"),
                    tension=_field(row, cols, "tension"),
                    subscribed_kva=_kva(_field(row, cols, "power")),
                )
            except EnergyError as exc:
                yield Rejected("C68", ";".join(row).encode(), exc)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise PayloadInvalidError(f"CSV: {exc}") from exc


class _Raw(io.RawIOBase):
    """A ByteStream as a raw binary stream (for TextIOWrapper)."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


__all__ = ["BULK_CODES", "C68Record", "JsonItems", "flux_code", "parse_bulk"]
