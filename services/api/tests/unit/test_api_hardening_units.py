"""Limits, the address guard and the supervisor, with a fake clock and fake loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from api.netguard import REFUSED, check_target, networks, refusal
from api.problems import Problem
from api.ratelimit import LoginGuard, SlidingWindow, StreamLimits
from api.settings import Settings
from api.supervise import Supervised


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Polls ``condition`` (state owned by code under test has no event to await)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - nothing to await but the state
            await asyncio.sleep(0.01)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_frees_a_slot_when_the_oldest_hit_ages_out() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock=clock)
    window.hit("a")
    clock.now += 10
    window.hit("a")
    assert window.wait("a") == pytest.approx(50)
    assert window.wait("b") == 0  # keys are independent
    clock.now += 50
    assert window.wait("a") == 0


def test_sliding_window_memory_is_bounded() -> None:
    window = SlidingWindow(1, 60, max_keys=3, clock=Clock())
    for key in "abcd":
        window.hit(key)
    assert window.wait("a") == 0  # the oldest key was forgotten, not the table grown
    assert window.wait("d") > 0


def _guard(clock: Clock, **limits: int) -> LoginGuard:
    return LoginGuard(Settings(**limits), clock=clock)  # type: ignore[arg-type]


def test_failed_sign_ins_lock_the_account_and_success_forgives() -> None:
    clock = Clock()
    guard = _guard(clock, login_account_attempts=2, login_address_attempts=100)
    for _ in range(2):
        with pytest.raises(Problem) as wrong, guard.attempt("A@x.org", "1.1.1.1"):
            raise Problem(401, "wrong")
        assert wrong.value.status_code == 401
    with pytest.raises(Problem) as refused, guard.attempt(" a@x.org", "2.2.2.2"):
        pytest.fail("a locked account must be refused before the password check")
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "300"}
    with guard.attempt("b@x.org", "1.1.1.1"):
        pass  # another account is not locked
    clock.now += 301
    with guard.attempt("a@x.org", "1.1.1.1"):
        pass  # a success clears the account's failures...
    with pytest.raises(Problem), guard.attempt("a@x.org", "1.1.1.1"):
        raise Problem(401, "wrong")
    with guard.attempt("a@x.org", "1.1.1.1"):
        pass  # ...so one more failure does not lock it


def test_an_address_is_limited_across_accounts() -> None:
    guard = _guard(Clock(), login_address_attempts=3)
    for n in range(3):
        with guard.attempt(f"user{n}@x.org", "9.9.9.9"):
            pass
    with pytest.raises(Problem) as refused, guard.attempt("new@x.org", "9.9.9.9"):
        pass
    assert refused.value.status_code == 429
    with guard.attempt("new@x.org", "8.8.8.8"):
        pass


def test_concurrent_password_checks_are_capped() -> None:
    before = REGISTRY.get_sample_value("api_login_refused_total", {"reason": "busy"})
    guard = _guard(Clock(), login_max_concurrent=1)
    with guard.attempt("a@x.org", "1.1.1.1"):
        with pytest.raises(Problem) as busy, guard.attempt("b@x.org", "2.2.2.2"):
            pass
        assert busy.value.status_code == 429
    with guard.attempt("b@x.org", "2.2.2.2"):
        pass  # the slot came back
    after = REGISTRY.get_sample_value("api_login_refused_total", {"reason": "busy"})
    assert (after or 0) - (before or 0) == 1  # operators see refusals in /metrics


def test_stream_limits_per_caller_and_total() -> None:
    limits = StreamLimits(per_caller=2, total=3)
    first, second = limits.open("a"), limits.open("a")
    with pytest.raises(Problem) as refused:
        limits.open("a")
    assert refused.value.status_code == 429
    limits.open("b")
    with pytest.raises(Problem):
        limits.open("c")  # the process is full
    first()
    first()  # idempotent: a double release frees one slot only
    assert limits.open_for("a") == 1
    limits.open("c")
    second()
    assert limits.open_for("a") == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "224.0.1.1",  # multicast, though "global"
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",  # unique local
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "not-an-ip",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    reason = refusal(address, [])
    assert reason is not None
    assert reason.startswith(REFUSED)


def test_public_and_allow_listed_addresses_pass() -> None:
    assert refusal("93.184.216.34", []) is None
    assert refusal("2606:4700::1111", []) is None
    allow = networks(["127.0.0.0/8", "fd00::/8"])
    assert refusal("127.0.0.1", allow) is None
    assert refusal("fd00::5", allow) is None
    assert refusal("10.0.0.1", allow) is not None


async def test_registration_refuses_a_name_with_any_internal_address() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"mixed.example": ["93.184.216.34", "10.0.0.7"]}.get(
            host, ["93.184.216.34"]
        )

    assert await check_target("https://ok.example/hook", [], resolve) is None
    reason = await check_target("https://mixed.example/hook", [], resolve)
    assert reason is not None
    assert "10.0.0.7" in reason

    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    assert "does not resolve" in str(
        await check_target("http://x.invalid/", [], nowhere)
    )


async def test_a_loop_that_dies_is_restarted_and_not_ready_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    fail = asyncio.Event()

    async def loop(ready: asyncio.Event, stop: asyncio.Event) -> None:
        runs.append(1)
        ready.set()
        if len(runs) == 1:
            await fail.wait()
            raise ConnectionError("broker gone")
        await stop.wait()

    stop = asyncio.Event()
    supervised = Supervised("alerts-consumer", loop, backoff_s=0.3)
    task = asyncio.create_task(supervised.run(stop))
    await eventually(lambda: supervised.up)
    fail.set()
    await asyncio.sleep(0.1)
    assert not await supervised.check()  # down during the backoff
    await eventually(lambda: supervised.up)
    assert len(runs) == 2
    assert supervised.restarts == 1
    assert (
        REGISTRY.get_sample_value(
            "api_background_restarts_total", {"loop": "alerts-consumer"}
        )
        or 0
    ) >= 1
    assert any(
        "alerts-consumer failed; restarting" in r.getMessage() for r in caplog.records
    )
    stop.set()
    await asyncio.wait_for(task, 2)
    assert not supervised.up


async def test_a_loop_that_returns_early_is_restarted_too() -> None:
    runs: list[int] = []

    async def loop(ready: asyncio.Event, stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            return  # e.g. a consumer whose iterator ended
        ready.set()
        await stop.wait()

    stop = asyncio.Event()
    supervised = Supervised("x", loop, backoff_s=0.01)
    task = asyncio.create_task(supervised.run(stop))
    await eventually(lambda: supervised.up)
    assert len(runs) == 3
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_a_failing_alert_listener_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from api.alert_hub import AlertHub

    async def gate(event: dict) -> dict:
        return event

    async def broken(event: dict) -> None:
        raise ConnectionError("database gone")

    hub = AlertHub(gate=gate)
    hub.add_listener(broken)
    await hub.publish({"iris": "381510101"})
    await hub.drain()
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    failed = [r for r in caplog.records if r.getMessage() == "alert listener failed"]
    assert failed
    assert failed[0].exc_info is not None
    assert isinstance(failed[0].exc_info[1], ConnectionError)
