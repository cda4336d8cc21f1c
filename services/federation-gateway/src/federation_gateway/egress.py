"""What may leave this collective for a peer: ONE function, :func:`decide`.

Every binding (HTTPS pulls and pushes, the Quoalise XMPP binding) asks
:func:`decide` about each item before it is serialised for a peer, so the rules are
written once:

- the peer must be registered and not revoked;
- an **aggregate** leaves only if the peer's grant covers its territory, level and
  bucket, and the secrecy rule holds (the api's rule, ``energy_core.privacy``: at
  least ``min_points`` distinct delivery points, no point above ``max_share``) and
  complementary suppression in space holds: when the item comes with its
  :class:`Family` (its parent's figures and ALL its siblings in that bucket, read
  whole whatever the peer asked for, since a peer can ask twice), it is withheld
  if ``energy_core.privacy.withheld`` withholds it, exactly as the api would, so
  that the parent minus its published children never reveals a withheld child;
  and complementary suppression in time: with its :class:`Timeline` (the
  enclosing coarser bucket of the same territory and ALL its finer buckets) it is
  withheld if ``energy_core.privacy.withheld_in_time`` withholds it, so a month
  minus its published days never reveals a withheld day (the coarser bucket's
  own verdict first, recursively, as in the api);
- an **individual series** leaves only if the peer's grant allows series and a
  consent is live (verified, started, not expired, not revoked) *now*, names that
  peer as grantee, covers that meter, is ``verified``, its holder has
  ``meter_access()`` to the meter (verified consent and occupancy: a former
  tenant's consent opens nothing), and the requested period lies inside the
  holder's window of readings (occupancy, ``data_from``, expiry). Revocation is therefore effective on the very next request
  or push: nothing is cached.
- a **congestion alert** leaves only for a neighbourhood the grant covers (level
  ``neighbourhood``) with at least ``min_points`` electricity delivery points; it
  carries the level and the change, never a load figure;
- **inbound data** (a peer's series kept here) is re-shared only where its origin
  allowed it.

Pure: no I/O, the clock is passed in. The callers load the peer, the consent and
the figures; they never decide.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from energy_core.privacy import (
    Children,
    Figures,
    SecrecyRule,
    withheld,
    withheld_in_time,
)


@dataclass(frozen=True, slots=True)
class PeerGrant:
    """What the operator allows one peer (a row of ``federation_peers``)."""

    domain: str
    territories: frozenset[str] = frozenset()
    """IRIS or commune codes: a code covers itself and the places in it (an IRIS
    its parcels and buildings, a commune all of them)."""
    levels: frozenset[str] = frozenset()
    """Territory levels: ``neighbourhood`` (IRIS), ``parcel``, ``commune``, ``building``."""
    buckets: frozenset[str] = frozenset()
    """``PT30M``, ``PT1H``, ``P1D``, ``P1M``."""
    series: bool = False
    """Whether individual series may be asked for at all (each still needs a consent)."""
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Family:
    """An aggregate's parent place and every child of that parent, in one bucket.

    The children are ALL of them (the item included), not only those a peer asked
    for: what leaves must not depend on what was asked, or two requests would
    together publish what one would not.
    """

    parent: Figures | None
    """The parent's figures; None when it has no rollup in that bucket (nothing
    published to subtract from, so there is nothing to protect against)."""
    children: tuple[tuple[str, Figures], ...]
    parent_id: str = ""
    up: Family | None = None
    """The parent's own family (a parcel's IRIS among the commune's IRIS), None
    under the commune: the parent's verdict in space comes first, as in the
    api's top-down walk, since a withheld parent must not be rebuilt from its
    children."""


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One rollup of a territory, as it would leave."""

    level: str
    territory: str
    commune: str
    """The commune the territory lies in (grants may name the commune)."""
    bucket: str
    value: float
    delivery_points: int
    max_point_value: float
    family: Family | None = None
    """Its parent and siblings for complementary suppression; None at the top
    level (a commune has no parent here) or where the caller loads no family."""
    timeline: Timeline | None = None
    """Its enclosing coarser bucket and that bucket's finer ones; None for a
    month (nothing coarser) or where the caller loads none."""
    iris: str = ""
    """The IRIS a parcel or building lies in (grants may name the IRIS)."""

    @property
    def figures(self) -> Figures:
        return Figures(self.delivery_points, self.value, self.max_point_value)


