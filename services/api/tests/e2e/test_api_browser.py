"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against uvicorn.

Never ``playwright install``: the system browser is used. Skipped, with the reason,
only when /usr/bin/chromium is absent (CI installs it).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import expect

from api.main import create_app
from api.settings import Settings
from energy_core import topics
from energy_core._pb.energy.grid.v1 import alerts_pb2
from energy_core.domain.time import PARIS, to_micros
from energy_core.kafka import KafkaPublisher

PASSWORD = "correct horse battery"
AXE = (
    Path(__file__).parents[2] / "src" / "api" / "static" / "vendor" / "axe-core"
) / "axe.min.js"
CHART_FACTS = """(id) => {
  const u = window.sen1Charts[id];
  const box = document.getElementById(id);
  const canvas = box.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let k = 3; k < px.length; k += 4) if (px[k] > 0) inked++;
  const ys = u.data.slice(1).flat().filter((v) => v !== null && v !== undefined);
  const first = u.data[0].length ? new Date(u.data[0][0] * 1000) : null;
  return {points: u.data[0].length, distinct: new Set(ys.map((v) => v.toFixed(3))).size,
    first: first ? first.toLocaleDateString("sv-SE") : null, axes: u.axes.length,
    yMax: Math.max(0, ...ys), inked, series: u.series.slice(1).map((s) => s.label),
    perSeries: u.data.slice(1).map((d) => d.filter((v) => v !== null && v !== undefined).length)};
}"""
DRAWN_FROM = """([id, day]) => {
  const u = window.sen1Charts && window.sen1Charts[id];
  return !!u && u.data[0].length > 0
    && new Date(u.data[0][0] * 1000).toLocaleDateString("sv-SE") === day;
}"""
READINGS_OF_DAY = """async ([meter, day]) => {
  const d0 = new Date(day + "T00:00:00"), d1 = new Date(d0); d1.setDate(d1.getDate() + 1);
  const r = await fetch(`/v1/meters/${meter}/readings?start=${encodeURIComponent(d0.toISOString())}`
    + `&end=${encodeURIComponent(d1.toISOString())}`, {credentials: "same-origin"});
  return (await r.json()).items.length;
}"""
"""What a uPlot chart drew: its data, its axes and how many canvas pixels are inked."""
pytestmark = pytest.mark.e2e  # Chromium and `serve`: conftest.py


