"""The Enedis consent entry point, behind a port so another consent page can plug in.

The default implementation builds the Data Connect authorize URL
(``client_id``, ``response_type=code``, ``state``, ``duration`` ≤ P3Y) from settings.
Durations are validated by :func:`energy_store.consents.duration_months`, the rule
the callback applies when it stores the consent.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlencode

from energy_store.consents import duration_months


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
        """Refuses durations beyond three years (Enedis: maximum_duration_exceeded)
        with an ``InvalidValueError`` naming ``duration``."""
        duration_months(duration)
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
