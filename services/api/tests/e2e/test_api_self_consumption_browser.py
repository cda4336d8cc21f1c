"""Production and self-consumption as drawn (Debian's Chromium): a PV home sees
its gross production, injection and self-consumption; the city page shows the
IRIS with enough homes measured on both sides and masks the others. Both pages
pass the vendored axe check and fit a phone's width."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from api.main import create_app
from api.settings import Settings
from energy_core.domain.time import PARIS, local_midnight

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


async def _checked(page) -> None:
    """axe (vendored): no serious violation; no sideways scroll at 375 px."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact}))"
    )
    assert not [v for v in result if v["impact"] in ("serious", "critical")], result
    await page.set_viewport_size({"width": 375, "height": 800})
    await page.wait_for_timeout(300)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, overflow


async def _curve(conn, meter_id: str, first: date, days: int, wh: float) -> None:
    """``days`` Paris days of ``48 * wh`` each, spread over the day's half-hours
    (46 or 50 on a DST change day: a day's total never depends on the date)."""
    series = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit)
           VALUES ($1, $2, 'prm', 'production', 'interval', 'energy', 'Wh')
           ON CONFLICT (urn) DO UPDATE SET unit = EXCLUDED.unit RETURNING series_id""",
        f"urn:dev:prm:{meter_id}_production/energy/active",
        meter_id,
    )
    rows = []
    for d in range(days):
        t = local_midnight(first + timedelta(d)).astimezone(UTC)
        end = local_midnight(first + timedelta(d + 1))
        share = wh * 48 / ((end - t) / timedelta(minutes=30))
        while t < end:
            rows.append((series, t, t + timedelta(minutes=30), share))
            t += timedelta(minutes=30)
    await conn.executemany(
        "INSERT INTO readings (series_id, start_ts, end_ts, value, quality) "
        "VALUES ($1, $2, $3, $4, 1)",
        rows,
    )


async def test_a_pv_home_sees_production_and_self_consumption(
    server, browser, world
) -> None:
    owner = world.territory.residents[1]  # a FluksoMeter home with a PV sensor
    pv = next(
        s.meter_id
        for d in world.territory.flukso_devices
        for s in d.sensors
        if s.meter_id in owner.meters and s.direction.value == "production"
    )
    today = datetime.now(PARIS).date()
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE meters SET delivery_point_id = $1 WHERE meter_id = $2",
            world.meter_b,
            pv,
        )
        await _curve(conn, pv, today - timedelta(10), 10, 100.0)  # 4.8 kWh a day
        await _curve(conn, world.meter_b, today - timedelta(10), 8, 25.0)  # 1.2
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 1200}
    )
    await page.goto(f"{server}/?lang=fr")
    await page.fill("input[name=email]", owner.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url("**/resident?lang=fr")
    card = page.locator("#sc-card")
    await expect(card).to_have_attribute("data-ready", "1", timeout=30_000)
    await expect(card).to_be_visible()
    # 8 days with both sides: 38.4 kWh made, 9.6 injected, 28.8 used at home (75 %)
    summary = page.locator("#sc-summary")
    await expect(summary).to_contain_text("38,4")
    await expect(summary).to_contain_text("9,6")
    await expect(summary).to_contain_text("28,8")
    await expect(summary).to_contain_text("75 %")
    # the two days without Linky data say which side is missing
    await expect(page.locator("#sc-days tbody")).to_contain_text(
        "production seule : injection inconnue"
    )
    await _checked(page)
    # and in English
    await page.set_viewport_size({"width": 1100, "height": 1200})
    await page.goto(f"{server}/resident?lang=en")
    await expect(card).to_have_attribute("data-ready", "1", timeout=30_000)
    await expect(card.locator("h2")).to_have_text("Production and self-consumption")
    await expect(page.locator("#sc-days tbody")).to_contain_text(
        "production only: injection unknown"
    )
    await _checked(page)


async def test_the_city_page_shows_self_consumption_per_iris(
    server, browser, world
) -> None:
    today = datetime.now(PARIS).date()
    end = today.replace(day=1)  # the page opens on the last full month
    start = (end - timedelta(days=1)).replace(day=1)
    hoods = [str(n.iris) for n in world.territory.neighbourhoods]
    big, small = hoods[0], hoods[1]
    commune = str(world.territory.commune)
    rows = []
    for iris, points, tag in ((big, 13, "A"), (small, 3, "B"), (hoods[2], 12, "C")):
        day = start
        while day < end:
            for p in range(points):
                rows.append(
                    (f"{tag}{p:04d}", local_midnight(day),
                     local_midnight(day + timedelta(1)), iris, commune)
                )  # fmt: skip
            day += timedelta(1)
    async with world.pool.acquire() as conn:
        # the map: one IRIS of 3 consumers over the month (its reason, in French)
        await conn.execute(
            """INSERT INTO rollups VALUES ('neighbourhood', $1, 'P1M', $2, $3,
               'electricity', 'consumption', 'raw', 'Wh', 3000, 3, 1000)""",
            small, local_midnight(start), local_midnight(end),
        )  # fmt: skip
        for scope, sid in (("commune", commune), ("neighbourhood", big)):  # gas
            await conn.execute(
                """INSERT INTO rollups VALUES ($1, $2, 'P1M', $3, $4, 'gas',
                   'consumption', 'raw', 'Wh', 12000000, 12, 1000000)""",
                scope, sid, local_midnight(start), local_midnight(end),
            )  # fmt: skip
        await conn.executemany(
            """INSERT INTO aggregator_meter_days (point_id, direction, unit, day_start,
                 day_end, energy, iris, commune_insee, ev0, ev1, ev2, en0, en1, en2,
                 sv0, sv1, sv2, sn0, sn1, sn2, ev3, en3, sv3, sn3)
               VALUES ($1, 'production', 'Wh', $2, $3, 'electricity', $4, $5,
                 0, 4000, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10000, 1440)""",
            rows,
        )
    page = await browser.new_page(
        timezone_id="Europe/Paris", viewport={"width": 1100, "height": 1200}
    )
    await page.goto(f"{server}/city?lang=fr")
    card = page.locator("#sc-card")
    await expect(card).to_have_attribute("data-ready", "1", timeout=60_000)
    table = page.locator("#sc-table tbody")
    days = (end - start).days
    big_row = table.locator("tr", has_text=big)
    await expect(big_row).to_contain_text(f"{13 * 6 * days:,}".replace(",", "\u202f"))
    await expect(big_row).to_contain_text("publié")
    await expect(table.locator("tr", has_text=small)).to_contain_text("masqué")
    # 28 - 13 - 12 = 3: the smaller sibling is withheld with the small one
    await expect(table.locator("tr", has_text=hoods[2])).to_contain_text("masqué")
    await expect(page.locator("#sc-coverage")).to_contain_text("28 mesurés")
    # reasons in the page's language, on the map's table and on this card
    await expect(table.locator("tr", has_text=small)).to_contain_text(
        "moins de 10 points de livraison"
    )
    await expect(table.locator("tr", has_text=hoods[2])).to_contain_text(
        "par différence avec la commune"
    )
    await expect(page.locator("#city-table tr", has_text=small)).to_contain_text(
        "masqué (secret statistique) — moins de 10 points de livraison"
    )
    # the map's measure: gas, as the IRIS table shows it (12,000 kWh PCS)
    await page.select_option("#map-measure", "gas:consumption")
    await expect(page.locator("#city-table tr", has_text=big)).to_contain_text(
        re.compile(r"12\s000")
    )
    await _checked(page)
