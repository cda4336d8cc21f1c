"""A real Prosody (Debian's ``prosody`` package) for XMPP tests, on a free port.

Generated config in a temp dir: one or more virtual hosts sharing one self-signed
certificate (SANs for every host), c2s on 127.0.0.1 and ::1 with STARTTLS required,
no s2s, no ``limits`` module (Debian's default config throttles c2s to 10 kb/s),
accounts created with ``prosodyctl register``, data in the temp dir. Two virtual
hosts on one Prosody are enough to test cross-domain addressing without s2s.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sen1_stack.broker import terminate, wait_for_port


def prosody_path() -> str | None:
    """The prosody binary, if installed."""
    return shutil.which("prosody") or (
        "/usr/bin/prosody" if Path("/usr/bin/prosody").exists() else None
    )


class Prosody:
    """Starts Prosody in the foreground; ``register()`` adds accounts."""

    def __init__(
        self, work_dir: Path, *, port: int, hosts: tuple[str, ...] = ("localhost",)
    ) -> None:
        self.work_dir = work_dir
        self.port = port
        self.hosts = hosts
        self.host = "127.0.0.1"
        self.config = work_dir / "prosody.cfg.lua"
        self.ca_file = str(work_dir / "certs" / "server.crt")
        self._process: subprocess.Popen[bytes] | None = None

    def _certificate(self) -> None:
        certs = self.work_dir / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        san = ",".join(f"DNS:{h}" for h in self.hosts)
        subprocess.run(  # noqa: S603 - fixed args, our own temp paths
            [
                shutil.which("openssl") or "/usr/bin/openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={self.hosts[0]}",
                "-addext",
                f"subjectAltName={san}",
                "-keyout",
                str(certs / "server.key"),
                "-out",
                str(certs / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )

    def _write_config(self) -> None:
        d = self.work_dir
        hosts = "\n".join(
            f'VirtualHost "{h}"\n  ssl = {{ certificate = "{d}/certs/server.crt"; '
            f'key = "{d}/certs/server.key" }}'
            for h in self.hosts
        )
        self.config.write_text(
            f"""
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}/certs"
run_as_root = true
daemonize = false
log = {{ info = "{d}/prosody.log"; error = "{d}/prosody.err" }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "presence";
  "message"; "iq"; "offline"; "posix" }}
modules_disabled = {{ "s2s"; "limits" }}
interfaces = {{ "127.0.0.1"; "::1" }}
c2s_ports = {{ {self.port} }}
s2s_ports = {{}}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
http_ports = {{}}
https_ports = {{}}
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
{hosts}
"""
        )

    def register(self, user: str, host: str, password: str) -> str:
        """Creates an account; returns its bare JID."""
        subprocess.run(  # noqa: S603 - fixed args; names come from the tests
            [
                shutil.which("prosodyctl") or "/usr/bin/prosodyctl",
                "--config",
                str(self.config),
                "register",
                user,
                host,
                password,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return f"{user}@{host}"

    def start(self, timeout: float = 15.0) -> None:
        binary = prosody_path()
        if binary is None:
            raise RuntimeError("prosody is not installed (apt-get install prosody)")
        (self.work_dir / "data").mkdir(parents=True, exist_ok=True)
        self._certificate()
        self._write_config()
        with open(self.work_dir / "stdout.log", "ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed args
                [binary, "--config", str(self.config), "-F"], stdout=log, stderr=log
            )
        wait_for_port(self.host, self.port, timeout)

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process)
            self._process = None
