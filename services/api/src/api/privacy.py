"""The secrecy gate every aggregate passes before it leaves the api.

Rule (landscape §4.1, code de l'énergie D111-53): publish an aggregate only if it
covers at least ``min_points`` distinct delivery points (10 by default) and, when a
dominance share is configured, no single point weighs more than that share of the
total. Otherwise the value is withheld and the response says why (never how many
points there were).

Live load is special: ``neighbourhood_load`` counts the reporting meters of both
directions together and has no largest-point figure, so :meth:`SecrecyRule.check_load`
bounds each direction from below with the registry (see there) and cannot apply
the dominance rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an aggregate may be published, and why not."""

    published: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SecrecyRule:
    """Thresholds, from API_SECRECY_MIN_POINTS and API_SECRECY_MAX_SHARE."""

    min_points: int = 10
    max_share: float | None = 0.85

    def check(
        self, *, delivery_points: int, value: float, max_point_value: float
    ) -> Verdict:
        """Decides for one aggregate; the reason is meant for people to read."""
        if delivery_points < self.min_points:
            # The count itself stays secret: "3 points" next to a suppressed value
            # says how many homes reported, which the threshold is meant to hide.
            return Verdict(False, f"fewer than {self.min_points} delivery points")
        if self.max_share is not None and max_point_value > 0:
            share = max_point_value / value if value > 0 else 1.0
            if share > self.max_share:
                return Verdict(
                    False,
                    f"one delivery point exceeds {self.max_share:.0%} of the total",
                )
        return Verdict(True)

    def _points(self, points: int) -> Verdict:
        return self.check(delivery_points=points, value=1.0, max_point_value=0.0)

    def check_load(
        self,
        *,
        meters_reporting: int | None,
        consumers: int,
        producers: int,
        production_kw: float,
    ) -> LoadVerdict:
        """Live (or alert) load of a neighbourhood, per direction and net.

        ``meters_reporting`` mixes consumption and production meters; the IRIS has
        only ``producers`` production meters (registry), so at least
        ``meters_reporting - producers`` of the reporting meters are consumers, and
        at least ``meters_reporting - consumers`` are producers. Those lower bounds
        face the threshold. The net load (consumption - production) is published only
        when both parts are, else ``net - consumption`` would give the production of
        a few homes away. ``None`` (no sample) counts as nobody reporting.
        """
        reporting = meters_reporting or 0
        consumption = self._points(max(0, reporting - producers))
        if producers == 0 and production_kw == 0:
            production = Verdict(True)  # no producer: zero reveals nobody
        else:
            production = self._points(max(0, reporting - consumers))
        if not consumption.published:
            net = consumption
        elif not production.published:
            net = Verdict(
                False,
                "the net load would reveal the production of fewer than "
                f"{self.min_points} delivery points",
            )
        else:
            net = Verdict(True)
        return LoadVerdict(consumption, production, net)


@dataclass(frozen=True, slots=True)
class LoadVerdict:
    """Verdicts of a neighbourhood load: consumption, production and net."""

    consumption: Verdict
    production: Verdict
    net: Verdict
