"""A new user's first minute: `make run` on a fresh folder, then every dashboard.

Starts ``python -m sen1_stack run`` exactly as ``make run`` does (same entry point,
same settings: demo territory, demo mode), in a temporary state folder, on a loopback
address of its own (``127.x.y.z``: every service keeps its usual port there, so a
``make run`` on 127.0.0.1 or another test does not collide) with the brokers and
PostgreSQL on free ports. From the moment the process is started, four headless
Chromium pages (Debian's /usr/bin/chromium, as services/api/tests/e2e) walk the
dashboards side by side, reloading until each shows what a user came for:

* city: the map drew every IRIS with data (coloured, or grey with the secrecy
  reason) and coloured parcels, and a legend in kWh;
* resident: a year of daily bars that differ from day to day;
* operator: each neighbourhood's load and capacity, labelled, a gauge drawn;
* portfolio: every site of the demo's multi-site manager listed (address, type,
  surface); its kWh columns come from the load curves, which arrive after every
  PRM's year of daily data (minutes later), so they are not part of "alive".

Assertions read what is drawn (SVG paths' fill and state, the uPlot chart's data and
inked canvas pixels, table cells), never only that a page loaded. Each page is
screenshotted the moment it is alive (desktop and phone width) into
``SEN1_SCREENSHOTS`` or ``.var/artefacts/demo-walk`` (gitignored; the path is
printed). ``make screenshots`` runs this test with ``SEN1_SCREENSHOTS=docs/screenshots``.

What this test asserts is that every dashboard comes alive, with what it shows,
within :data:`WATCH_S` of the start: a demo that stays empty, half drawn or flat
fails, naming the page and what was missing. How soon it comes alive is printed
(each page's time, the stack's start-up, the load average) and compared with the
issue's target, :data:`ALIVE_TARGET_S` = 60 s, but not asserted: the project measures
performance in ``bench/`` (``bench/demo_time_to_alive.py`` prints the medians of
several runs and the machine), because a wall-clock assertion in a test fails on a
shared or slow machine whatever the code does. On this project's 2-core machine, with
ingest-enedis collecting the neighbourhoods in turn, the four dashboards were alive
at 35-54 s in one walk at load average 8, while every PRM's full year of daily data
took 75-151 s (README, "time to alive").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from enedis_emulator import profiles
from energy_core.domain import PARIS
from energy_store import demo
from sen1_stack.broker import free_port

ALIVE_TARGET_S = 60.0
"""Issue 15's target: every dashboard alive this soon after `make run`'s start
(reported by this test, measured by bench/demo_time_to_alive.py)."""
WATCH_S = 240.0
"""How long the walk waits for every dashboard to come alive before failing."""
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTEFACTS = Path(__file__).parents[4] / ".var" / "artefacts" / "demo-walk"
PASSWORD = "sen1-demo"  # api.demo.DEMO_PASSWORD, printed by `make run`
OPERATOR = "operator@sen1.demo"  # api.demo.OPERATOR_EMAIL
GREY, WHITE = "#8c8c8c", "#ffffff"  # suppressed and empty fills of the city map

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent (apt-get install chromium)",
    ),
]

CHART = """(id) => {
  const u = (window.sen1Charts || {})[id], box = document.getElementById(id);
  const canvas = box && box.querySelector("canvas");
  if (!u || !canvas) return null;
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let k = 3; k < px.length; k += 4) if (px[k] > 0) inked++;
  const ys = u.data.slice(1).flat().filter((v) => v !== null && v !== undefined);
  return {points: u.data[0].length, distinct: new Set(ys.map((v) => v.toFixed(3))).size,
    axes: u.axes.length, inked, min: Math.min(...ys), max: Math.max(...ys)};
}"""
MAP = """() => {
  const of = (cls) => Array.from(document.querySelectorAll(`#map path.${cls}`)).map((p) =>
    ({id: p.dataset.id, state: p.dataset.state, fill: (p.getAttribute("fill") || "").toLowerCase()}));
  const legend = document.getElementById("legend");
  return {ready: document.getElementById("map").dataset.ready === "1", hoods: of("hood"),
    parcels: of("parcel"), legend: legend ? legend.querySelectorAll("li").length : 0,
    legendText: legend ? legend.textContent : ""};
}"""
LOAD = """() => Array.from(document.querySelectorAll("#load-table tbody tr")).map((tr) => {
  const td = tr.querySelectorAll("td"), bar = tr.querySelector(".gauge-bar");
  return {iris: tr.dataset.iris, name: td[0] ? td[0].textContent : "",
    load: td[1] ? td[1].textContent : "", capacity: td[2] ? td[2].textContent : "",
    width: bar ? parseFloat(bar.style.width) || 0 : 0,
    ticks: tr.querySelectorAll(".tick").length};
})"""
SITES = """() => Array.from(document.querySelectorAll("#portfolio tbody tr")).map((tr) =>
  ({meter: tr.dataset.meter, cells: Array.from(tr.querySelectorAll("td")).map((t) => t.textContent)}))"""


@dataclass
class Stack:
    """The running `make run` of this test."""

    base: str
    began: float
    lines: list[str] = field(default_factory=list)
    city_key: str | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.began


def _loopback_host() -> str:
    """A loopback address of this run's own (Linux routes all of 127/8 to lo)."""
    rng = random.SystemRandom()
    return f"127.{rng.randint(64, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """`make run`'s process on a fresh folder; stopped with Ctrl-C afterwards, its
    log kept with the screenshots (``stack.log``)."""
    host = _loopback_host()
    env = {
        **os.environ,
        "SEN1_VAR_DIR": str(tmp_path / "var"),
        "SEN1_HOST": host,
        "SEN1_KAFKA_PORT": str(free_port()),
        "SEN1_POSTGRES_PORT": str(free_port()),
        "SEN1_MQTT_PORT": str(free_port()),
    }
    began = time.monotonic()
    proc = subprocess.Popen(  # what `make run` runs: `uv run sen1-stack run`
        [sys.executable, "-m", "sen1_stack", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = Stack(base=f"http://{host}:8000", began=began)
    key = re.compile(r"city key \(commune \d+\): (\S+)")

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            run.lines.append(line)
            if found := key.search(line):
                run.city_key = found.group(1)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield run
    finally:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for child in children:  # nothing of this run is left behind
            if child.is_running():
                child.kill()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)  # the log, with the screenshots
        (ARTEFACTS / "stack.log").write_text("".join(run.lines))


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            await b.close()


@dataclass
class Walk:
    """One dashboard's walk: alive when, or what was missing last."""

    name: str
    alive_at: float | None = None
    missing: str = "not reached"
    history: list[str] = field(default_factory=list)
    """What was missing when (the first time each reason was seen)."""


