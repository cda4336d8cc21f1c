"""A real SFTP drop for the tests: asyncssh's server on a free loopback port,
chrooted to a temporary folder the test writes flux files into."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest_asyncio

from ingest_sge.client import SftpTarget

USER, PASSWORD = "sen1", "drop-pw"
PATTERNS = ("*R50*.zip", "*R151*.zip", "*R171*.zip", "*R4Q*.zip")
BULK_DIR = "R63_R64_R65_R66_R67_C68"
BULK_PATTERNS = ("*R63*.zip", "*R64*.zip", "*C68*.zip")


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


@dataclass
class SftpDropServer:
    """Where the test's drop is: its folder and its port."""

    root: Path
    port: int

    def target(self, password: str = PASSWORD) -> SftpTarget:
        return SftpTarget(
            "127.0.0.1",
            self.port,
            USER,
            password,
            None,
            None,
            "/",
            PATTERNS,
            5.0,
            bulk_dir=BULK_DIR,
            bulk_patterns=BULK_PATTERNS,
        )


@pytest_asyncio.fixture
async def drop(tmp_path: Path) -> AsyncIterator[SftpDropServer]:
    root = tmp_path / "drop"
    root.mkdir()
    server = await asyncssh.create_server(
        _Server,
        "127.0.0.1",
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield SftpDropServer(root, port)
    finally:
        server.close()
        await server.wait_closed()
