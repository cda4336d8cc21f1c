"""Enedis Data Connect consent rules shared by the api and ingest-enedis.

The api sends a resident to the Enedis consent page and ingest-enedis (scripts,
tests) can too; neither may import the other, so the page URL and the duration
rule live here, once. Durations are ISO 8601 ``PnYnM`` from one month to three
years (Enedis refuses more with ``maximum_duration_exceeded``).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from energy_core.errors import InvalidValueError

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?")
MAX_MONTHS = 36


def duration_months(duration: str) -> int:
    """``P3Y`` -> 36, ``P1Y4M`` -> 16; refuses anything but 1 month to three years."""
    match = _DURATION.fullmatch(duration)
    if not match or not any(match.groups()):
        raise InvalidValueError("duration", duration, "ISO 8601 PnYnM, e.g. P3Y")
    months = int(match.group(1) or 0) * 12 + int(match.group(2) or 0)
    if not 0 < months <= MAX_MONTHS:
        raise InvalidValueError("duration", duration, "between 1 month and P3Y")
    return months


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    duration: str = "P3Y",
) -> str:
    """The Enedis consent page URL to send the resident's browser to.

    ``state`` (1 to 100 characters, Enedis' limit) binds the callback to this
    request; ``duration`` is checked by :func:`duration_months`. Both refusals are
    ``InvalidValueError`` naming the field.
    """
    duration_months(duration)
    if not 0 < len(state) <= 100:
        raise InvalidValueError("state", state, "1 to 100 characters")
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "duration": duration,
        }
    )
    return f"{endpoint}?{query}"