@pytest_asyncio.fixture
async def server(world, postgres_settings, kafka_settings, serve) -> AsyncIterator[str]:
    settings = Settings(
        postgres=postgres_settings,
        kafka=kafka_settings,
        cookie_secure=False,
        subscribe_alerts=True,
    )
    app = create_app(settings, pool=world.pool)
    async with serve(app, lifespan="on", timeout_graceful_shutdown=2) as url:
        yield url


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: SEN1_SCREENSHOTS (e.g. docs/screenshots) or tmp."""
    target = Path(os.environ.get("SEN1_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


async def _shoot(page, shots: Path, name: str) -> None:
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    await page.set_viewport_size({"width": 375, "height": 800})  # a phone
    await page.evaluate("window.scrollTo(0, 0)")
    await page.wait_for_timeout(300)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    await page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=False)
    assert overflow <= 1, f"{name}: the page scrolls sideways on a phone ({overflow}px)"


async def _no_serious_violation(page) -> None:
    """axe-core (vendored) on the page as drawn: no serious or critical violation."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,"
        " target: v.nodes[0] && v.nodes[0].target.join(' ')}))"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, bad


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(f"{base}/?lang=fr")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def test_resident_sees_daily_bars(
    server, browser, world, put_readings, shots
) -> None:
    """A year of varying days drawn as uPlot bars with a date axis; a day's curve."""
    today = datetime.now(PARIS).date()
    days = 60
    first = datetime.combine(
        today - timedelta(days=days), datetime.min.time(), tzinfo=PARIS
    ).astimezone(UTC)
    # varying days: a weekly pattern and a daily shape (night low, evening peak);
    # every day its own half-hours (46 or 50 on a DST change day)
    values = [
        (150.0 + 40.0 * (d % 7)) * (0.5 if h < 12 else 1.5 if 36 <= h < 44 else 1.0)
        for d in range(days)
        for h in range(_half_hours(today - timedelta(days=days - d)))
    ]
    colours = ("blue", "blue", "white", "red")
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, first, values)
        # a Tempo contract: the bars take the colour of their Tempo day
        await conn.execute(
            "INSERT INTO api_meter_contracts VALUES ($1, 'tempo', 6, '{}')",
            world.meter_a,
        )
        await conn.executemany(
            "INSERT INTO api_tempo_days VALUES ($1, $2)",
            [
                (today - timedelta(days=days - d), colours[d % 4])
                for d in range(days - 1)  # the last day's colour is not known yet
            ],
        )
        await conn.execute(
            "INSERT INTO api_tariffs VALUES ('tempo', 6, '2020-01-01', NULL, 31.0, "
            "$1, 'test')",
            {f"{c}_{p}": 0.2 for c in ("blue", "white", "red") for p in ("hp", "hc")},
        )
        iris = await conn.fetchval(
            "SELECT b.iris FROM meters m JOIN buildings b USING (building_id)"
            " WHERE m.meter_id = $1",
            world.meter_a,
        )
        await conn.execute(  # an active alert on my neighbourhood
            """INSERT INTO alerts VALUES ($1, $2, 2, 'active', now(), now(), NULL,
               480, 400)""",
            uuid.uuid4(),
            iris,
        )
    page = await browser.new_page(timezone_id="Europe/Paris")
    await _sign_in(page, server, world.territory.residents[0].email)
    await page.wait_for_url("**/resident?lang=fr")
    await page.locator("#daily-chart canvas").wait_for(timeout=15_000)
    await expect(page.locator("#curve-chart canvas")).to_have_count(1)
    drawn = await page.evaluate(CHART_FACTS, "daily-chart")
    assert drawn["points"] == days  # one bar per day, no gap
    assert drawn["distinct"] > 3  # the days vary
    assert drawn["first"] == (today - timedelta(days=days)).isoformat()
    assert drawn["axes"] == 2
    assert drawn["inked"] > 500
    assert drawn["yMax"] > 0
    assert drawn["series"] == [
        "Jour bleu",
        "Jour blanc",
        "Jour rouge",
        "Couleur inconnue",
    ]
    assert drawn["perSeries"] == [
        sum(1 for d in range(days - 1) if colours[d % 4] == c)
        for c in ("blue", "white", "red")
    ] + [1]
    curve = await page.evaluate(CHART_FACTS, "curve-chart")
    shown_day = await page.input_value("#curve-day")
    served = await page.evaluate(READINGS_OF_DAY, [world.meter_a, shown_day])
    assert (
        curve["points"] == served > 40
    )  # the day's half-hours, as the api serves them
    # another day from the picker: a full day in the middle of the history
    other = (today - timedelta(days=days // 2)).isoformat()
    await page.fill("#curve-day", other)
    await page.dispatch_event("#curve-day", "change")
    # the previous day's curve has as many points: wait for this day's to be drawn
    await page.wait_for_function(DRAWN_FROM, arg=["curve-chart", other])
    await expect(page.locator("#curve-chart")).to_have_attribute(
        "data-points", str(_half_hours(date.fromisoformat(other)))
    )
    assert (await page.evaluate(CHART_FACTS, "curve-chart"))["first"] == other
    await expect(page.locator("#curve-empty")).to_be_hidden()
    # a day before the history: no curve, and the page says why instead of a blank
    before = (today - timedelta(days=days + 5)).isoformat()
    await page.fill("#curve-day", before)
    await page.dispatch_event("#curve-day", "change")
    await expect(page.locator("#curve-empty")).to_be_visible()
    await expect(page.locator("#curve-empty")).to_contain_text("Enedis la publie")
    await expect(page.locator("#curve-chart")).to_have_attribute("data-points", "0")
    await page.fill("#curve-day", other)
    await page.dispatch_event("#curve-day", "change")
    await expect(page.locator("#curve-empty")).to_be_hidden()
    await expect(page.locator("#m-kwh")).to_contain_text("kWh")
    await expect(page.locator("#alert-now")).to_have_attribute("data-level", "2")
    await expect(page.locator("#alert-now")).to_contain_text("baissez le chauffage")
    await expect(page.locator("#compare-chart .hbar")).to_have_count(4)
    assert await page.locator("html").get_attribute("lang") == "fr"
    await page.set_viewport_size({"width": 1100, "height": 1400})
    await _shoot(page, shots, "resident")
    await _no_serious_violation(page)


async def test_too_many_sign_ins_say_so(server, browser, world) -> None:
    page = await browser.new_page()
    await page.goto(f"{server}/?lang=en")
    await page.fill("input[name=email]", world.territory.residents[1].email)
    await page.fill("input[name=password]", "not the password")
    for _ in range(5):  # API_LOGIN_ACCOUNT_ATTEMPTS
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#login-error")).to_be_visible()
        await page.evaluate("document.getElementById('login-error').hidden = true")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-busy")).to_contain_text("Too many attempts")
    await expect(page.locator("#login-error")).to_be_hidden()


async def test_operator_sees_live_alert(server, browser, world, kafka_settings) -> None:
    page = await browser.new_page()
    await _sign_in(page, server, "op@example.org")
    await page.wait_for_url("**/operator?lang=fr")
    iris = str(world.territory.neighbourhoods[0].iris)
    event = alerts_pb2.AlertEvent(
        alert_id=str(uuid.uuid4()),
        iris=iris,
        change=alerts_pb2.ALERT_CHANGE_RAISED,
        level=3,
        previous_level=0,
        load_kw=512.0,
        capacity_kw=400.0,
        occurred_at_us=to_micros(datetime.now(UTC)),
    )
    publisher = KafkaPublisher(kafka_settings, client_id="e2e-alerts")
    await publisher.start()
    feed = page.locator("#alert-feed li")
    try:
        for _ in range(30):  # the api reads from "latest": publish until it shows
            await publisher.publish(topics.ALERTS, iris, event)
            await publisher.flush()
            try:
                await feed.first.wait_for(timeout=1_000)
                break
            except PlaywrightTimeout:
                continue  # not shown yet: publish again
    finally:
        await publisher.stop()
    text = await feed.first.inner_text()
    assert iris in text
    assert "raised" in text
    assert "3" in text
    assert await feed.first.get_attribute("data-alert-id") == event.alert_id


async def test_city_map_and_suppressed_cells(server, browser, world, shots) -> None:
    """The Leaflet map colours IRIS and parcels from the api's rollups, draws the
    suppressed ones grey with the reason, has a legend; drill-down and series."""
    first, second, third = (str(n.iris) for n in world.territory.neighbourhoods[:3])
    today = datetime.now(PARIS).date().replace(day=1)
    prev = (today - timedelta(days=1)).replace(day=1)
    # 40 + 4 + 8 points; the commune minus the first IRIS leaves 12 points unknown,
    # so the first is published, the two small ones are not.
    rows = [
        ("neighbourhood", first, 40, 9_000_000),
        ("neighbourhood", second, 4, 900_000),
        ("neighbourhood", third, 8, 1_800_000),
        ("commune", str(world.territory.commune), 52, 11_700_000),
    ]
    async with world.pool.acquire() as conn:
        for scope, sid, points, wh in rows:
            await conn.execute(
                """INSERT INTO rollups VALUES ($1, $2, 'P1M', $3, $4,
                   'electricity', 'consumption', 'raw', 'Wh', $5, $6, 100000)""",
                scope,
                sid,
                midnight_of(prev),
                midnight_of(today),
                wh,
                points,
            )
        day = prev
        while day < today:  # the commune's days of that month: the series
            await conn.execute(
                """INSERT INTO rollups VALUES ('commune', $1, 'P1D', $2, $3,
                   'electricity', 'consumption', 'raw', 'Wh', $4, 52, 5000)""",
                str(world.territory.commune),
                midnight_of(day),
                midnight_of(day + timedelta(days=1)),
                300_000.0 + 10_000.0 * day.day,
            )
            day += timedelta(days=1)
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 900}
    )
    await page.goto(f"{server}/?lang=en")
    await page.fill("input[name=key]", world.commune_key)
    await page.click("#city-form button[type=submit]")
    await page.wait_for_url("**/city?lang=en")
    await expect(page.locator("#map[data-ready='1']")).to_have_count(1, timeout=30_000)
    table = page.locator("#city-table tbody tr")
    await expect(table).to_have_count(len(world.territory.neighbourhoods))
    await expect(table.nth(0)).to_contain_text("9,000")
    await expect(table.nth(1)).to_contain_text("suppressed")
    await expect(table.nth(2)).to_contain_text("suppressed")
    hoods = page.locator("#map path.hood")
    await expect(hoods).to_have_count(len(world.territory.neighbourhoods))
    await expect(page.locator("#map path.parcel")).to_have_count(
        len(world.territory.parcels)
    )
    drawn = {
        await h.get_attribute("data-id"): (
            await h.get_attribute("fill"),
            await h.get_attribute("data-state"),
        )
        for h in await hoods.all()
    }
    assert drawn[first][1] == "published"
    assert drawn[first][0] not in (
        "#8c8c8c",
        "#ffffff",
    )
    assert drawn[second] == ("#8c8c8c", "suppressed")
    assert drawn[third] == ("#8c8c8c", "suppressed")
    no_data = [i for i, (_, state) in drawn.items() if state == "empty"]
    assert all(drawn[i][0] == "#ffffff" for i in no_data)
    legend = page.locator("#legend li")
    assert await legend.count() >= 3
    await expect(page.locator("#legend")).to_contain_text("kWh")
    await expect(page.locator("#legend .suppressed-key")).to_contain_text("suppressed")
    # the commune's series: one bar per day of the month, axes drawn
    facts = await page.evaluate(CHART_FACTS, "series-chart")
    assert facts["points"] == (today - prev).days
    assert facts["axes"] >= 2
    assert facts["inked"] > 500
    assert facts["yMax"] == pytest.approx((300_000 + 10_000 * facts["points"]) / 1000)
    # CSV of what is on screen
    async with page.expect_download() as info:
        await page.click("#csv-screen")
    text = await asyncio.to_thread(Path(await (await info.value).path()).read_text)
    lines = text.strip().splitlines()
    assert len(lines) == 1 + facts["points"]
    assert lines[0].startswith("Date,Electricity consumed (kWh)")
    await _shoot(page, shots, "city")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await _no_serious_violation(page)
    # the year: 12 monthly buckets asked, the one stored month drawn, same totals
    await page.check("input[name=kind][value=year]")
    await page.click("#period-form button[type=submit]")
    await expect(page.locator("#series-chart")).to_have_attribute("data-points", "1")
    year = await page.evaluate(CHART_FACTS, "series-chart")
    assert year["first"] == prev.isoformat()
    assert year["yMax"] == pytest.approx(11_700)
    await expect(table.nth(0)).to_contain_text("9,000")
    # drill down to the first IRIS: the series title follows
    await table.nth(0).locator("button.drill").focus()
    await page.keyboard.press("Enter")  # by keyboard, from the table
    await expect(page.locator("#scope-name")).to_contain_text(first)


