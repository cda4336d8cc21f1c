"""The secrecy gate every aggregate passes before it leaves the api.

Rule (landscape §4.1, code de l'énergie D111-53): publish an aggregate only if it
covers at least ``min_points`` distinct delivery points (10 by default) and, when a
dominance share is configured, no single point weighs more than that share of the
total. Otherwise the value is withheld and the response says why.
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