Check = Callable[[Page], Awaitable[str | None]]
"""Reads the page as drawn; returns what is missing, or None when alive."""


async def _walk(
    walk: Walk,
    stack: Stack,
    browser: Browser,
    shots: Path,
    enter: Callable[[Page], Awaitable[None]],
    check: Check,
) -> None:
    """Enters the dashboard, then reloads until ``check`` passes or time is up."""
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 900}
    )
    page.set_default_timeout(20_000)
    entered = False
    while stack.elapsed() < WATCH_S:
        try:
            if not entered:
                await enter(page)
                entered = True
            else:
                await page.reload()
            missing = await check(page)
        except Exception as exc:  # not up yet: say what, try again
            missing = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        if missing is None:
            walk.alive_at = stack.elapsed()
            with contextlib.suppress(PlaywrightTimeout):  # the rest of the page
                await page.wait_for_load_state("networkidle", timeout=5_000)
            await page.screenshot(path=str(shots / f"{walk.name}.png"), full_page=True)
            await page.set_viewport_size({"width": 375, "height": 800})
            await page.evaluate("window.scrollTo(0, 0)")
            await page.wait_for_timeout(300)
            await page.screenshot(path=str(shots / f"{walk.name}-phone.png"))
            await page.close()
            return
        if missing != walk.missing:
            walk.history.append(f"{stack.elapsed():.0f} s: {missing}")
        walk.missing = missing
        await asyncio.sleep(2)
    # what the page showed when time ran out: with the artefacts, never in the docs
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(
        path=str(ARTEFACTS / f"{walk.name}-not-alive.png"), full_page=True
    )
    await page.close()


