"""The MQTT broker for emulated Flukso devices: Mosquitto when installed, else amqtt.

Mosquitto (Debian package, installed by .ci/run) carries tests and benchmarks at
scale; amqtt (pure Python, about 1,500 messages/s here) is only the fallback that
lets `make run` work on a machine without Mosquitto.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sen1_stack.broker import port_is_free, terminate, wait_for_port


def mosquitto_path() -> str | None:
    """The mosquitto binary, if installed (Debian puts it in /usr/sbin)."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


class MqttBroker:
    """Starts Mosquitto (or amqtt) on host:port with anonymous access, no persistence."""

    def __init__(
        self,
        work_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        require_mosquitto: bool = False,
    ) -> None:
        self.work_dir = work_dir
        self.host = host
        self.port = port
        self._require = require_mosquitto
        self._process: subprocess.Popen[bytes] | None = None
        self.implementation = ""

    def start(self, timeout: float = 15.0) -> None:
        """Starts the broker and waits until it listens."""
        if not port_is_free(self.host, self.port):
            raise RuntimeError(
                f"MQTT port {self.host}:{self.port} is already in use; "
                "set SEN1_MQTT_PORT to another port"
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.work_dir / "mqtt.log", "ab")  # noqa: SIM115 - owned by the child
        binary = mosquitto_path()
        if binary:
            conf = self.work_dir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} {self.host}\nallow_anonymous true\n"
                "persistence false\nmax_queued_messages 100000\n"
                "max_inflight_messages 0\nlog_dest stderr\nlog_type error\n"
            )
            argv = [binary, "-c", str(conf)]
            self.implementation = "mosquitto"
        elif self._require:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        else:
            conf = self.work_dir / "amqtt.yaml"
            conf.write_text(
                "listeners:\n  default:\n    type: tcp\n"
                f"    bind: {self.host}:{self.port}\n"
                "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                "    allow_anonymous: true\n"
            )
            argv = [
                sys.executable,
                "-m",
                "amqtt.scripts.broker_script",
                "-c",
                str(conf),
            ]
            self.implementation = "amqtt"
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed args
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()  # the child keeps its own descriptor
        wait_for_port(self.host, self.port, timeout, self._process)

    def stop(self) -> None:
        """Terminates the broker."""
        terminate(self._process)
        self._process = None
