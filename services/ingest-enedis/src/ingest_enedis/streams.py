"""The Data Connect metering resources SEN1 collects (pure: no I/O, no imports).

Shared vocabulary of the client (the value is the resource's path under the
gateway), the mapping (curve or daily, direction) and the cursor tables
(``short``). It lives apart so that neither the client nor the mapping imports
the other.
"""

from __future__ import annotations

from enum import StrEnum

from energy_core.domain import Direction


class Stream(StrEnum):
    """One Data Connect metering resource; the value is its path under the gateway."""

    DAILY_CONSUMPTION = "metering_data_dc/v5/daily_consumption"
    LOAD_CURVE = "metering_data_clc/v5/consumption_load_curve"
    MAX_POWER = "metering_data_dcmp/v5/daily_consumption_max_power"
    DAILY_PRODUCTION = "metering_data_dp/v5/daily_production"
    PRODUCTION_CURVE = "metering_data_plc/v5/production_load_curve"

    @property
    def is_curve(self) -> bool:
        """Curves are limited to 7-day windows and 24 months of history."""
        return self in (Stream.LOAD_CURVE, Stream.PRODUCTION_CURVE)

    @property
    def first_pass(self) -> bool:
        """Daily energy (``dc``, ``dp``): asked for every PRM before anything else.

        What the dashboards show first (a year of kWh per home, building and
        neighbourhood). Daily max power (``dcmp``, as many readings as the daily
        energy, shown only on a resident's detail) waits for the second pass
        with the curves: a demo backfill puts ~40 % fewer readings ahead of the
        last home's year of kWh.
        """
        return self in (Stream.DAILY_CONSUMPTION, Stream.DAILY_PRODUCTION)

    @property
    def direction(self) -> Direction:
        """Production resources carry ``Direction.PRODUCTION``."""
        if self in (Stream.DAILY_PRODUCTION, Stream.PRODUCTION_CURVE):
            return Direction.PRODUCTION
        return Direction.CONSUMPTION

    @property
    def short(self) -> str:
        """Short stable name used in our tables (``dc``, ``clc``, ``dcmp``…)."""
        return self.value.split("/", 1)[0].removeprefix("metering_data_")
