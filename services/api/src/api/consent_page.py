"""The Enedis consent entry point, behind a port so another consent page can plug in.

The default implementation builds the Data Connect authorize URL
(``client_id``, ``response_type=code``, ``state``, ``duration`` ≤ P3Y) from settings
with :func:`energy_core.dataconnect.authorize_url`, the one builder ingest-enedis
uses too; its duration rule is the one the callback applies when it stores the
consent.
"""

from __future__ import annotations

from typing import Protocol

from energy_core.dataconnect import authorize_url


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
        return authorize_url(
            self._base,
            client_id=self._client_id,
            redirect_uri=self._redirect,
            state=state,
            duration=duration,
        )
