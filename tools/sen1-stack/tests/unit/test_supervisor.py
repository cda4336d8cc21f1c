"""The supervisor restarts a crashed process with the shared backoff, and a stop
during that backoff ends the restart loop at once (no waiting out the delay)."""

import asyncio
import sys
import time

import pytest

from sen1_stack.supervisor import ProcessSpec, Supervisor


async def test_a_crashing_process_is_restarted_and_stop_ends_the_backoff(
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor = Supervisor({})
    spec = ProcessSpec("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    await supervisor.start([spec])
    deadline = time.monotonic() + 20
    while "restarting in 2 s" not in capsys.readouterr().out:  # second crash
        assert time.monotonic() < deadline, "no second restart"
        await asyncio.sleep(0.05)
    (task,) = supervisor._tasks
    began = time.monotonic()
    supervisor._stopping.set()  # what stop() does first, before cancelling anything
    await asyncio.wait_for(asyncio.shield(task), 1)  # not the 2 s of backoff
    assert time.monotonic() - began < 1
    assert not task.cancelled()  # the loop saw the stop and returned by itself
    await supervisor.stop(grace=1)
