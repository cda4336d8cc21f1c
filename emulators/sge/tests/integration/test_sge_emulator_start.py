"""A start that fails (a port taken) closes what it had opened: SOAP and SFTP
listeners left open by a failed start leaked sockets that surfaced later as an
unrelated test's error, and kept their ports taken."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sen1_stack.broker import free_port
from sge_emulator.testing import running

pytestmark = pytest.mark.integration


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_a_taken_proxy_port_fails_the_start_and_frees_the_others(
    tmp_path: Path,
) -> None:
    soap, sftp = free_port(), free_port()
    ports = iter((soap, sftp))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proxy = taken.getsockname()[1]
        with pytest.raises(OSError, match="address already in use"):
            async with running(tmp_path / "sge", lambda: next(ports), proxy_port=proxy):
                pytest.fail("started on a taken port")
    assert _bindable(soap)
    assert _bindable(sftp)
