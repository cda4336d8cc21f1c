"""The push loop with fakes of its ports: at least once, backoff, expiry, egress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from energy_core.privacy import SecrecyRule
from federation_gateway.client import PeerRefusedError, PeerUnavailableError
from federation_gateway.egress import PeerGrant
from federation_gateway.mapping import AggregateUrn
from federation_gateway.repository import AggregateRow, Peer, Subscription
from federation_gateway.service import Gateway
from federation_gateway.settings import Settings

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URN = "urn:sen1:iris:381510101_consumption/energy/active/P1D"
PEER = Peer(
    "a.example",
    "https://a.example",
    ("kid",),
    PeerGrant(
        "a.example",
        territories=frozenset({"38151"}),
        levels=frozenset({"neighbourhood"}),
        buckets=frozenset({"P1D"}),
    ),
)


class FakeRepository:
    def __init__(self) -> None:
        self.changes: list[tuple[AggregateRow, datetime]] = []
        self.outbox: list[tuple[int, AggregateRow]] = []
        self.horizon, self.ready_after = 100, 50
        self.pushed_to: list[tuple[str, datetime, int | None]] = []
        self.failed: list[tuple[str, datetime, bool]] = []

    async def aggregate_changes(
        self, urn: AggregateUrn, since: datetime, limit: int
    ) -> list[tuple[AggregateRow, datetime]]:
        return [c for c in self.changes if c[1] > since][:limit]

    async def outbox_horizon(self) -> tuple[int, int | None]:
        return self.horizon, self.ready_after

    async def outbox_changes(
        self, urn: AggregateUrn, from_xid: int, to_xid: int
    ) -> list[AggregateRow]:
        return [row for xid, row in self.outbox if from_xid <= xid < to_xid]

    async def pushed(
        self, subscription_id: str, cursor: datetime, outbox_xid: int | None = None
    ) -> None:
        self.pushed_to.append((subscription_id, cursor, outbox_xid))

    async def push_failed(
        self, subscription_id: str, now: datetime, retry_at: datetime, expire: bool
    ) -> None:
        self.failed.append((subscription_id, retry_at, expire))


class FakePoster:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[tuple[str, Any]] = []

    async def post(self, url: str, payload: Any) -> Any:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((url, payload))
        return {"stored": True}


def _gateway(repo: FakeRepository, poster: FakePoster) -> Gateway:
    settings = Settings(
        push_retry_base_seconds=2,
        push_retry_max_seconds=60,
        subscription_dead_after_seconds=3600,
    )
    return Gateway(
        settings,
        repo,
        poster,
        SecrecyRule(),
        clock=lambda: NOW,  # type: ignore[arg-type]
    )


def _row(day: int, points: int) -> tuple[AggregateRow, datetime]:
    start = datetime(2026, 11, 1, 23, tzinfo=UTC) + timedelta(days=day)
    return (
        AggregateRow(start, 1000.0, "Wh", points, 10.0, "38151"),
        NOW - timedelta(minutes=10 - day),
    )


def _sub(
    attempts: int = 0,
    failing_since: datetime | None = None,
    outbox_xid: int | None = None,
) -> Subscription:
    return Subscription(
        "s1",
        PEER,
        "https://a.example/federation/v1/push",
        (URN,),
        NOW - timedelta(hours=1),
        attempts,
        failing_since,
        outbox_xid,
    )


async def test_a_push_sends_only_what_passes_egress_and_moves_the_cursor() -> None:
    repo, poster = FakeRepository(), FakePoster()
    repo.changes = [_row(0, 12), _row(1, 3)]
    await _gateway(repo, poster).push(_sub())
    ((url, payload),) = poster.sent
    assert url == "https://a.example/federation/v1/push"
    assert [r["v"] for r in payload["records"]] == [1000.0]
    assert payload["records"][0]["sen1_points"] == 12
    assert len(payload["idempotency_key"]) == 64
    # the catch-up is done: the subscription follows the outbox from the horizon
    # taken before it read (the withheld row is never sent, not retried)
    assert repo.pushed_to == [("s1", _sub().cursor, 100)]


async def test_a_failed_push_keeps_the_cursor_and_backs_off() -> None:
    repo, poster = FakeRepository(), FakePoster(PeerUnavailableError("down"))
    repo.changes = [_row(0, 12)]
    await _gateway(repo, poster).push(_sub(attempts=2, failing_since=NOW))
    assert repo.pushed_to == []
    assert repo.failed == [("s1", NOW + timedelta(seconds=8), False)]


async def test_a_subscription_failing_too_long_expires() -> None:
    repo = FakeRepository()
    poster = FakePoster(PeerRefusedError(403, "revoked"))
    repo.changes = [_row(0, 12)]
    await _gateway(repo, poster).push(
        _sub(attempts=9, failing_since=NOW - timedelta(hours=2))
    )
    assert repo.failed[0][2] is True


async def test_the_same_changes_give_the_same_idempotency_key() -> None:
    repo = FakeRepository()
    repo.changes = [_row(0, 12)]
    first, second = FakePoster(), FakePoster()
    await _gateway(repo, first).push(_sub())
    await _gateway(repo, second).push(_sub())
    assert first.sent[0][1]["idempotency_key"] == second.sent[0][1]["idempotency_key"]


async def test_nothing_changed_nothing_sent() -> None:
    repo, poster = FakeRepository(), FakePoster()
    await _gateway(repo, poster).push(_sub())
    assert poster.sent == []
    assert repo.pushed_to == [("s1", _sub().cursor, 100)]


async def test_after_the_catch_up_the_outbox_range_is_pushed() -> None:
    """Rows of transactions in [cursor, horizon): a row below the cursor was
    pushed before, a row at or above the horizon waits for the next round."""
    repo, poster = FakeRepository(), FakePoster()
    repo.outbox = [(59, _row(0, 12)[0]), (60, _row(1, 13)[0]), (100, _row(2, 14)[0])]
    await _gateway(repo, poster).push(_sub(outbox_xid=60))
    ((_, payload),) = poster.sent
    assert [r["sen1_points"] for r in payload["records"]] == [13]
    assert repo.pushed_to == [("s1", _sub().cursor, 100)]


async def test_the_catch_up_waits_for_writers_older_than_the_outbox() -> None:
    repo, poster = FakeRepository(), FakePoster()
    repo.changes = [_row(0, 12)]
    repo.horizon, repo.ready_after = 40, 50
    await _gateway(repo, poster).push(_sub())
    assert poster.sent == []
    assert repo.pushed_to == []


def test_the_secrecy_rule_is_the_api_s_block(monkeypatch) -> None:
    # SECRECY_*, not FEDERATION_GATEWAY_SECRECY_*: the api reads the same pair
    monkeypatch.setenv("SECRECY_MIN_POINTS", "12")
    monkeypatch.setenv("SECRECY_MAX_SHARE", "0.6")
    rule = Settings().secrecy
    assert (rule.min_points, rule.max_share) == (12, 0.6)