async def test_operator_sees_labelled_load_and_capacity(
    server, browser, world, shots
) -> None:
    """Every neighbourhood's latest load, its capacity in kW and the thresholds;
    one without any FluksoMeter says it has no live measurement (not "masqué")."""
    now = datetime.now(UTC)
    async with world.pool.acquire() as conn:
        measured = {
            r["iris"]
            for r in await conn.fetch(
                "SELECT DISTINCT b.iris FROM meters m JOIN buildings b"
                " USING (building_id) WHERE m.scheme = 'flukso'"
                " AND m.delivery_point_id IS NOT NULL"
            )
        }
        dark = next(
            str(n.iris)
            for n in world.territory.neighbourhoods
            if str(n.iris) not in measured
        )
        for k, n in enumerate(world.territory.neighbourhoods):
            await conn.execute(
                """INSERT INTO neighbourhood_load
                   (iris, at, consumption_kw, production_kw, capacity_kw,
                    meters_reporting, meters_stale)
                   VALUES ($1, $2, $3, 0, $4, $5, 0)""",
                str(n.iris),
                now,
                n.capacity_kw * (0.5 + 0.2 * k),
                n.capacity_kw,
                0 if str(n.iris) == dark else 60,
            )
        # what the collectors and the aggregator write: a quota status, a dead letter
        await conn.execute(
            """INSERT INTO ingest_status (source, instance, day, calls_today,
                   rate_per_s, cap_per_s, cap_per_hour, cap_per_day, backlog,
                   backlog_unit, updated_at, calls_last_hour)
               VALUES ('enedis', 'h-1', $1, 1234, 4.5, 5, 10000, 240000, 12,
                       'days', now(), 9500)""",
            now.astimezone(PARIS).date(),
        )
        await conn.execute(
            """INSERT INTO dead_letters (topic, partition, "offset", service, reason,
                   error_type, occurred_at)
               VALUES ('t', 0, 0, 'ingest-grdf', 'PCE [id]: volume is negative',
                       'PayloadInvalidError', $1)""",
            now,
        )
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    await _sign_in(page, server, "op@example.org")
    await page.wait_for_url("**/operator?lang=fr")
    rows = page.locator("#load-table tbody tr")
    await expect(rows).to_have_count(len(world.territory.neighbourhoods))
    for n in world.territory.neighbourhoods:
        row = page.locator(f"#load-table tr[data-iris='{n.iris}']")
        await expect(row).to_contain_text(n.name)
        await expect(row).to_contain_text(
            f"{n.capacity_kw:,.0f}".replace(",", "\u202f")
        )
        ticks = row.locator(".tick")
        await expect(ticks).to_have_count(4)  # capacity + three levels
        bar = row.locator(".gauge-bar")
        text = await row.inner_text()
        suppressed = "masqué" in text or "pas de mesure en direct" in text
        if not suppressed:
            assert (
                float(
                    (await bar.get_attribute("style") or "")
                    .split("width:")[1]
                    .split("%")[0]
                )
                > 0
            )
    unmeasured = page.locator(f"#load-table tr[data-iris='{dark}']")
    await expect(unmeasured).to_contain_text("pas de mesure en direct")
    await expect(unmeasured).not_to_contain_text("masqué")
    await expect(page.locator("#thresholds")).to_contain_text("80 %")
    sources = page.locator("#ingestion tbody tr")
    await expect(sources).to_have_count(4)  # enedis, grdf, flukso, sge
    await expect(
        page.locator("#ingestion tr[data-source='sge'] td").nth(9)
    ).to_have_text("0 / 0")
    await expect(
        page.locator("#ingestion tr[data-source='grdf'] td").nth(9)
    ).to_have_text("1 / 1")
    quota = page.locator("#ingestion tr[data-source='enedis'] td")
    await expect(quota.nth(7)).to_have_text(
        "1\u202f234 / 240\u202f000 · dernière heure 9\u202f500 / 10\u202f000"
    )
    await expect(quota.nth(7)).to_have_class("error")  # Q4 at 95 %
    await expect(quota.nth(8)).to_have_text("4,5 / 5")
    letters = page.locator("#dead-letters tr[data-service='ingest-grdf']")
    await expect(letters).to_contain_text("PCE [id]: volume is negative (1)")
    await expect(quota.nth(4)).to_contain_text("jours")  # enedis' backlog, labelled
    await expect(page.locator("#peers-none")).to_be_visible()  # no peer in this world
    async with world.pool.acquire() as conn:
        prm_series = await conn.fetchval(
            "SELECT count(*) FROM series WHERE scheme = 'prm'"
        )
    enedis = page.locator("#ingestion tr[data-source='enedis'] td")
    await expect(enedis.nth(1)).to_have_text(str(prm_series))
    await expect(page.locator("#ingestion-not-here")).to_contain_text(
        "flukso (pas de quota amont connu"
    )
    await _shoot(page, shots, "operator")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await _no_serious_violation(page)