@dataclass(frozen=True, slots=True)
class Timeline:
    """An aggregate's enclosing coarser bucket (same territory) and ALL that
    bucket's finer buckets, whatever a peer asked for (a peer can ask twice)."""

    me: str
    """The aggregate's own id among ``children`` (its bucket start, ISO 8601)."""
    parent: Aggregate | None
    """The coarser bucket, with its own family and timeline (its verdict comes
    first); None when it has no rollup (nothing to subtract from)."""
    children: tuple[tuple[str, Aggregate], ...]
    """Every finer bucket of ``parent`` (ids as ``me``), each with its family."""


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent as the registry holds it (energy_store consents)."""

    consent_id: str
    meter_id: str
    grantee: str
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    verified: bool = True
    """The consent registry's verification state is ``verified``."""
    holder_has_access: bool = True
    """The consent's holder has ``meter_access()`` to the meter now (a verified
    consent and an occupancy): a former tenant's consent opens nothing."""
    data_from: datetime | None = None
    data_until: datetime | None = None
    """The readings the holder may see (``meter_access()`` window cut by this
    consent's ``data_from`` and expiry); None: the consent's own window."""


@dataclass(frozen=True, slots=True)
class IndividualSeries:
    """An individual series asked for over ``[start, end)``."""

    meter_id: str
    start: datetime
    end: datetime
    consent: Consent | None
    """The live consent the caller found for (meter, peer), or None."""


@dataclass(frozen=True, slots=True)
class PeerSeries:
    """Data received from another peer, kept here with its provenance."""

    origin: str
    reshare_to: frozenset[str] = field(default_factory=frozenset)
    """Domains the origin allowed us to pass it on to (empty: nobody)."""


@dataclass(frozen=True, slots=True)
class AlertItem:
    """A congestion alert of one neighbourhood, as it would be pushed."""

    iris: str
    commune: str
    delivery_points: int
    """Electricity delivery points (PRMs) of the neighbourhood: an alert says
    something about the homes there, so it leaves only where they are enough."""


Item = Aggregate | IndividualSeries | PeerSeries | AlertItem


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the item may leave, and why not (for logs and problem details;
    never carries a count of points or a meter id)."""

    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def decide(
    peer: PeerGrant | None, item: Item, *, rule: SecrecyRule, now: datetime
) -> Decision:
    """The one egress decision: may ``item`` leave for ``peer`` at ``now``?"""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    if peer is None:
        return Decision(False, "unknown peer")
    if peer.revoked_at is not None and peer.revoked_at <= now:
        return Decision(False, "peer revoked")
    if isinstance(item, Aggregate):
        return _aggregate(peer, item, rule)
    if isinstance(item, IndividualSeries):
        return _series(peer, item, now)
    if isinstance(item, AlertItem):
        return _alert(peer, item, rule)
    if peer.domain == item.origin or peer.domain in item.reshare_to:
        return ALLOWED
    return Decision(False, "the origin of this data does not allow passing it on")


def _aggregate(peer: PeerGrant, item: Aggregate, rule: SecrecyRule) -> Decision:
    if item.level not in peer.levels:
        return Decision(False, f"level {item.level} is not shared with this peer")
    if item.bucket not in peer.buckets:
        return Decision(False, f"bucket {item.bucket} is not shared with this peer")
    if not ({item.territory, item.iris, item.commune} - {""}) & peer.territories:
        return Decision(False, "territory not shared with this peer")
    verdict = rule.check(
        delivery_points=item.delivery_points,
        value=item.value,
        max_point_value=item.max_point_value,
    )
    if not verdict.published:
        return Decision(False, verdict.reason or "secrecy rule")
    if item.family is not None and item.territory in complementary(rule, item.family):
        return Decision(
            False, "withheld so that its parent does not reveal a withheld part"
        )
    if not _in_time(rule, item):
        return Decision(
            False, "withheld so that its coarser bucket does not reveal a withheld one"
        )
    return ALLOWED


def _in_space(rule: SecrecyRule, item: Aggregate) -> bool:
    """The basic rule and complementary suppression in space (the api's verdict
    before its time pass)."""
    if not _passes(rule, item.figures):
        return False
    return item.family is None or item.territory not in complementary(rule, item.family)


def _in_time(rule: SecrecyRule, item: Aggregate) -> bool:
    """Whether the time pass (``energy_core.privacy.withheld_in_time``) lets
    ``item`` stay, given its coarser bucket's whole verdict (recursively)."""
    tl = item.timeline
    if tl is None or tl.parent is None:
        return True
    return tl.me not in _withheld_in_time(rule, tl.parent, tl.children)