async def _wait_up(stack: Stack, page: Page) -> None:
    """Until the api answers (the stack prints the city key once it seeded)."""
    while stack.city_key is None or stack.elapsed() < 1:
        if stack.elapsed() > WATCH_S:
            raise TimeoutError("the api never printed the demo city key")
        await asyncio.sleep(0.5)
    await page.goto(f"{stack.base}/?lang=fr")


async def _sign_in(stack: Stack, page: Page, email: str, lands: str) -> None:
    await _wait_up(stack, page)
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"**/{lands}?lang=fr")


def _old_resident() -> tuple[str, int]:
    """A demo resident heated electrically, with one PRM active for over a year:
    its email and the days its year of daily bars should have."""
    today = datetime.now(PARIS).date()
    territory = demo.build()
    index = {str(p): i for i, p in enumerate(territory.prms)}
    for resident in territory.residents:
        home = resident.email.startswith("resident")  # not a company's site
        if home and len(resident.meters) == 1 and resident.meters[0] in index:
            prm = resident.meters[0]
            equipment = territory.homes.get(prm)
            if equipment is None or equipment.heating != "electric":
                continue  # the year's seasons show best with electric heating
            meter = profiles.demo_meter(prm, index[prm], today)
            if meter.activation < today - timedelta(days=400):
                return resident.email, 365 - 2  # the last days come J+1 / J+2
    raise AssertionError("the demo has no resident with a year-old PRM")


