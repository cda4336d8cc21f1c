"""R50, R151 and R171 flux XML -> one ReadingBatch per PRM record, streamed.

A flux file may hold thousands of PRMs, so the XML is never built whole: lxml's
``iterparse`` hands over one record element (``PRM`` of R50/R151, a
``serieMesuresDatees`` of R171) when it is complete; it is mapped, then cleared
and detached from the root, so memory stays at one record whatever the file size.

One record that cannot be mapped (a PRM that is not 14 digits, a value that is
not a number) becomes a :class:`Rejected` carrying the record's own XML and the
reason, and the stream goes on: the loop dead-letters it.

Timestamps (enedis.md §3.2-§3.4):

* R50 ``H`` is the END of a 30-min interval, with an offset; ``V`` is the mean
  power in W over it -> INTERVAL Wh = V x step. ``IV=1`` (doubtful) -> ESTIMATED;
  a ``PDC`` with only ``H`` is no measure and yields nothing.
* R151 ``Date_Releve=D`` is the cumulative index at the END of day D (00:00 Paris
  of D+1, the ELC-verified convention); ``Puissance_Maximale`` is the MAXIMUM of
  the local day D in VA. Indexes of the distributor grid are published, one
  channel per temporal class (``BASE``, ``HPH``...); the supplier grid repeats
  the same energy in another split and is not published.
* R171 ``dateFin`` is a local time without an offset (see :mod:`.local_time`);
  EA series are cumulative INDEX readings in Wh, one channel per temporal class,
  direction from ``grandeurMetier`` (CONS/PROD). Reactive energy (VArh), times
  (s) and the PMA/DQ powers have no unit or kind in the domain yet: they are
  counted as skipped, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from lxml import etree

from energy_core.domain import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    RowsBatch,
    SeriesRows,
    Source,
    Stamp,
)
from energy_core.domain.ids import Prm
from energy_core.domain.time import local_day_bounds, local_midnight, to_micros
from energy_core.domain.units import Unit
from energy_core.errors import EnergyError, PayloadInvalidError
from ingest_sge.mapping.local_time import Ambiguous, SeriesClock, paris_instant

R171_NS = "http://www.enedis.fr/stm/R171"
_RECORD_TAGS = (
    "PRM",
    "serieMesuresDatees",
    f"{{{R171_NS}}}serieMesuresDatees",
    "Identifiant_PRM",
    "Donnees_Courbe",
)
_R4X_QUALITY = {
    # Statut_Point (enedis.md §3.5): measured, outage markers -> raw; rebuilt or
    # estimated -> estimated; corrected or entered by hand -> corrected
    "R": Quality.RAW,
    "S": Quality.RAW,
    "T": Quality.RAW,
    "F": Quality.RAW,
    "G": Quality.RAW,
    "H": Quality.ESTIMATED,
    "P": Quality.ESTIMATED,
    "E": Quality.ESTIMATED,
    "K": Quality.ESTIMATED,
    "C": Quality.CORRECTED,
    "D": Quality.CORRECTED,
}
_R4X_POWER_TO_W = {"kW": 1000.0, "W": 1.0}
_STAMP_CACHE_MAX = 8192
_US = 1_000_000
_OFFSET = re.compile(r"(?:[+-]\d\d:?\d\d|Z)$")
_DIRECTIONS = {"CONS": Direction.CONSUMPTION, "PROD": Direction.PRODUCTION}
_DEFAULT_STEP_MIN = 30


class ByteStream(Protocol):
    """What the parser reads: any object with ``read(size)`` (a file, a ZIP member)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record of a flux that could not be mapped: its XML and why."""

    flux: str
    payload: bytes
    error: EnergyError


@dataclass(slots=True)
class FluxStats:
    """What one parse saw, beyond the batches: fed to the service's counters."""

    flux: str = ""
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


Parsed = ReadingBatch | RowsBatch | Rejected


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1] if text.startswith("{") else text


