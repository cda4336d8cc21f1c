"""Build and read the ``<quoalise xmlns="urn:quoalise:0"><data>`` payload. Pure.

Written from the protocol note (what the reference client 0.0.6 actually parses):

- ``<meta>`` is mandatory (the client raises without it), shape A: attributes carry
  the values (``<device>``/``<identifier>``, ``<measurement unit sampling-interval …>``);
- ``<sensml xmlns="urn:ietf:params:xml:ns:senml">`` is left out when there is no
  record (the client then yields zero records);
- the first record carries ``bn`` (the full series URN), ``bt`` (integer epoch
  seconds, UTC), ``bu`` and ``t="0"``; later records only ``t`` and ``v``; never
  ``u`` (the client concatenates ``bu`` and ``u``);
- holes are left out, never ``v="null"`` (the client crashes on ``float('null')``);
- one series per ``<data>``; values covering a period are stamped at its start.

Units go out as Quoalise writes them (W, Wh): SEN1's kWh/kW are scaled.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NS = "urn:quoalise:0"
SENML_NS = "urn:ietf:params:xml:ns:senml"
MAX_RECORDS = 5000
"""Per stanza: Prosody's default c2s stanza limit (256 KiB) is about 8,000 short
records and exceeding it kills the stream; the caller must narrow the window."""

_SCALE = {"kWh": ("Wh", 1000.0), "kW": ("W", 1000.0), "MWh": ("Wh", 1e6)}


class PayloadError(ValueError):
    """A Quoalise payload that cannot be read (message safe to log)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One value over a period starting at ``start`` (aware)."""

    start: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Measurement:
    """Shape-A ``<meta>`` of one series."""

    device_type: str
    identifier_authority: str
    identifier_type: str
    identifier_value: str
    name: str
    direction: str
    quantity: str
    unit: str
    sampling_interval: str | None = None
    aggregation: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    """SEN1 extensions on ``<measurement>`` (``sen1-points``…): readers ignore
    unknown keys (the client turns attributes into a dict)."""


def wire_unit(unit: str, value: float) -> tuple[str, float]:
    """SEN1's unit and value as Quoalise writes them (W/Wh)."""
    target, factor = _SCALE.get(unit, (unit, 1.0))
    return target, value * factor


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def build_data(urn: str, meta: Measurement, samples: list[Sample]) -> ET.Element:
    """The ``<data>`` element of one series (raises PayloadError above MAX_RECORDS)."""
    if len(samples) > MAX_RECORDS:
        raise PayloadError(
            f"response would be too big ({MAX_RECORDS} records at most): narrow the window"
        )
    for s in samples:
        if s.start.tzinfo is None:
            raise ValueError("sample stamps must be aware")
    data = ET.Element(_q("data"))
    m = ET.SubElement(data, _q("meta"))
    device = ET.SubElement(m, _q("device"), {"type": meta.device_type})
    ET.SubElement(
        device,
        _q("identifier"),
        {
            "authority": meta.identifier_authority,
            "type": meta.identifier_type,
            "value": meta.identifier_value,
        },
    )
    unit, _ = wire_unit(meta.unit, 0.0)
    attrs = {
        "name": meta.name,
        "direction": meta.direction,
        "quantity": meta.quantity,
        "type": "electrical",
        "unit": unit,
    }
    if meta.sampling_interval:
        attrs["sampling-interval"] = meta.sampling_interval
    if meta.aggregation:
        attrs["aggregation"] = meta.aggregation
    attrs.update(meta.extra)
    ET.SubElement(m, _q("measurement"), attrs)
    ordered = sorted(samples, key=lambda s: s.start)
    if not ordered:
        return data
    sensml = ET.SubElement(data, f"{{{SENML_NS}}}sensml")
    base = int(ordered[0].start.timestamp())
    for i, s in enumerate(ordered):
        _, value = wire_unit(meta.unit, s.value)
        # kWh -> Wh turns 1.751 into 1751.0000000000002: milli-units are plenty and
        # keep 5,000 records well under Prosody's 256 KiB stanza limit.
        value = round(value, 3)
        rec: dict[str, str] = {}
        if i == 0:
            rec = {"bn": urn, "bt": str(base), "bu": unit}
        rec["t"] = _num(int(s.start.timestamp()) - base)
        rec["v"] = _num(value)
        ET.SubElement(sensml, f"{{{SENML_NS}}}senml", rec)
    return data


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True, slots=True)
class Record:
    """One SenML record read back (base values resolved, RFC 8428 §4.6)."""

    name: str
    time: datetime
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Data:
    """A ``<data>`` read back: its meta as the client sees it, and its records."""

    meta: dict[str, Any] | None
    records: list[Record]


def find_data(root: ET.Element) -> ET.Element | None:
    """The first ``quoalise/data`` under ``root`` (what the reference client reads)."""
    for q in root.iter(_q("quoalise")):
        d = q.find(_q("data"))
        if d is not None:
            return d
    if root.tag == _q("quoalise"):
        return root.find(_q("data"))
    return None


def _meta_dict(el: ET.Element) -> dict[str, Any] | str | None:
    out: dict[str, Any] = dict(el.attrib)
    for child in el:
        key = child.tag.split("}", 1)[-1]
        value = _meta_dict(child)
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    if not out:
        text = (el.text or "").strip()
        return text or None
    return out


def parse_data(data: ET.Element) -> Data:
    """Reads a ``<data>`` as the reference client does, stricter on bad values.

    ``<meta>`` is required; base attributes carry forward; a record without a
    numeric ``v`` (``vs``/``vb``/``vd``, or the ``null`` proposal) is refused rather
    than read as None, so a bad record cannot pass for a zero.
    """
    meta_el = data.find(_q("meta"))
    if meta_el is None:
        raise PayloadError("<data> without <meta>")
    meta = _meta_dict(meta_el)
    records: list[Record] = []
    sensml = data.find(f"{{{SENML_NS}}}sensml")
    if sensml is not None:
        bn, bt, bu, bv = "", 0.0, "", 0.0
        for rec in sensml.findall(f"{{{SENML_NS}}}senml"):
            a = rec.attrib
            try:
                bn = a.get("bn", bn)
                bt = float(a.get("bt", bt))
                bv = float(a.get("bv", bv))
                bu = a.get("bu", bu)
                if "v" not in a:
                    raise PayloadError("a SenML record without a numeric v")
                value = float(a["v"]) + bv
                t = bt + float(a.get("t", "0"))
            except ValueError as exc:
                raise PayloadError(f"bad SenML record: {exc}") from exc
            if value != value:  # NaN: float('nan') parses
                raise PayloadError("a SenML record with NaN")
            records.append(
                Record(
                    name=bn + a.get("n", ""),
                    time=datetime.fromtimestamp(t, UTC),
                    value=value,
                    unit=bu + a.get("u", "")
                    if "u" in a and not bu
                    else bu or a.get("u", ""),
                )
            )
    return Data(meta if isinstance(meta, dict) else None, records)
