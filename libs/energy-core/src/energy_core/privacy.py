"""The secrecy gate every aggregate passes before it leaves SEN1 (api and federation).

Shared by the api and the federation gateway: services may not import each other,
and an aggregate must face the same rule whichever door it leaves by.

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
    """Thresholds (API_SECRECY_* in the api, FEDERATION_GATEWAY_SECRECY_* at the gateway)."""

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
        consumers_reporting: int | None = None,
        producers_reporting: int | None = None,
    ) -> LoadVerdict:
        """Live (or alert) load of a neighbourhood, per direction and net.

        When the sample says how many delivery points make each direction
        (``consumers_reporting``/``producers_reporting``, written by the aggregator
        since revision 1105), each direction faces the threshold with its own count:
        a PV home is a consumer AND a producer, so the bound below would hide the
        consumption of an IRIS where most homes have panels.

        Otherwise (older samples, alerts' worst sample), ``meters_reporting`` mixes
        consumption and production points; the IRIS has only ``producers``
        production points (registry), so at least ``meters_reporting - producers``
        of the reporting points are consumers, and at least ``meters_reporting -
        consumers`` are producers. Those lower bounds face the threshold. The net
        load (consumption - production) is published only when both parts are,
        else ``net - consumption`` would give the production of a few homes away.
        ``None`` (no sample) counts as nobody reporting.
        """
        reporting = meters_reporting or 0
        making_consumption = (
            consumers_reporting
            if consumers_reporting is not None
            else max(0, reporting - producers)
        )
        making_production = (
            producers_reporting
            if producers_reporting is not None
            else max(0, reporting - consumers)
        )
        consumption = self._points(making_consumption)
        if producers == 0 and production_kw == 0:
            production = Verdict(True)  # no producer: zero reveals nobody
        else:
            production = self._points(making_production)
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


@dataclass(frozen=True, slots=True)
class Figures:
    """What an aggregate (or a group of them) weighs in one bucket."""

    points: int
    value: float
    max_point: float


@dataclass(frozen=True, slots=True)
class Children:
    """The children of one parent in one bucket, split by the primary rule."""

    passing_points: int
    passing_value: float
    failing_points: int
    failing_max: float


def unknown_part(parent: Figures, kids: Children) -> Figures:
    """What stays unknown of ``parent`` once every passing child is published.

    Its largest point: among the failing children, or, when some points are in no
    child at all, bounded by the parent's own largest point.
    """
    points = parent.points - kids.passing_points
    top = parent.max_point if points > kids.failing_points else kids.failing_max
    return Figures(points, parent.value - kids.passing_value, top)


def _safe(rule: SecrecyRule, rest: Figures, parent_published: bool) -> bool:
    # Published parent: an empty rest hides nothing. Withheld parent: the rest must
    # pass the rule itself, or the children would rebuild the parent.
    if parent_published and rest.points <= 0:
        return True
    return rule.check(
        delivery_points=rest.points, value=rest.value, max_point_value=rest.max_point
    ).published


def rest_is_safe(
    rule: SecrecyRule, parent: Figures, parent_published: bool, kids: Children
) -> bool:
    """Whether every passing child may be published under this parent."""
    return _safe(rule, unknown_part(parent, kids), parent_published)


def withheld(
    rule: SecrecyRule,
    parent: Figures,
    parent_published: bool,
    kids: Children,
    passing: list[tuple[str, Figures]],
) -> set[str]:
    """Complementary suppression: the passing children (ids) to withhold, smallest
    first (points, value, id), until what stays unknown of the parent is safe."""
    rest = unknown_part(parent, kids)
    out: set[str] = set()
    if _safe(rule, rest, parent_published):
        return out
    points, value, top = rest.points, rest.value, rest.max_point
    for cid, f in sorted(passing, key=lambda c: (c[1].points, c[1].value, c[0])):
        out.add(cid)
        points, value, top = points + f.points, value + f.value, max(top, f.max_point)
        if _safe(rule, Figures(points, value, top), parent_published):
            break
    return out


def _time_rest_safe(
    rule: SecrecyRule,
    parent: Figures,
    parent_published: bool,
    published: list[Figures],
    unknown: list[Figures],
) -> bool:
    # The same homes report in every bucket, so points do not add up across
    # buckets as they do across places: the unknown buckets together hold at least
    # as many points as the fullest of them (a lower bound, as the rule wants), and
    # one point weighs in them at most the sum of their largest points, never more
    # than in the whole parent (upper bounds: the safe side for dominance).
    value = parent.value - sum(f.value for f in published)
    # Data may feed the parent and no child (a daily reading feeds P1D and P1M but
    # no hour): that part's points are unknown and only the parent's largest point
    # bounds one point's weight in it.
    explained = abs(value - sum(f.value for f in unknown)) <= 1e-6 * max(
        1.0, abs(parent.value)
    )
    if parent_published and not unknown and explained:
        return True  # the parent is exactly its published children
    top = min(parent.max_point, sum(f.max_point for f in unknown))
    if not explained:
        top = parent.max_point
    points = max((f.points for f in unknown), default=0)
    return rule.check(
        delivery_points=points, value=value, max_point_value=top
    ).published


def withheld_in_time(
    rule: SecrecyRule,
    parent: Figures,
    parent_published: bool,
    children: list[tuple[str, Figures, bool]],
) -> set[str]:
    """Complementary suppression across bucket sizes (a month and its days, a day
    and its hours, an hour and its half-hours).

    ``children`` are ALL the finer buckets of ``parent`` (id, figures, published
    so far). A published parent minus its published children gives the sum of the
    others; withhold more published children, smallest first (points, value, id),
    until that rest is safe. A withheld parent must not be rebuilt from its
    children either: then the rest must pass the rule itself.
    """
    published = [f for _, f, ok in children if ok]
    unknown = [f for _, f, ok in children if not ok]
    out: set[str] = set()
    if _time_rest_safe(rule, parent, parent_published, published, unknown):
        return out
    for cid, f, _ in sorted(
        (c for c in children if c[2]), key=lambda c: (c[1].points, c[1].value, c[0])
    ):
        out.add(cid)
        published.remove(f)
        unknown.append(f)
        if _time_rest_safe(rule, parent, parent_published, published, unknown):
            break
    return out
