"""Enedis Data Connect v5 emulator (sandbox customers 0-8 + demo territory PRMs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from enedis_emulator import customers, profiles
from enedis_emulator.app import EmulatorState, build_app
from enedis_emulator.profiles import SANDBOX, Meter
from enedis_emulator.settings import EmulatorSettings

__all__ = ["SANDBOX", "EmulatorState", "Meter", "build_app", "build_state"]


def build_state(
    settings: EmulatorSettings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> EmulatorState:
    """Sandbox meters, then the demo PRMs, then ``extra_prms`` synthetic ones."""
    meters = list(SANDBOX)
    today = clock().date()
    holders: dict[str, customers.Holder] = {}
    if settings.with_demo:
        holders = customers.demo_holders()
        from energy_store import demo  # the demo territory is the emulator's customers

        territory = demo.build()
        meters += [
            profiles.demo_meter(str(prm), i, today, territory.homes.get(str(prm)))
            for i, prm in enumerate(territory.prms)
        ]
    meters += [
        Meter(profiles.synthetic_prm(i))
        if settings.extra_plain
        else profiles.demo_meter(profiles.synthetic_prm(i), i, today)
        for i in range(settings.extra_prms)
    ]
    state = EmulatorState(settings, meters, clock)
    state.holders = holders
    return state
