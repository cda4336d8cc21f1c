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


LONG_LINE_CHILD = """
import sys
print("x" * 200_000, flush=True)
for i in range(2_000):
    print("line", i, "y" * 100, flush=True)
print("done", flush=True)
"""


async def test_a_line_longer_than_the_reader_limit_never_stops_the_copying(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Was: readline() raised on the 200 kB line, the copying task died, the
    # child then blocked on a full pipe (its 2,000 further lines > 64 KiB) and a
    # stop waited on a pipe nobody read.
    supervisor = Supervisor({})
    await supervisor.start(
        [ProcessSpec("talker", [sys.executable, "-c", LONG_LINE_CHILD])]
    )
    seen = ""
    deadline = time.monotonic() + 20
    while "| done" not in seen:
        assert time.monotonic() < deadline, "the child's last line never came through"
        await asyncio.sleep(0.05)
        seen += capsys.readouterr().out
    assert "| line 1999 " in seen
    assert sum(len(line) for line in seen.splitlines() if "xxxx" in line) >= 200_000
    (task,) = supervisor._tasks
    assert not task.done() or task.exception() is None
    await asyncio.wait_for(supervisor.stop(grace=1), 5)
