"""The urn:quoalise:0 payload, built and read back (pure; no XMPP)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation_gateway.quoalise.payload import (
    MAX_RECORDS,
    Measurement,
    PayloadError,
    Sample,
    build_data,
    find_data,
    parse_data,
)
from federation_gateway.quoalise.reader import inbound_rows, provenance

URN = "urn:dev:prm:30001610071843_consumption/energy/active/daily"
META = Measurement(
    "electricity-meter",
    "enedis",
    "prm",
    "30001610071843",
    "active-energy",
    "consumption",
    "energy",
    "kWh",
    "P1D",
)
T0 = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
SENML = "{urn:ietf:params:xml:ns:senml}"


def test_empty_history_still_sends_meta_and_no_sensml() -> None:
    data = build_data(URN, META, [])
    assert data.find("{urn:quoalise:0}meta") is not None
    assert data.find(f"{SENML}sensml") is None
    assert parse_data(data).records == []


def test_first_record_carries_the_bases_later_ones_only_t_and_v() -> None:
    # Paris 29 March 2026 is a 23 h day: stamps are UTC epochs, the gap is 23 h.
    data = build_data(
        URN, META, [Sample(T0 + timedelta(hours=23), 2.5), Sample(T0, 1.0)]
    )
    recs = data.findall(f"{SENML}sensml/{SENML}senml")
    assert recs[0].attrib == {
        "bn": URN,
        "bt": str(int(T0.timestamp())),
        "bu": "Wh",
        "t": "0",
        "v": "1000",
    }
    assert recs[1].attrib == {"t": str(23 * 3600), "v": "2500"}
    meas = data.find("{urn:quoalise:0}meta/{urn:quoalise:0}measurement")
    assert meas is not None
    assert meas.get("unit") == "Wh"
    assert meas.get("sampling-interval") == "P1D"


def test_too_many_records_is_refused() -> None:
    samples = [
        Sample(T0 + timedelta(minutes=30 * i), 1.0) for i in range(MAX_RECORDS + 1)
    ]
    with pytest.raises(PayloadError, match="narrow the window"):
        build_data(URN, META, samples)


@pytest.mark.parametrize(
    "records",
    [
        '<senml bn="x" bt="0" v="null"/>',  # the "Bouchage de trous" proposal
        '<senml bn="x" bt="0" vs="text"/>',
        '<senml bn="x" bt="0" v="nan"/>',
    ],
)
def test_records_without_a_number_are_refused(records: str) -> None:
    xml = (
        '<data xmlns="urn:quoalise:0"><meta/>'
        f'<sensml xmlns="urn:ietf:params:xml:ns:senml">{records}</sensml></data>'
    )
    with pytest.raises(PayloadError):
        parse_data(ET.fromstring(xml))  # noqa: S314 - fixed test XML


def test_data_without_meta_is_refused() -> None:
    with pytest.raises(PayloadError, match="meta"):
        parse_data(ET.fromstring('<data xmlns="urn:quoalise:0"/>'))  # noqa: S314


def test_reads_the_client_test_shape_with_float_bases_and_n_suffixes() -> None:
    xml = (
        '<command xmlns="http://jabber.org/protocol/commands"><quoalise xmlns="urn:quoalise:0"><data><meta>'
        '<device type="electricity-meter"><identifier authority="enedis" type="prm" value="1"/></device>'
        '</meta><sensml xmlns="urn:ietf:params:xml:ns:senml">'
        '<senml bn="urn:dev:prm:1_" bt="1638313200.0" bu="Wh" n="a" t="0.0" v="10"/>'
        '<senml n="b" t="1800.0" v="11.5"/></sensml></data></quoalise></command>'
    )
    data = find_data(ET.fromstring(xml))  # noqa: S314 - fixed test XML
    assert data is not None
    parsed = parse_data(data)
    assert [r.name for r in parsed.records] == ["urn:dev:prm:1_a", "urn:dev:prm:1_b"]
    assert parsed.records[1].time == datetime.fromtimestamp(1638315000, UTC)
    assert parsed.meta == {
        "device": {
            "type": "electricity-meter",
            "identifier": {"authority": "enedis", "type": "prm", "value": "1"},
        }
    }
    # Only the asked series becomes inbound rows: a provider cannot slip in another.
    assert inbound_rows(parsed, "urn:dev:prm:1_a")[0].value == 10.0
    assert len(inbound_rows(parsed, "urn:dev:prm:1_a")) == 1


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(-(10**6), 10**6)),
        unique_by=lambda x: x[0],
        max_size=50,
    )
)
def test_round_trip(points: list[tuple[int, int]]) -> None:
    samples = [Sample(T0 + timedelta(minutes=30 * i), v / 8) for i, v in points]
    parsed = parse_data(build_data(URN, META, samples))
    got = sorted((r.time, r.value) for r in parsed.records)
    assert got == sorted((s.start, s.value * 1000) for s in samples)
    keyid, key = provenance("proxy@a.example/proxy", inbound_rows(parsed, URN))
    assert keyid == "xmpp:proxy@a.example"
    assert key.startswith("quoalise:proxy@a.example:")


def test_the_record_cap_fits_prosodys_default_stanza_limit() -> None:
    """5,000 half-hour records of awkward decimals stay under 256 KiB."""
    meta = Measurement(
        "electricity-meter",
        "enedis",
        "prm",
        "30001610071843",
        "active-power",
        "consumption",
        "power",
        "kW",
        "PT30M",
    )
    samples = [
        Sample(T0 + timedelta(minutes=30 * i), 9.876543 - i % 97 / 7)
        for i in range(MAX_RECORDS)
    ]
    data = build_data(
        URN.replace("energy/active/daily", "power/active/raw"), meta, samples
    )
    assert len(ET.tostring(data)) < 256 * 1024