async def test_docs_are_served_offline(server, browser) -> None:
    """Swagger UI from the vendored files: no request leaves the api's origin."""
    page = await browser.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    await page.goto(f"{server}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("SEN1 api")
    assert asked
    assert all(u.startswith(server) for u in asked), asked


def midnight_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def _half_hours(day: date) -> int:
    """The half-hours of a Paris day: 48, or 46/50 on a DST change day."""
    span = midnight_of(day + timedelta(days=1)) - midnight_of(day).astimezone(UTC)
    return span // timedelta(minutes=30)


async def test_resident_withdraws_exports_and_erases(
    server, browser, world, put_readings, tmp_path
) -> None:
    """Withdraw (keep, then delete), download the archive, read the access log and
    erase the account, all from the resident page in the browser."""
    today = datetime.now(PARIS).date()
    first = datetime.combine(
        today - timedelta(days=3), datetime.min.time(), tzinfo=PARIS
    ).astimezone(UTC)
    resident = world.territory.residents[0]
    prm, device = resident.meters[0], resident.meters[1]
    async with world.pool.acquire() as conn:
        await put_readings(conn, prm, first, [125.0] * 48 * 3)
    page = await browser.new_page(timezone_id="Europe/Paris", accept_downloads=True)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await _sign_in(page, server, resident.email)
    await page.wait_for_url("**/resident?lang=fr")
    await page.locator("#daily-chart canvas").wait_for(timeout=15_000)

    # the archive, downloaded as a browser does
    async with page.expect_download() as info:
        await page.click("#export-all")
    download = await info.value
    target = tmp_path / "mine.zip"
    await download.save_as(target)
    with zipfile.ZipFile(target) as archive:
        readings = archive.read("readings.csv").decode()
        consents = json.loads(archive.read("consents.json"))
    rows_of = [line for line in readings.splitlines() if line.startswith(prm + ",")]
    assert len(rows_of) == 48 * 3
    assert {c["meter_id"] for c in consents} == {prm, device}

    # who accessed my data: the dashboard's own reads (and the export), by "vous"
    await page.reload()
    log = page.locator("#access-log tbody tr")
    await log.first.wait_for(timeout=15_000)
    await expect(log.first).to_contain_text("vous")
    await expect(page.locator("#access-log")).to_contain_text("/v1/me/export")

    rows = page.locator("#consents tbody tr")
    await expect(rows).to_have_count(2)
    options = page.locator("#meter option")
    await expect(options).to_have_count(2)
    # withdraw and keep: the device disappears from the meters, its data is kept
    await page.locator(f"#consents tr:has-text('{device[-4:]}') .withdraw-keep").click()
    await expect(page.locator("#rights-message")).to_have_text("Consentement retiré.")
    await expect(options).to_have_count(1)
    await expect(
        page.locator(f"#consents tr:has-text('{device[-4:]}')")
    ).to_contain_text("retiré")
    # withdraw and delete: the PRM's readings go
    await page.locator(f"#consents tr:has-text('{prm[-4:]}') .withdraw-delete").click()
    await expect(page.locator("#rights-message")).to_contain_text(
        f"{48 * 3} relevés supprimés"
    )
    await expect(options).to_have_count(0)
    async with world.pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM readings r JOIN series s USING (series_id) "
            "WHERE s.meter_id = $1",
            prm,
        )
        live = await conn.fetchval(
            "SELECT count(*) FROM consents WHERE meter_id = ANY($1::text[]) "
            "AND revoked_at IS NULL",
            [prm, device],
        )
    assert (left, live) == (0, 0)

    # erase the account: back to the sign-in page, told so; nothing left
    await page.click("#erase")
    await page.wait_for_url("**/?lang=fr&erased=1")
    await expect(page.locator("#erased")).to_be_visible()
    async with world.pool.acquire() as conn:
        gone = await conn.fetchval(
            "SELECT count(*) FROM people WHERE email = $1", resident.email
        )
    assert gone == 0
    await page.fill("input[name=email]", resident.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-error")).to_be_visible()


async def test_portfolio_lists_ranks_and_flags_sites(
    server, browser, world, put_readings, shots
) -> None:
    """A manager with consents on several sites: rows, ranking, flag, CSV."""
    manager = world.territory.residents[0]
    sites = [world.territory.residents[k].meters[0] for k in (2, 3, 4)]
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        for k, meter in enumerate(sites):
            await conn.execute(  # the site's verified holder shares it
                """INSERT INTO api_meter_shares (owner_person_id, grantee_person_id,
                       meter_id, expires_at)
                   SELECT a.person_id, $1, $2, now() + interval '1 year'
                   FROM consents a WHERE a.meter_id = $2
                     AND a.verification = 'verified' AND a.revoked_at IS NULL""",
                person,
                meter,
            )
            series = await put_readings(conn, meter, end - timedelta(days=61), [0.0])
            night = 400.0 if k == 1 else 80.0  # the second site never sleeps
            await conn.execute(
                """INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
                   SELECT $1, t, t + interval '30 minutes',
                     CASE WHEN extract(hour FROM t AT TIME ZONE 'Europe/Paris')
                          BETWEEN 1 AND 4 THEN $2::float8 ELSE $3::float8 END, 1
                   FROM generate_series($4::timestamptz - interval '60 days',
                        $4::timestamptz - interval '30 minutes', interval '30 minutes') t""",
                series,
                night,
                300.0 + 100.0 * k,
                end,
            )
    page = await browser.new_page(
        timezone_id="Europe/Paris",
        viewport={"width": 1100, "height": 900},
        accept_downloads=True,
    )
    await _sign_in(page, server, manager.email)
    await page.wait_for_url("**/resident?lang=fr")
    await page.goto(f"{server}/portfolio?lang=fr")
    rows = page.locator("#portfolio tbody tr")
    await rows.first.wait_for(timeout=15_000)
    tails = [await r.get_attribute("data-meter") for r in await rows.all()]
    assert {"…" + m[-4:] for m in sites} <= set(tails)
    flagged = page.locator("#portfolio tr[data-anomalies~='night-baseload']")
    await expect(flagged).to_have_count(1)
    await expect(flagged).to_have_attribute("data-meter", "…" + sites[1][-4:])
    await expect(flagged).to_contain_text("talon de nuit")
    per_m2 = [await r.locator("td").nth(4).inner_text() for r in await rows.all()]
    values = [
        float(v.replace("\u202f", "").replace(",", "."))
        for v in per_m2
        if v != "\u2013"
    ]
    assert values == sorted(values, reverse=True)
    await expect(page.locator("#portfolio-chart .hbar")).to_have_count(len(tails))
    async with page.expect_download() as info:
        await page.click("#portfolio-csv")
    path = Path(await (await info.value).path())
    text = await asyncio.to_thread(path.read_text)
    assert len(text.strip().splitlines()) == 1 + len(tails)
    await _shoot(page, shots, "portfolio")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await _no_serious_violation(page)


async def test_city_drills_down_to_a_building_in_one_call_per_level(
    server, browser, world, shots
) -> None:
    """Commune → IRIS → parcel → building, by keyboard: the map is painted from
    one /v1/map call per level (no per-feature request); a building under the
    threshold stays suppressed on the way, with its reason; the CSV of the
    screen holds what the series table shows."""
    t = world.territory
    per_parcel: dict[str, list[str]] = {}
    for b in t.buildings:
        per_parcel.setdefault(str(b.parcel), []).append(b.building_id)
    parcel, kids = next((p, k) for p, k in per_parcel.items() if len(k) >= 3)
    iris = next(str(p.iris) for p in t.parcels if str(p.idu) == parcel)
    big, small, mid = kids[:3]
    today = datetime.now(PARIS).date().replace(day=1)
    prev = (today - timedelta(days=1)).replace(day=1)
    # 30 + 4 + 7 points: the two small ones stay unknown together (11 >= 10),
    # so the big building is published and the small one is not.
    rows = [
        ("building", big, 30),
        ("building", small, 4),
        ("building", mid, 7),
        ("parcel", parcel, 41),
        ("neighbourhood", iris, 41),
        ("commune", str(t.commune), 41),
    ]
    async with world.pool.acquire() as conn:
        for scope, sid, points in rows:
            await conn.execute(
                """INSERT INTO rollups VALUES ($1, $2, 'P1M', $3, $4,
                   'electricity', 'consumption', 'raw', 'Wh', $5, $6, 100000)""",
                scope, sid, midnight_of(prev), midnight_of(today),
                250_000.0 * points, points,
            )  # fmt: skip
        # the commune's and the IRIS' days: the series, varying, and adding up to
        # their month (a month that is not its days' sum holds data no day holds:
        # the time pass would rightly withhold a day to keep that part unknown)
        days = [prev + timedelta(days=k) for k in range((today - prev).days)]
        weights = {d: 200_000.0 + 1_234.5 * d.day for d in days}
        scale = 250_000.0 * 41 / sum(weights.values())
        day = prev
        while day < today:
            for scope, sid in (("commune", str(t.commune)), ("neighbourhood", iris)):
                await conn.execute(
                    """INSERT INTO rollups VALUES ($1, $2, 'P1D', $3, $4,
                       'electricity', 'consumption', 'raw', 'Wh', $5, 41, 9000)""",
                    scope, sid, midnight_of(day), midnight_of(day + timedelta(days=1)),
                    weights[day] * scale,
                )  # fmt: skip
            # the same day a year before, for the comparison (29 February aside)
            if not (day.month == 2 and day.day == 29):
                before = day.replace(year=day.year - 1)
                await conn.execute(
                    """INSERT INTO rollups VALUES ('commune', $1, 'P1D', $2, $3,
                       'electricity', 'consumption', 'raw', 'Wh', $4, 41, 9000)""",
                    str(t.commune), midnight_of(before),
                    midnight_of(before + timedelta(days=1)), 150_000.0,
                )  # fmt: skip
            day += timedelta(days=1)
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 900}
    )
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    await page.goto(f"{server}/?lang=en")
    await page.fill("input[name=key]", world.commune_key)
    await page.click("#city-form button[type=submit]")
    await page.wait_for_url("**/city?lang=en")
    await expect(page.locator("#map[data-ready='1']")).to_have_count(1, timeout=30_000)
    maps = [u for u in asked if "/v1/map/" in u]
    assert sorted(u.split("/v1/map/")[1].split("?")[0] for u in maps) == [
        "neighbourhood",
        "parcel",
    ]
    assert not [u for u in asked if "/v1/rollups/parcel/" in u]
    assert not [u for u in asked if "/v1/rollups/neighbourhood/" in u]
    await expect(page.locator("#legend .legend-title")).to_contain_text(
        "kWh per delivery point"
    )
    # the same period last year, drawn next to this year's bars
    facts = await page.evaluate(CHART_FACTS, "series-chart")
    assert "Same period last year" in facts["series"]
    last = facts["perSeries"][facts["series"].index("Same period last year")]
    assert last == sum(
        1
        for k in range((today - prev).days)
        if not (
            (prev + timedelta(days=k)).month == 2
            and (prev + timedelta(days=k)).day == 29
        )
    )
    # CSV of the screen = the series table, row by row (commune, daily bars)
    async with page.expect_download() as info:
        await page.click("#csv-screen")
    text = await asyncio.to_thread(Path(await (await info.value).path()).read_text)
    csv_rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    cells = await page.locator("#series-table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))"
    )
    assert len(csv_rows) == len(cells) == (today - prev).days
    for got, shown in zip(csv_rows, cells, strict=True):
        assert datetime.fromisoformat(got[0]).astimezone(PARIS).day == int(
            shown[0].split("/")[1]
        )
        for k in (1, 2):  # this year, and last year's same day
            assert float(got[k]) == pytest.approx(
                float(shown[k].replace(",", "")), abs=0.05
            )
    # the map's CSV: every IRIS and parcel as drawn, the same figures as the table
    async with page.expect_download() as info:
        await page.click("#csv-map")
    text = await asyncio.to_thread(Path(await (await info.value).path()).read_text)
    mapped = list(csv.DictReader(io.StringIO(text)))
    hoods = [r for r in mapped if r["level"] == "neighbourhood"]
    assert len(hoods) == len(t.neighbourhoods)
    assert len(mapped) == len(t.neighbourhoods) + len(t.parcels)
    for r in hoods:
        shown = await page.locator(
            "#city-table tbody tr", has_text=r["id"]
        ).inner_text()
        if r["state"] == "published":
            assert f"{float(r['value']):,.0f}" in shown
            assert r["delivery_points"] in shown
        else:
            assert r["value"] == ""
            assert r["delivery_points"] == ""
    mine = next(r for r in mapped if r["id"] == iris)
    assert (mine["state"], float(mine["value"]), mine["delivery_points"]) == (
        "published",
        10_250.0,
        "41",
    )
    assert next(r for r in mapped if r["id"] == parcel)["value"] == "10250"
    # commune → IRIS (keyboard, from the IRIS table)
    row = page.locator("#city-table tbody tr", has_text=iris)
    await row.locator("button.drill").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#scope-name")).to_contain_text(iris)
    # → parcel, from the parcels of that IRIS
    prow = page.locator(f"#parcels tbody tr[data-id='{parcel}']")
    await expect(prow).to_contain_text("10,250")  # 41 points at 250 kWh
    await prow.locator("button.drill").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#scope-name")).to_contain_text(parcel)
    # → its buildings, from one /v1/map/building call: the small one suppressed
    small_row = page.locator(f"#buildings tbody tr[data-id='{small}']")
    await expect(small_row).to_contain_text("suppressed")
    await expect(small_row.locator(".suppressed")).to_contain_text("delivery points")
    await expect(page.locator(f"#buildings tbody tr[data-id='{big}']")).to_contain_text(
        "7,500"
    )
    assert [u for u in asked if "/v1/map/building" in u and parcel in u]
    assert not [u for u in asked if "/v1/rollups/building/" in u]
    # → the small building: its series stays suppressed
    await small_row.locator("button.drill").focus()
    await page.keyboard.press("Enter")
    small_name = next(b.address for b in t.buildings if b.building_id == small)
    await expect(page.locator("#scope-name")).to_contain_text(small_name)
    facts = await page.evaluate(CHART_FACTS, "series-chart")
    assert facts["distinct"] == 0  # nothing of four homes is drawn
    # the period picker: yesterday by the hour, then a custom span by the day
    yesterday = datetime.now(PARIS).date() - timedelta(days=1)
    asked.clear()
    await page.check("input[name=kind][value=day]")
    await page.click("#period-form button[type=submit]")
    await expect(page.locator("#p-start")).to_have_value(yesterday.isoformat())
    await expect(page.locator("#series-caption")).to_contain_text(yesterday.isoformat())
    day_maps = [u for u in asked if "/v1/map/" in u]
    assert day_maps
    assert all(
        f"start={yesterday}&end={yesterday + timedelta(days=1)}" in u for u in day_maps
    )
    assert [u for u in asked if "/v1/rollups/building/" in u and "bucket=PT1H" in u]
    asked.clear()
    await page.check("input[name=kind][value=custom]")
    await page.fill("#p-start", "2026-01-10")
    await page.fill("#p-end", "2026-02-20")
    await page.click("#period-form button[type=submit]")
    await expect(page.locator("#series-caption")).to_contain_text("2026-01-10")
    assert [
        u
        for u in asked
        if "/v1/map/neighbourhood" in u and "start=2026-01-10&end=2026-02-20" in u
    ]
    assert [u for u in asked if "/v1/rollups/building/" in u and "bucket=P1D" in u]
    await _shoot(page, shots, "city-building")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await _no_serious_violation(page)


