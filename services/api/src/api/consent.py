"""The Enedis consent entry point, behind a port so ingest-enedis can take it over.

The default implementation builds the Data Connect authorize URL
(``client_id``, ``response_type=code``, ``state``, ``duration`` ≤ P3Y) from settings.
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlencode

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def duration_months(value: str) -> float:
    """Months in an ISO 8601 date duration (P3Y, P36M, P1Y6M, P90D); -1 if invalid."""
    match = _DURATION.match(value)
    if not match or not any(match.groups()):
        return -1
    years, months, days = (int(g or 0) for g in match.groups())
    return years * 12 + months + days / 31


class ConsentPort(Protocol):
    """Where to send a resident to grant SEN1 access to their Linky data."""

    def authorize_url(self, *, state: str, duration: str) -> str:
        """The URL to redirect the browser to."""
        ...


class DataConnectAuthorize:
    """Builds Enedis Data Connect ``/oauth2/authorize`` URLs from settings."""

    def __init__(self, *, base_url: str, client_id: str, redirect_uri: str) -> None:
        self._base = base_url
        self._client_id = client_id
        self._redirect = redirect_uri

    def authorize_url(self, *, state: str, duration: str) -> str:
        """Refuses durations beyond three years (Enedis: maximum_duration_exceeded)."""
        if not 0 < duration_months(duration) <= 36:
            raise ValueError("duration must be an ISO 8601 period of at most P3Y")
        query = urlencode(
            {
                "client_id": self._client_id,
                "response_type": "code",
                "redirect_uri": self._redirect,
                "state": state,
                "duration": duration,
            }
        )
        return f"{self._base}?{query}"
