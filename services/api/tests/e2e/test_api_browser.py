"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against uvicorn.

Never ``playwright install``: the system browser is used. Skipped, with the reason,
only when /usr/bin/chromium is absent (CI installs it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from api.main import create_app
from api.settings import Settings
from energy_core import topics
from energy_core._pb.energy.grid.v1 import alerts_pb2
from energy_core.domain.time import PARIS, to_micros
from energy_core.kafka import KafkaPublisher
from sen1_stack.broker import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent (apt-get install chromium)",
    ),
]


@pytest_asyncio.fixture
async def server(world, postgres_settings, kafka_settings) -> AsyncIterator[str]:
    settings = Settings(
        postgres=postgres_settings,
        kafka=kafka_settings,
        cookie_secure=False,
        subscribe_alerts=True,
    )
    app = create_app(settings, pool=world.pool)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(f"{base}/?lang=fr")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def test_resident_sees_daily_bars(server, browser, world, put_readings) -> None:
    today = datetime.now(PARIS).date()
    first = datetime.combine(
        today - timedelta(days=10), datetime.min.time(), tzinfo=PARIS
    ).astimezone(UTC)
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, first, [250.0] * 48 * 10)
    page = await browser.new_page(timezone_id="Europe/Paris")
    await _sign_in(page, server, world.territory.residents[0].email)
    await page.wait_for_url("**/resident?lang=fr")
    bars = page.locator("#daily-chart rect.bar")
    await bars.first.wait_for(timeout=15_000)
    assert await bars.count() == 10
    label = await bars.first.get_attribute("data-label")
    assert label == (today - timedelta(days=10)).isoformat()
    await expect(page.locator("#m-kwh")).to_contain_text("kWh")
    assert await page.locator("html").get_attribute("lang") == "fr"
    assert isinstance(date.fromisoformat(label or ""), date)


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


async def test_city_map_and_suppressed_cells(server, browser, world) -> None:
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
    page = await browser.new_page(timezone_id="Europe/Paris")
    await page.goto(f"{server}/?lang=en")
    await page.fill("input[name=key]", world.commune_key)
    await page.click("#city-form button[type=submit]")
    await page.wait_for_url("**/city?lang=en")
    rows = page.locator("#city-table tbody tr")
    await expect(rows).to_have_count(len(world.territory.neighbourhoods))
    await expect(rows.nth(0)).to_contain_text("9,000")
    await expect(rows.nth(1)).to_contain_text("suppressed")
    await expect(rows.nth(2)).to_contain_text("suppressed")
    await expect(page.locator("#map path.hood")).to_have_count(
        len(world.territory.neighbourhoods)
    )
    await expect(page.locator("#map path.parcel")).to_have_count(
        len(world.territory.parcels)
    )


def midnight_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


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
    await page.locator("#daily-chart rect.bar").first.wait_for(timeout=15_000)

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