_MEMO: OrderedDict[
    tuple[SecrecyRule, int, int],
    tuple[Aggregate, tuple[tuple[str, Aggregate], ...], frozenset[str]],
] = OrderedDict()
_MEMO_SIZE = 1024


def _withheld_in_time(
    rule: SecrecyRule, parent: Aggregate, children: tuple[tuple[str, Aggregate], ...]
) -> frozenset[str]:
    # Every finer bucket of one coarser bucket shares the same parent and children
    # objects (the repository builds them once), so the group is decided once,
    # not once per item: a month of half-hours would otherwise walk hour, day and
    # month again for each of its ~1,500 items. Keyed by identity; the entry holds
    # the objects, so their ids cannot be reused while it lives.
    key = (rule, id(parent), id(children))
    hit = _MEMO.get(key)
    if hit is not None:
        _MEMO.move_to_end(key)
        return hit[2]
    parent_published = _in_space(rule, parent) and _in_time(rule, parent)
    out = frozenset(
        withheld_in_time(
            rule,
            parent.figures,
            parent_published,
            [(cid, c.figures, _in_space(rule, c)) for cid, c in children],
        )
    )
    _MEMO[key] = (parent, children, out)
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return out


def _passes(rule: SecrecyRule, f: Figures) -> bool:
    return rule.check(
        delivery_points=f.points, value=f.value, max_point_value=f.max_point
    ).published


def complementary(rule: SecrecyRule, family: Family) -> set[str]:
    """The children of ``family`` that pass the basic rule but must be withheld
    (``energy_core.privacy.withheld``, the api's own function): a published
    parent minus its published children must not give a withheld child away, and
    the children of a withheld parent must not rebuild it."""
    parent = family.parent
    if parent is None:
        return set()
    parent_published = _passes(rule, parent) and (
        family.up is None or family.parent_id not in complementary(rule, family.up)
    )
    passing = [(cid, f) for cid, f in family.children if _passes(rule, f)]
    failing = [f for _, f in family.children if not _passes(rule, f)]
    kids = Children(
        passing_points=sum(f.points for _, f in passing),
        passing_value=sum(f.value for _, f in passing),
        failing_points=sum(f.points for f in failing),
        failing_max=max((f.max_point for f in failing), default=0.0),
    )
    return withheld(rule, parent, parent_published, kids, passing)


def _alert(peer: PeerGrant, item: AlertItem, rule: SecrecyRule) -> Decision:
    if "neighbourhood" not in peer.levels:
        return Decision(False, "level neighbourhood is not shared with this peer")
    if not ({item.iris, item.commune} & peer.territories):
        return Decision(False, "territory not shared with this peer")
    if item.delivery_points < rule.min_points:
        return Decision(False, f"fewer than {rule.min_points} delivery points")
    return ALLOWED


def _series(peer: PeerGrant, item: IndividualSeries, now: datetime) -> Decision:
    if not peer.series:
        return Decision(False, "individual series are not shared with this peer")
    consent = item.consent
    if consent is None or consent.meter_id != item.meter_id:
        return Decision(False, "no consent for this peer")
    if consent.grantee != peer.domain:
        return Decision(False, "no consent for this peer")
    if not consent.verified:
        return Decision(False, "consent not verified")
    if not consent.holder_has_access:
        return Decision(False, "the consent's holder has no access to this meter now")
    if consent.revoked_at is not None and consent.revoked_at <= now:
        return Decision(False, "consent revoked")
    if not consent.starts_at <= now < consent.expires_at:
        return Decision(False, "consent not live")
    data_from = consent.data_from or consent.starts_at
    data_until = consent.data_until or consent.expires_at
    if item.start < data_from or item.end > data_until:
        return Decision(False, "period outside the consent's window")
    if item.end <= item.start:
        return Decision(False, "empty period")
    return ALLOWED
