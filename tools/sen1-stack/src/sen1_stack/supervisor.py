"""Runs the platform's processes with prefixed logs; restarts crashed ones; stops all.

Services announce their processes through the ``sen1.stack`` entry-point group: a
callable taking the stack context (a dict) and returning process specs (dicts), so
that adding a service never edits this package::

    [project.entry-points."sen1.stack"]
    flukso-emulator = "flukso_emulator.stack:processes"

    def processes(ctx: dict) -> list[dict]:
        return [{"name": "flukso-emulator", "order": 10,
                 "argv": [ctx["python"], "-m", "flukso_emulator"],
                 "env": {...}, "health_url": "http://127.0.0.1:8091/healthz",
                 "urls": {"flukso.net emulator": "http://127.0.0.1:8091"}}]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import httpx

from energy_core.loops import Backoff, sleep_or_stop

_RESTART = Backoff(base_s=1.0, max_s=30.0)
"""Delay before restarting a process that exited (the one backoff of SEN1)."""
_COLOURS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]


@dataclass
class ProcessSpec:
    """One supervised process."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    order: int = 50
    health_url: str | None = None
    urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessSpec:
        """Builds a spec from what an entry point returned."""
        return cls(
            name=data["name"],
            argv=list(data["argv"]),
            env={k: str(v) for k, v in data.get("env", {}).items()},
            order=int(data.get("order", 50)),
            health_url=data.get("health_url"),
            urls=dict(data.get("urls", {})),
        )


def discover(ctx: dict[str, Any]) -> list[ProcessSpec]:
    """Every process announced by installed services, sorted by start order."""
    specs: list[ProcessSpec] = []
    for ep in entry_points(group="sen1.stack"):
        for item in ep.load()(ctx):
            specs.append(ProcessSpec.from_dict(item))
    return sorted(specs, key=lambda s: (s.order, s.name))


class Supervisor:
    """Starts processes in order, prefixes their output, restarts them on crash."""

    def __init__(self, base_env: dict[str, str], *, max_width: int = 18) -> None:
        self._base_env = base_env
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._width = max_width

    def _prefix(self, name: str, index: int) -> str:
        colour = _COLOURS[index % len(_COLOURS)]
        label = name.ljust(self._width)[: self._width]
        return (
            f"\x1b[{colour}m{label}\x1b[0m |" if sys.stdout.isatty() else f"{label} |"
        )

    async def _pipe(self, stream: asyncio.StreamReader, prefix: str) -> None:
        """Copies a child's output, prefixed, until the child closes it.

        A child blocks as soon as the pipe it logs into is full, so the reading
        never stops before EOF: a line longer than the reader's limit (which
        ``readline`` refuses with ``ValueError``, killing this task) is copied in
        pieces, and a terminal that went away only ends the copying.
        """
        copying = True
        while True:
            try:
                chunk = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:  # EOF, maybe a last piece
                chunk = exc.partial
                if not chunk:
                    return
            except asyncio.LimitOverrunError as exc:  # an overlong line: a piece
                chunk = await stream.read(exc.consumed)
            if not copying:
                continue
            try:
                text = chunk.decode(errors="replace").rstrip()
                sys.stdout.write(f"{prefix} {text}\n")
                sys.stdout.flush()
            except (OSError, ValueError):  # closed or broken terminal
                copying = False

    async def _spawn(self, spec: ProcessSpec) -> asyncio.subprocess.Process:
        # Unbuffered, so a child's lines reach the terminal as they are written.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self._base_env, **spec.env}
        return await asyncio.create_subprocess_exec(
            *spec.argv,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )

    async def _keep(self, spec: ProcessSpec, index: int) -> None:
        prefix = self._prefix(spec.name, index)
        failures = 0
        while not self._stopping.is_set():
            proc = await self._spawn(spec)
            self._procs[spec.name] = proc
            started = time.monotonic()
            await self._pipe(proc.stdout, prefix)  # type: ignore[arg-type] # PIPE is set
            code = await proc.wait()
            if self._stopping.is_set():
                return
            # a process that ran a while failed afresh: restart it quickly
            failures = 1 if time.monotonic() - started > 30 else failures + 1
            delay = _RESTART.delay(failures)
            sys.stdout.write(
                f"{prefix} exited with {code}; restarting in {delay:.0f} s\n"
            )
            await sleep_or_stop(self._stopping, delay)

    async def start(
        self, specs: list[ProcessSpec], *, health_timeout: float = 45
    ) -> list[str]:
        """Starts every spec (waiting for each order group's health); returns failures."""
        failures: list[str] = []
        index = 0
        for order in sorted({s.order for s in specs}):
            group = [s for s in specs if s.order == order]
            for spec in group:
                self._tasks.append(asyncio.create_task(self._keep(spec, index)))
                index += 1
            for spec in group:
                if spec.health_url and not await wait_healthy(
                    spec.health_url, health_timeout
                ):
                    failures.append(spec.name)
        return failures

    async def stop(self, grace: float = 10) -> None:
        """SIGTERM to every process group, SIGKILL to those still alive after timeout."""
        self._stopping.set()
        for proc in self._procs.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self._procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                await asyncio.wait_for(proc.wait(), remaining)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_healthy(url: str, within: float) -> bool:
    """Polls ``url`` until it answers 2xx or ``timeout`` passes."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).is_success:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    return False