async def test_resident_sees_production_over_the_daily_bars(
    server, browser, world, put_readings
) -> None:
    """A PV home: its production is drawn as a line over the consumption bars,
    with production against consumption over the days it covers."""
    today = datetime.now(PARIS).date()
    days = 20
    first = datetime.combine(
        today - timedelta(days=days), datetime.min.time(), tzinfo=PARIS
    ).astimezone(UTC)
    # every day its own half-hours (46 or 50 on a DST change day): 9.6 kWh used
    spans = [_half_hours(today - timedelta(days=days - d)) for d in range(days)]
    starts = [first + timedelta(minutes=30 * sum(spans[:d])) for d in range(days)]
    async with world.pool.acquire() as conn:
        used = [200.0 * 48 / n for n in spans for _ in range(n)]
        await put_readings(conn, world.meter_a, first, used)
        series = await conn.fetchval(
            """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension,
                 unit) VALUES ($1, $2, 'prm', 'production', 'interval', 'energy', 'Wh')
               RETURNING series_id""",
            f"urn:dev:prm:{world.meter_a}_production/energy/active",
            world.meter_a,
        )
        # sunny middays only: 1 kWh per half-hour from 11:00 to 15:00, 8 kWh a day
        await conn.executemany(
            "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
            " VALUES ($1, $2, $3, $4, 1)",
            [
                (
                    series,
                    starts[d] + timedelta(minutes=30 * h),
                    starts[d] + timedelta(minutes=30 * (h + 1)),
                    1000.0 if 22 <= h < 30 else 0.0,
                )
                for d in range(days)
                for h in range(spans[d])
            ],
        )
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 900}
    )
    await _sign_in(page, server, world.territory.residents[0].email)
    await page.wait_for_url("**/resident?lang=fr")
    await expect(page.locator("#prod-share")).to_be_visible(timeout=30_000)
    facts = await page.evaluate(CHART_FACTS, "daily-chart")
    assert "Électricité produite" in facts["series"]
    produced = facts["perSeries"][facts["series"].index("Électricité produite")]
    assert produced == days
    # 20 days of 8 kWh made against 20 days of 9.6 kWh used
    await expect(page.locator("#prod-share")).to_contain_text("160 / 192 kWh")


