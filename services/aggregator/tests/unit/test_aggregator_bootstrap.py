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
