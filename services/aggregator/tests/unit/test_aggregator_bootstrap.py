"""bootstrap() wires the Faust app the worker runs (no broker needed to build it)."""

from __future__ import annotations

from pathlib import Path

from aggregator.bootstrap import bootstrap
from aggregator.settings import Settings
from energy_core.settings import KafkaSettings


def test_bootstrap_builds_the_app_its_agents_and_pages(tmp_path: Path) -> None:
    settings = Settings(
        kafka=KafkaSettings(topic_prefix="t7-"), data_dir=str(tmp_path / "a" / "b")
    )
    runtime = bootstrap(settings)
    assert runtime.app.conf.id == "t7-aggregator"  # group id = topic prefix + app id
    assert (tmp_path / "a" / "b").is_dir()
    assert runtime.ctx.pipeline is not None
    assert runtime.ctx.pipeline.territory is runtime.ctx.territory
    assert runtime.ctx.monitor is not None
    assert runtime.app.agents


def test_level_thresholds_come_from_the_shared_block(
    tmp_path: Path, monkeypatch
) -> None:
    """CONGESTION_LEVEL_THRESHOLDS, the variable the api reads to draw them."""
    monkeypatch.setenv("CONGESTION_LEVEL_THRESHOLDS", "[0.7, 0.9, 1.2]")
    runtime = bootstrap(Settings(data_dir=str(tmp_path)))
    assert runtime.ctx.monitor is not None
    assert runtime.ctx.monitor.policy.thresholds == (0.7, 0.9, 1.2)
