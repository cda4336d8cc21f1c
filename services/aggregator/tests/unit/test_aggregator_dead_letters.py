"""A dead-letter record -> the row stored: no meter id, no payload, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.dead_letters import REASON_MAX, UNREADABLE, to_row
from energy_core.wire import dead_letter

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
SENSOR = "ab" * 16


def test_reason_keeps_no_meter_id_and_the_payload_is_dropped() -> None:
    letter = dead_letter(
        service="ingest-flukso",
        reason=f"sensor {SENSOR}: counter went backwards at 30001610071843",
        error_type="PayloadInvalidError",
        origin=f"/sensor/{SENSOR}/gauge",
        payload=b"secret",
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    row = to_row("dl", 2, 41, letter.SerializeToString(), now=NOW)
    assert (row.topic, row.partition, row.offset) == ("dl", 2, 41)
    assert row.service == "ingest-flukso"
    assert row.reason == "sensor [id]: counter went backwards at [id]"
    assert row.occurred_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert "secret" not in repr(row)
    assert SENSOR not in repr(row)


def test_long_reasons_are_cut_and_garbage_is_counted_as_unknown() -> None:
    letter = dead_letter(service="x", origin="o", payload=b"", reason="r" * 5000)
    assert len(to_row("dl", 0, 0, letter.SerializeToString(), now=NOW).reason) == (
        REASON_MAX
    )
    garbage = to_row("dl", 0, 1, b"\xff\xff\xff", now=NOW)
    assert (garbage.service, garbage.reason, garbage.occurred_at) == (
        "unknown", UNREADABLE, NOW,
    )  # fmt: skip
    empty = to_row("dl", 0, 2, None, now=NOW)
    assert empty.service == "unknown"
