"""NDJSON as ADICT really sends it, parsed whatever the Content-Type says.

Production streams one object per line (``\\n`` or ``\\r\\n``); the sandbox
pretty-prints objects and writes them back to back (``}{``); a proxy may put
junk before the first object; lists end with a ``code_statut_traitement``
trailer. Objects are read with ``raw_decode`` from each ``{``: a line that does
not parse is reported (so the caller dead-letters it) and the rest is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_DECODER = json.JSONDecoder()


@dataclass(slots=True)
class Parsed:
    """Objects in order, the trailer (if any) and the unparseable fragments."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    trailer: dict[str, Any] | None = None
    broken: list[str] = field(default_factory=list)


def is_trailer(obj: dict[str, Any]) -> bool:
    """The list's last line: a processing status without a PCE or a right."""
    return "code_statut_traitement" in obj and "id_pce" not in obj and "pce" not in obj


def parse(text: str) -> Parsed:
    """Every JSON object of ``text``; skips whitespace and junk between them."""
    out = Parsed()
    i, n = 0, len(text)
    while i < n:
        start = text.find("{", i)
        if start < 0:
            if text[i:].strip():
                out.broken.append(text[i:].strip()[:200])
            break
        junk = text[i:start].strip()
        if junk and out.objects:  # junk between objects is a broken record
            out.broken.append(junk[:200])
        try:
            obj, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            line_end = text.find("\n", start)
            end = n if line_end < 0 else line_end + 1
            out.broken.append(text[start:end].strip()[:200])
            i = end
            continue
        if isinstance(obj, dict):
            if is_trailer(obj):
                out.trailer = obj
            else:
                out.objects.append(obj)
        i = end
    return out
