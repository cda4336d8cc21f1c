"""The SFTP drop: a chrooted, read-mostly view of the folder the nights write to.

asyncssh serves it with a password account (the Tiers' drop credentials);
clients list, download and delete files there as on the real drop.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import asyncssh


def ensure_host_key(directory: Path) -> Path:
    """An Ed25519 host key kept in the state folder (stable fingerprint across restarts)."""
    path = directory / "sftp_host_key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(str(path))
        path.chmod(0o600)
    return path


class _Server(asyncssh.SSHServer):
    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username, self._user) and hmac.compare_digest(
            password, self._password
        )


async def start_sftp(
    host: str, port: int, root: Path, host_key: Path, user: str, password: str
) -> asyncssh.SSHAcceptor:
    """Listens on ``host:port``; every session is chrooted to ``root``."""
    chroot = str(root)

    def sftp_factory(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=chroot.encode())

    return await asyncssh.listen(
        host,
        port,
        server_host_keys=[str(host_key)],
        server_factory=lambda: _Server(user, password),
        sftp_factory=sftp_factory,
        allow_scp=False,
    )