def _text(element: etree._Element, name: str) -> str | None:
    child = element.find(name)
    if child is None:
        return None
    value = child.text
    return value.strip() if value is not None else None


def _required(element: etree._Element, name: str) -> str:
    value = _text(element, name)
    if not value:
        raise PayloadInvalidError(f"{_local(element.tag)}/{name} is missing")
    return value


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise PayloadInvalidError(f"{name}: not a number: {text!r}") from exc


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise PayloadInvalidError(f"{name}: not a date: {text!r}") from exc


def parse_flux(
    stream: ByteStream,
    *,
    ambiguous: Ambiguous = Ambiguous.EARLIER,
    stats: FluxStats | None = None,
) -> Iterator[Parsed]:
    """Streams the records of one flux XML document (R50, R151 or R171).

    ``stats`` (optional) receives the flux name, the record count and what was
    skipped by reason. An XML document that is not well-formed raises
    :class:`PayloadInvalidError` (records already yielded stay valid).
    """
    stats = stats if stats is not None else FluxStats()
    step = timedelta(minutes=_DEFAULT_STEP_MIN)
    root: etree._Element | None = None
    state = _State(ambiguous)
    try:
        for _event, element in etree.iterparse(
            stream, events=("end",), tag=_RECORD_TAGS, huge_tree=True
        ):
            if root is None:
                root = element.getroottree().getroot()
                stats.flux = _flux_name(root)
                step = _r50_step(root)
            if element.tag == "Identifiant_PRM":
                # R4x: the PRM of the Donnees_Courbe that follow it in its Corps
                state.prm = (element.text or "").strip()
                continue
            stats.records += 1
            try:
                yield _map_record(stats, element, step, state)
            except EnergyError as exc:
                yield Rejected(stats.flux, etree.tostring(element), exc)
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise PayloadInvalidError(f"flux XML is not well-formed: {exc}") from exc
    if root is None:
        raise PayloadInvalidError("no R50/R151/R171/R4x record in the document")


@dataclass(slots=True)
class _State:
    """What the records of one document share: settings, the R4x PRM in scope,
    and the stamps already parsed (every PRM of a file has the same ones)."""

    ambiguous: Ambiguous
    prm: str = ""
    stamps: dict[str, int] = field(default_factory=dict)

    def stamp_us(self, text: str, name: str, *, local: bool = False) -> int:
        """An ISO stamp -> microseconds, parsed once per text. Without an offset
        it is refused, unless ``local`` (Paris wall clock, DST rule applied)."""
        cached = self.stamps.get(text)
        if cached is not None:
            return cached
        try:
            at = datetime.fromisoformat(text)
        except ValueError as exc:
            raise PayloadInvalidError(f"{name}: not a date-time: {text!r}") from exc
        if at.tzinfo is None:
            if not local:
                raise PayloadInvalidError(f"{name} carries no offset: {text!r}")
            at = paris_instant(text, field=name, ambiguous=self.ambiguous)
        micros = to_micros(at)
        if len(self.stamps) >= _STAMP_CACHE_MAX:
            self.stamps.clear()
        self.stamps[text] = micros
        return micros


def _flux_name(root: etree._Element) -> str:
    name = _local(root.tag)
    return "R4x" if name == "Courbe" else name


def _r50_step(root: etree._Element) -> timedelta:
    header = root.find("En_Tete_Flux")
    pas = _text(header, "Pas_Publication") if header is not None else None
    return timedelta(minutes=int(pas) if pas and pas.isdigit() else _DEFAULT_STEP_MIN)


def _map_record(
    stats: FluxStats, element: etree._Element, step: timedelta, state: _State
) -> Parsed:
    if stats.flux == "R50":
        return _r50(element, step, stats, state)
    if stats.flux == "R151":
        return _r151(element, stats)
    if stats.flux == "R171":
        return _r171(element, state.ambiguous, stats)
    if stats.flux == "R4x":
        return _r4x(element, stats, state)
    raise PayloadInvalidError(f"flux {stats.flux!r} is not mapped (R50/R151/R171/R4x)")