async def test_portfolio_ranks_by_change_over_a_year(
    server, browser, world, put_readings
) -> None:
    """Two years of three sites: ranked by change vs the year before, the CSV
    holds the rows in the order shown."""
    manager = world.territory.residents[0]
    sites = [world.territory.residents[k].meters[0] for k in (2, 3, 4)]
    growth = {sites[0]: 1.0, sites[1]: 1.5, sites[2]: 0.8}  # 0 %, +50 %, -20 %
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        for meter in sites:
            await conn.execute(
                """INSERT INTO api_meter_shares (owner_person_id, grantee_person_id,
                       meter_id, expires_at)
                   SELECT a.person_id, $1, $2, now() + interval '1 year'
                   FROM consents a WHERE a.meter_id = $2
                     AND a.verification = 'verified' AND a.revoked_at IS NULL""",
                person,
                meter,
            )
            series = await put_readings(conn, meter, end - timedelta(days=731), [0.0])
            await conn.execute(
                """INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
                   SELECT $1, t, t + interval '30 minutes',
                     CASE WHEN t >= $2::timestamptz - interval '365 days'
                          THEN 200.0 * $3::float8 ELSE 200.0 END, 1
                   FROM generate_series($2::timestamptz - interval '730 days',
                        $2::timestamptz - interval '30 minutes', interval '30 minutes') t""",
                series,
                end,
                growth[meter],
            )
    page = await browser.new_page(
        timezone_id="Europe/Paris",
        viewport={"width": 1100, "height": 900},
        accept_downloads=True,
    )
    await _sign_in(page, server, manager.email)
    await page.wait_for_url("**/resident?lang=fr")
    await page.goto(f"{server}/portfolio?lang=en")
    rows = page.locator("#portfolio tbody tr")
    await rows.first.wait_for(timeout=15_000)
    await page.select_option("#rank", "change_pct")
    tails = {"…" + m[-4:]: m for m in sites}
    order = [
        tails[t]
        for t in [await r.get_attribute("data-meter") for r in await rows.all()]
        if t in tails
    ]
    assert order == [sites[1], sites[0], sites[2]]  # +50 %, 0 %, -20 %
    changes = [await r.locator("td").nth(5).inner_text() for r in await rows.all()]
    assert changes[:3] == ["+50 %", "0 %", "-20 %"]
    async with page.expect_download() as info:
        await page.click("#portfolio-csv")
    text = await asyncio.to_thread(Path(await (await info.value).path()).read_text)
    exported = list(csv.reader(io.StringIO(text)))[1:]
    assert [round(float(r[5])) for r in exported[:3]] == [50, 0, -20]


