"""NDJSON as ADICT sends it: CRLF, junk, pretty-printed objects, the trailer."""

from __future__ import annotations

import json

from ingest_grdf.client import parse

A = {"pce": {"id_pce": "GI999055"}, "n": 1}
B = {"pce": {"id_pce": "GI999055"}, "n": 2}
TRAILER = {"code_statut_traitement": "0000000000", "message_retour_traitement": "ok"}


def test_one_object_per_line_with_crlf_and_trailer() -> None:
    text = "\r\n".join(json.dumps(o) for o in (A, B, TRAILER)) + "\r\n"
    parsed = parse(text)
    assert parsed.objects == [A, B]
    assert parsed.trailer == TRAILER
    assert parsed.broken == []


def test_pretty_printed_objects_back_to_back() -> None:
    text = "".join(json.dumps(o, indent=2) for o in (A, B, TRAILER))
    parsed = parse(text)
    assert parsed.objects == [A, B]
    assert parsed.trailer == TRAILER


def test_leading_junk_is_skipped_and_a_broken_line_is_reported() -> None:
    text = "\ufeff)]}'\n" + json.dumps(A) + '\n{"pce": broken\n' + json.dumps(B) + "\n"
    parsed = parse(text)
    assert parsed.objects == [A, B]
    assert len(parsed.broken) == 1
    assert "broken" in parsed.broken[0]


def test_empty_body() -> None:
    parsed = parse("")
    assert parsed.objects == []
    assert parsed.trailer is None
    assert parsed.broken == []
