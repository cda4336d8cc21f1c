"""What counts as this machine for the demo-secret and host-key guards."""

from __future__ import annotations

import pytest

from energy_core.settings import is_loopback


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "127.81.3.200", "::1", "[::1]"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [None, "", "example.org", "localhost.example.org", "128.0.0.1", "10.0.0.1",
     "0.0.0.0", "127.0.0.1.nip.io", "::ffff:8.8.8.8"],
)  # fmt: skip
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback(host)