async def test_manager_registers_sge_sites_from_the_portfolio(
    server, browser, world, shots
) -> None:
    """The form on the portfolio page registers PRMs with the customer's
    authorisation; the list follows the enrolment (here played with the shared
    SQL the ingest-sge worker runs) and withdraws a site."""
    from energy_store import sge_sites

    manager = world.territory.residents[0]
    page = await browser.new_page(viewport={"width": 1100, "height": 1400})
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await _sign_in(page, server, manager.email)
    await page.wait_for_url("**/resident?lang=fr")
    await page.goto(f"{server}/portfolio?lang=fr")
    await page.fill("#sge-name", "Groupe scolaire Jean Moulin")
    await page.fill("#sge-prms", "30000000000011\n30000000000012, 1234")
    await page.fill("#sge-authorised-by", "Commune d'Échirolles")
    await page.fill("#sge-proof", "délibération 2026-118")
    await page.click("#sge-form button[type=submit]")
    await expect(page.locator("#sge-message")).to_have_class("error")  # 1234
    await page.fill("#sge-prms", "30000000000011\n30000000000012")
    await page.click("#sge-form button[type=submit]")
    await expect(page.locator("#sge-message")).to_contain_text("2 demandes")
    rows = page.locator("#sge-sites tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#sge-sites td[data-state=requested]")).to_have_count(2)
    now = datetime.now(UTC)
    async with world.pool.acquire() as conn:
        for site in await sge_sites.claim(
            conn, now=now, limit=10, lease=timedelta(minutes=5)
        ):
            assert await sge_sites.verify(conn, site, now=now) is None
            await sge_sites.finish(conn, site, state="active", now=now, service_id="1")
    await page.reload()
    await expect(page.locator("#sge-sites td[data-state=active]")).to_have_count(2)
    await expect(page.locator("#sge-sites")).to_contain_text("actif")
    await _shoot(page, shots, "portfolio-sge")
    await _no_serious_violation(page)
    await page.click("#sge-sites button[aria-label$='30000000000011']")
    await expect(page.locator("#sge-sites td[data-state=withdrawing]")).to_have_count(1)