def _manager() -> tuple[str, tuple[int, int]]:
    """The demo's multi-site manager, its number of consented PRMs (each one a
    site of the portfolio) and of all its meters (gas ones may be listed too)."""
    territory = demo.build()
    prms = {str(p) for p in territory.prms}
    for resident in territory.residents:
        if resident.email.startswith("patrimoine@"):
            return resident.email, (
                sum(1 for m in resident.meters if m in prms),
                len(resident.meters),
            )
    raise AssertionError("the demo has no portfolio manager")


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go (printed: the test's artefacts)."""
    target = Path(os.environ.get("SEN1_SCREENSHOTS") or ARTEFACTS).resolve()
    target.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the demo walk: {target}")  # noqa: T201 - the artefacts
    return target


async def test_every_dashboard_comes_alive_after_make_run(
    stack: Stack, browser: Browser, shots: Path
) -> None:
    territory = demo.build()
    hoods, parcels = len(territory.neighbourhoods), len(territory.parcels)
    resident, year_days = _old_resident()
    manager, manager_sites = _manager()

    async def city_in(page: Page) -> None:
        await _wait_up(stack, page)
        await page.fill("input[name=key]", stack.city_key or "")
        await page.click("#city-form button[type=submit]")
        await page.wait_for_url("**/city?lang=fr")

    async def city(page: Page) -> str | None:
        await page.wait_for_selector("#map[data-ready='1']", timeout=30_000)
        drawn = await page.evaluate(MAP)
        states = [h["state"] for h in drawn["hoods"]]
        if len(states) != hoods:
            return f"{len(states)}/{hoods} IRIS drawn"
        if "empty" in states:
            return f"{states.count('empty')}/{hoods} IRIS without data"
        coloured = [h for h in drawn["hoods"] if h["state"] == "published"]
        if not coloured or any(h["fill"] in (GREY, WHITE) for h in coloured):
            return f"no coloured IRIS ({states})"
        if any(h["fill"] != GREY for h in drawn["hoods"] if h["state"] == "suppressed"):
            return "a suppressed IRIS is not drawn grey"
        if len(drawn["parcels"]) != parcels:
            return f"{len(drawn['parcels'])}/{parcels} parcels drawn"
        shown = [p for p in drawn["parcels"] if p["state"] == "published"]
        if not shown or any(p["fill"] in (GREY, WHITE) for p in shown):
            return "no coloured parcel"
        if drawn["legend"] < 3 or "kWh" not in drawn["legendText"]:
            return f"legend: {drawn['legend']} entries, {drawn['legendText'][:60]!r}"
        return None

    async def resident_page(page: Page) -> str | None:
        await page.wait_for_selector("#daily-chart canvas", timeout=30_000)
        facts = await page.evaluate(CHART, "daily-chart")
        if not facts or facts["points"] < year_days:
            return f"{facts and facts['points']}/{year_days} days drawn"
        if facts["distinct"] < 100 or facts["max"] <= facts["min"]:
            return f"the days do not vary ({facts['distinct']} distinct values)"
        if facts["axes"] < 2 or facts["inked"] < 2000:
            return f"chart not drawn ({facts['axes']} axes, {facts['inked']} px)"
        return None

    async def operator(page: Page) -> str | None:
        await page.wait_for_selector("#load-table tbody tr", timeout=30_000)
        rows = await page.evaluate(LOAD)
        if len(rows) != hoods:
            return f"{len(rows)}/{hoods} neighbourhoods listed"
        names = {str(n.iris): n.name for n in territory.neighbourhoods}
        for row in rows:
            if names.get(row["iris"], "?") not in row["name"]:
                return f"{row['iris']} not labelled with its name"
            if not re.search(r"\d\s*kW", row["capacity"]) or row["ticks"] < 2:
                return f"{row['iris']}: capacity not labelled ({row['capacity']!r})"
        live = [r for r in rows if "kW" in r["load"] and r["width"] > 0]
        if not live:
            return "no neighbourhood shows a load against its capacity"
        return None

    async def portfolio_in(page: Page) -> None:
        await _sign_in(stack, page, manager, "resident")
        await page.goto(f"{stack.base}/portfolio?lang=fr")

    async def portfolio(page: Page) -> str | None:
        await page.wait_for_selector("#portfolio tbody tr", timeout=30_000)
        sites = await page.evaluate(SITES)
        if not manager_sites[0] <= len(sites) <= manager_sites[1]:
            return f"{len(sites)} sites listed, of {manager_sites[0]} PRMs"
        for site in sites:  # address, type and surface drawn for every site
            cells = site["cells"]
            if len(cells) < 3 or not cells[0].strip() or not re.search(r"\d", cells[2]):
                return f"site {site['meter']} drawn without its address or surface"
        return None

    walks = {n: Walk(n) for n in ("city", "resident", "operator", "portfolio")}
    await asyncio.gather(
        _walk(walks["city"], stack, browser, shots, city_in, city),
        _walk(walks["resident"], stack, browser, shots,
              lambda p: _sign_in(stack, p, resident, "resident"), resident_page),
        _walk(walks["operator"], stack, browser, shots,
              lambda p: _sign_in(stack, p, OPERATOR, "operator"), operator),
        _walk(walks["portfolio"], stack, browser, shots, portfolio_in, portfolio),
    )  # fmt: skip
    report = [
        (f"{w.name}: alive at {w.alive_at:.1f} s" if w.alive_at is not None
         else f"{w.name}: NOT alive after {WATCH_S:.0f} s ({w.missing})")
        + (f" [before: {' | '.join(w.history)}]" if w.history else "")
        for w in walks.values()
    ]  # fmt: skip
    up = next((ln.strip() for ln in stack.lines if "| up in" in ln), None)
    if up is None:  # say why: the end of what the stack printed
        up = "never up: " + " / ".join(ln.strip() for ln in stack.lines[-15:])
    summary = (
        f"target {ALIVE_TARGET_S:.0f} s from `make run`'s start (bench/, not "
        f"asserted here); {up}; "
        f"load average {os.getloadavg()[0]:.1f}; " + "; ".join(report)
    )
    print(summary)  # noqa: T201 - the figures, also when the walk passes
    dead = [w.name for w in walks.values() if w.alive_at is None]
    assert not dead, f"not alive after {WATCH_S:.0f} s: {dead} — {summary}"
