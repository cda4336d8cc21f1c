"""PKI reuse, the stack entry point, the October hour setting."""

from __future__ import annotations

import ssl
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

from sge_emulator import build_state, client_ssl_context, server_ssl_context
from sge_emulator.catalogue import Point
from sge_emulator.pki import ensure_pki
from sge_emulator.services import curve_points
from sge_emulator.settings import EmulatorSettings


def test_pki_is_created_once_then_reused(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    ca = first.ca_pem.read_bytes()
    second = ensure_pki(tmp_path)
    assert second.ca_pem.read_bytes() == ca
    assert first.client_pem.read_text().count("BEGIN CERTIFICATE") == 2  # full chain
    assert oct(first.client_key.stat().st_mode & 0o777) == "0o600"
    server = server_ssl_context(first)
    assert server.verify_mode is ssl.CERT_REQUIRED
    assert server.minimum_version is ssl.TLSVersion.TLSv1_2
    client_ssl_context(first)  # the client key matches its certificate (else it raises)


def test_stack_entry_point_announces_the_emulator() -> None:
    [entry] = [e for e in entry_points(group="sen1.stack") if e.name == "sge-emulator"]
    [spec] = entry.load()({"host": "127.0.0.1", "python": "python"})
    assert spec["argv"][-2:] == ["-m", "sge_emulator"]
    assert spec["health_url"] == "http://127.0.0.1:8097/healthz"
    assert spec["env"]["SGE_EMULATOR_AUTOSUBSCRIBE_DEMO"] == "true"


def test_october_repeated_hour_can_be_dropped(tmp_path: Path) -> None:
    point = Point("25162373298976", "C5", "office", "1 RUE", "84160", "84042", "X", "X")
    stamps = {}
    for mode in ("repeat", "drop"):
        state = build_state(
            EmulatorSettings(
                start_date="2026-11-23",
                with_demo=False,
                state_dir=str(tmp_path),
                october_duplicate=mode,
            )
        )
        stamps[mode] = curve_points(
            state, point, date(2026, 10, 25), date(2026, 10, 26)
        )
    assert len(stamps["repeat"]) == 50
    assert len(stamps["drop"]) == 48


def test_autosubscribe_covers_every_demo_point(tmp_path: Path) -> None:
    state = build_state(
        EmulatorSettings(
            start_date="2026-11-23", state_dir=str(tmp_path), autosubscribe_demo=True
        )
    )
    demo = {p.prm for p in state.catalogue if "demo" in p.tags}
    subscribed = {s.prm for s in state.subscriptions.values() if s.kind == "CDC"}
    assert demo
    assert demo <= subscribed