def _r50(
    element: etree._Element, step: timedelta, stats: FluxStats, state: _State
) -> RowsBatch:
    meter = Prm(_required(element, "Id_PRM"))
    hours = step / timedelta(hours=1)
    step_us = int(step / timedelta(microseconds=1))
    rows: list[tuple[int, int, float, Quality]] = []
    append = rows.append
    raw, estimated = Quality.RAW, Quality.ESTIMATED
    stamp_us = state.stamp_us
    # children are walked by hand: ``findtext`` parses its path at every call,
    # which cost more than the rest of the mapping on a file of 10,000 PRMs
    for releve in element:
        if releve.tag != "Donnees_Releve":
            continue
        for pdc in releve:
            if pdc.tag != "PDC":
                continue
            h = v = iv = None
            for child in pdc:
                tag = child.tag
                if tag == "H":
                    h = child.text
                elif tag == "V":
                    v = child.text
                elif tag == "IV":
                    iv = child.text
            if v is None or not v.strip():
                stats.skipped["r50_no_value"] += 1
                continue
            if h is None:
                raise PayloadInvalidError("PDC/H is missing")
            end = stamp_us(h, "PDC/H")
            try:
                value = float(v) * hours
            except ValueError as exc:
                raise PayloadInvalidError(f"PDC/V: not a number: {v!r}") from exc
            append((end - step_us, end, value, estimated if iv == "1" else raw))
    return RowsBatch(
        meter,
        Source.ENEDIS_SGE,
        Energy.ELECTRICITY,
        (SeriesRows(Kind.INTERVAL, Unit.WH, rows),),
        Stamp.END,
    )


def _r4x(element: etree._Element, stats: FluxStats, state: _State) -> RowsBatch:
    """One ``Donnees_Courbe`` of an R4x: mean powers START-stamped -> INTERVAL Wh."""
    if not state.prm:
        raise PayloadInvalidError("Donnees_Courbe without a preceding Identifiant_PRM")
    meter = Prm(state.prm)
    fields = {
        child.tag: (child.text or "").strip()
        for child in element
        if child.tag != "Donnees_Point_Mesure"
    }
    physical = fields.get("Grandeur_Physique", "")
    business = fields.get("Grandeur_Metier") or "CONS"
    if business not in _DIRECTIONS:
        raise PayloadInvalidError(f"Grandeur_Metier {business!r} is not CONS/PROD")
    unit_text = fields.get("Unite_Mesure", "")
    rows: list[tuple[int, int, float, Quality]] = []
    series: tuple[SeriesRows, ...] = ()
    if physical != "EA" or unit_text not in _R4X_POWER_TO_W:
        # reactive power (kVAr) and voltage (V) have no kind in the domain yet
        stats.skipped[f"r4x_{(physical or 'unknown').lower()}"] += 1
    else:
        granularity = fields.get("Granularite", "")
        if not granularity.isdigit() or not 0 < int(granularity) <= 60:
            raise PayloadInvalidError(f"Granularite: not minutes: {granularity!r}")
        step_us = int(granularity) * 60 * _US
        to_wh = _R4X_POWER_TO_W[unit_text] * int(granularity) / 60
        append = rows.append
        stamp_us = state.stamp_us
        qualities = _R4X_QUALITY
        points = list(element.iterchildren("Donnees_Point_Mesure"))
        clock = None
        if points and not _OFFSET.search(points[0].get("Horodatage") or ""):
            # local stamps without offset (not the documented form): resolved
            # per curve, the repeated October hour included
            clock = SeriesClock(
                (p.get("Horodatage") or "" for p in points), state.ambiguous
            )
        for point in points:
            get = point.get
            at, value, status = (
                get("Horodatage"),
                get("Valeur_Point"),
                get("Statut_Point"),
            )
            if value is None or not value.strip():
                stats.skipped["r4x_no_value"] += 1
                continue
            if at is None:
                raise PayloadInvalidError("Donnees_Point_Mesure/@Horodatage is missing")
            if clock is None:
                start = stamp_us(at, "@Horodatage")
            else:
                start = clock.micros(at, "@Horodatage")
            try:
                wh = float(value) * to_wh
            except ValueError as exc:
                raise PayloadInvalidError(
                    f"@Valeur_Point: not a number: {value!r}"
                ) from exc
            quality = qualities.get(status or "R")
            if quality is None:
                raise PayloadInvalidError(f"@Statut_Point: unknown status {status!r}")
            append((start, start + step_us, wh, quality))
        series = (SeriesRows(Kind.INTERVAL, Unit.WH, rows, _DIRECTIONS[business]),)
    return RowsBatch(meter, Source.ENEDIS_SGE, Energy.ELECTRICITY, series, Stamp.START)


