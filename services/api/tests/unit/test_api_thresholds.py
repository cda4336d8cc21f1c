"""The operator page draws the aggregator's alert thresholds: one shared block
(``CONGESTION_LEVEL_THRESHOLDS``, energy_core.settings.CongestionSettings)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from api.main import create_app
from api.settings import Settings
from energy_core.settings import CongestionSettings


async def test_the_operator_page_labels_the_shared_thresholds(monkeypatch) -> None:
    monkeypatch.setenv("CONGESTION_LEVEL_THRESHOLDS", "[0.7, 0.9, 1.2]")
    settings = Settings()
    assert settings.congestion.level_thresholds == (0.7, 0.9, 1.2)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        page = (await c.get("/operator?lang=en")).text
    assert 'data-thresholds="0.7,0.9,1.2"' in page
    for text in ("level 1 ≥ 70 %", "level 2 ≥ 90 %", "level 3 ≥ 120 %"):
        assert text in page


def test_thresholds_must_ascend(monkeypatch) -> None:
    monkeypatch.setenv("CONGESTION_LEVEL_THRESHOLDS", "[0.9, 0.8, 1.2]")
    with pytest.raises(ValidationError):
        CongestionSettings()


def test_the_secrecy_rule_is_the_shared_block(monkeypatch) -> None:
    # the federation gateway reads the same variables (its own unit test)
    monkeypatch.setenv("SECRECY_MIN_POINTS", "12")
    monkeypatch.setenv("API_SECRECY_MAX_SHARE", "")  # empty: as if unset
    assert Settings().secrecy.min_points == 12
