"""The resident page's gas card and GRDF access card in headless Chromium.

Gas days (06:00 -> 06:00) drawn beside electricity, never added to it; this
month's kWh PCS, m3, euros (dated benchmark price) and CO2; the GRDF right with
its state and GRDF's request for proofs; axe finds no serious violation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from api.main import create_app
from api.settings import Settings
from energy_core.domain.time import PARIS

PASSWORD = "correct horse battery"
AXE = (
    Path(__file__).parents[2] / "src" / "api" / "static" / "vendor" / "axe-core"
) / "axe.min.js"
pytestmark = pytest.mark.e2e  # Chromium and `serve`: conftest.py


@pytest_asyncio.fixture
async def server(world, postgres_settings, serve) -> AsyncIterator[str]:
    settings = Settings(
        postgres=postgres_settings, cookie_secure=False, subscribe_alerts=False
    )
    async with serve(create_app(settings, pool=world.pool)) as url:
        yield url


async def test_resident_sees_gas_days_euros_and_the_grdf_right(
    server, browser, world
) -> None:
    territory = world.territory
    gas = {str(m.meter) for m in territory.meters if m.energy.value == "gas"}
    resident = next(r for r in territory.residents if any(m in gas for m in r.meters))
    pce = next(m for m in resident.meters if m in gas)
    today = datetime.now(PARIS).date()
    days = 40
    async with world.pool.acquire() as conn:
        from api import auth

        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", resident.email
        )
        await auth.create_account(
            conn, email=resident.email, password=PASSWORD, role="resident",
            person_id=person,
        )  # fmt: skip
        ids = {}
        for dimension, unit in (("energy", "Wh"), ("volume", "m3")):
            ids[dimension] = await conn.fetchval(
                "INSERT INTO series (urn, meter_id, scheme, direction, kind,"
                " dimension, unit) VALUES ($1, $2, 'pce', 'consumption', 'interval',"
                " $3, $4) RETURNING series_id",
                f"urn:test:pce:{pce}/{dimension}",
                pce,
                dimension,
                unit,
            )
        rows = []
        for d in range(days):
            day = today - timedelta(days=days - d)
            start = datetime.combine(day, time(6), tzinfo=PARIS)
            end = datetime.combine(day + timedelta(days=1), time(6), tzinfo=PARIS)
            kwh = 20.0 + 3 * (d % 5)
            rows.append((ids["energy"], start, end, kwh * 1000, 1))
            rows.append((ids["volume"], start, end, kwh / 11.2, 1))
        await conn.executemany(
            "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
            " VALUES ($1, $2, $3, $4, $5)",
            rows,
        )
        await conn.execute(
            "INSERT INTO api_gas_prices VALUES ('B1', '2020-01-01', NULL, 24.0, 0.11,"
            " 'test benchmark', 'test') ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO grdf_rights (meter_id, right_id, state, right_start,"
            " right_end, data_from, data_until, proof_status, proof_deadline)"
            " VALUES ($1, 'r-1', 'active', $2, $3, $4, $3, 'requested', $5)",
            pce,
            today - timedelta(days=5),
            today + timedelta(days=300),
            today - timedelta(days=365),
            today + timedelta(days=10),
        )
    page = await browser.new_page(timezone_id="Europe/Paris")
    logs: list[str] = []
    page.on("console", lambda m: logs.append(m.text))
    page.on("pageerror", lambda e: logs.append(str(e)))
    await page.goto(f"{server}/?lang=fr")
    await page.fill("input[name=email]", resident.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url("**/resident?lang=fr")
    try:
        await page.locator("#gas-chart canvas").wait_for(timeout=15_000)
    except Exception:
        raise AssertionError(logs) from None
    points = await page.evaluate("window.sen1Charts['gas-chart'].data[0].length")
    assert points == days
    await expect(page.locator("#g-kwh")).to_contain_text("kWh PCS")
    await expect(page.locator("#g-m3")).to_contain_text("m³")
    await expect(page.locator("#g-eur")).to_contain_text("€")
    await expect(page.locator("#g-co2")).to_contain_text("kg CO2e")
    row = page.locator(f"#grdf-rights tr[data-meter-id='{pce}']")
    await expect(row).to_have_attribute("data-state", "active")
    await expect(row).to_contain_text("demandé par GRDF")
    await expect(row.locator("input[type=file]")).to_have_count(1)
    # GRDF's deadline as a reminder above the list (10 days left: not urgent yet)
    reminder = page.locator(f"#grdf-reminders p[data-meter-id='{pce}']")
    await expect(reminder).to_have_attribute("data-reminder", "asked")
    await expect(reminder).to_contain_text(str(today + timedelta(days=10)))
    await expect(reminder).to_contain_text("10 jours")
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact,"
        " target: v.nodes[0] && v.nodes[0].target.join(' ')}))"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, bad