def _r151(element: etree._Element, stats: FluxStats) -> ReadingBatch:
    meter = Prm(_required(element, "Id_PRM"))
    readings: list[Reading] = []
    for releve in element.iterfind("Donnees_Releve"):
        day = _day(_required(releve, "Date_Releve"), "Date_Releve")
        at = local_midnight(day + timedelta(days=1))
        for klass in releve.iterfind("Classe_Temporelle_Distributeur"):
            channel = _required(klass, "Id_Classe_Temporelle")
            value = _text(klass, "Valeur")
            if not value:
                stats.skipped["r151_no_index"] += 1
                continue
            readings.append(
                Reading(
                    Kind.INDEX,
                    Unit.WH,
                    at,
                    at,
                    _number(value, "Valeur"),
                    channel=channel,
                )
            )
        stats.skipped["r151_supplier_grid"] += len(releve.findall("Classe_Temporelle"))
        pmax = releve.find("Puissance_Maximale")
        if pmax is not None and _text(pmax, "Valeur"):
            start, end = local_day_bounds(day)
            readings.append(
                Reading(
                    Kind.MAXIMUM,
                    Unit.VA,
                    start,
                    end,
                    _number(_required(pmax, "Valeur"), "Puissance_Maximale/Valeur"),
                )
            )
    return _batch(meter, readings, Stamp.END)


def _child(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return child.text.strip() if child.text is not None else None
    return None


def _r171(
    element: etree._Element, ambiguous: Ambiguous, stats: FluxStats
) -> ReadingBatch:
    prm = _child(element, "prmId")
    if not prm:
        raise PayloadInvalidError("serieMesuresDatees/prmId is missing")
    meter = Prm(prm)
    physical = _child(element, "grandeurPhysique") or ""
    business = _child(element, "grandeurMetier") or "CONS"
    if business not in _DIRECTIONS:
        raise PayloadInvalidError(f"grandeurMetier {business!r} is not CONS/PROD")
    readings: list[Reading] = []
    if physical != "EA":
        stats.skipped[f"r171_{physical.lower() or 'unknown'}"] += 1
        return _batch(meter, readings, Stamp.END)
    unit = Unit.parse(_child(element, "unite") or "Wh", field="unite")
    channel = _child(element, "codeClasseTemporelle") or ""
    for measure in element.iter():
        if _local(measure.tag) != "mesureDatee":
            continue
        end_text = _child(measure, "dateFin")
        value = _child(measure, "valeur")
        if not end_text or not value:
            stats.skipped["r171_incomplete"] += 1
            continue
        at = paris_instant(end_text, field="dateFin", ambiguous=ambiguous)
        readings.append(
            Reading(
                Kind.INDEX,
                unit,
                at,
                at,
                _number(value, "valeur"),
                direction=_DIRECTIONS[business],
                channel=channel,
            )
        )
    return _batch(meter, readings, Stamp.END)


def _batch(meter: Prm, readings: list[Reading], stamped: Stamp) -> ReadingBatch:
    return ReadingBatch(
        meter=meter,
        source=Source.ENEDIS_SGE,
        energy=Energy.ELECTRICITY,
        readings=tuple(readings),
        stamped=stamped,
    )
