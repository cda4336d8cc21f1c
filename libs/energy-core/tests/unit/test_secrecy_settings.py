"""One secrecy rule for every door (energy_core.settings.SecrecySettings)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from energy_core.settings import SecrecySettings


def test_one_pair_of_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SecrecySettings().min_points == 10
    assert SecrecySettings().max_share == 0.85
    monkeypatch.setenv("SECRECY_MIN_POINTS", "15")
    monkeypatch.setenv("SECRECY_MAX_SHARE", "0.5")
    rule = SecrecySettings()
    assert (rule.min_points, rule.max_share) == (15, 0.5)
    monkeypatch.setenv("SECRECY_MIN_POINTS", "0")
    with pytest.raises(ValidationError):
        SecrecySettings()


@pytest.mark.parametrize(
    "former", ["API_SECRECY_MIN_POINTS", "FEDERATION_GATEWAY_SECRECY_MAX_SHARE"]
)
def test_a_former_per_service_name_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, former: str
) -> None:
    # ignored silently, a threshold raised there would fall back to 10
    monkeypatch.setenv(former, "20")
    with pytest.raises(ValidationError, match=f"{former}: replaced by SECRECY_"):
        SecrecySettings()
