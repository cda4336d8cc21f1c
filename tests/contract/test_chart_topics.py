"""The kafka-topics chart mirrors the topic registry (energy_core.topics.ALL).

Fails when a topic is added to or changed in the registry without running
``uv run python scripts/render_topics_values.py``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from energy_core import topics

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
Render = Callable[..., list[dict[str, Any]]]
VALUES = CHARTS / "kafka-topics/values.yaml"
SCRIPT = ROOT / "scripts/render_topics_values.py"


def _from_registry(specs: tuple[topics.TopicSpec, ...]) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "partitions": s.partitions, "config": s.configs()}
        for s in specs
    ]


def _chart_topics() -> list[dict[str, Any]]:
    values = yaml.safe_load(VALUES.read_text())
    topics_list: list[dict[str, Any]] = values["topics"]
    return topics_list


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_topics_values", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_values_topics_equal_the_registry() -> None:
    assert _chart_topics() == _from_registry(topics.ALL)


def test_values_file_is_what_the_script_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_topic_added_to_the_registry_is_detected() -> None:
    extra = topics.TopicSpec(
        name="metering.new-topic.v1",
        value_type=topics.READINGS.value_type,
        partitions=6,
        retention=timedelta(days=1),
    )
    grown = (*topics.ALL, extra)
    assert _chart_topics() != _from_registry(grown)
    regenerated = yaml.safe_load(_script().render(grown))["topics"]
    assert regenerated == _from_registry(grown)


def test_rendered_kafkatopics_carry_names_partitions_and_configs(
    render: Render,
) -> None:
    docs = render("kafka-topics", {"topicPrefix": "prod."})
    assert {d["kind"] for d in docs} == {"KafkaTopic"}
    by_name = {d["spec"]["topicName"]: d for d in docs}
    assert set(by_name) == {f"prod.{s.name}" for s in topics.ALL}
    for spec in topics.ALL:
        doc = by_name[f"prod.{spec.name}"]
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "sen1"
        assert doc["metadata"]["name"] == f"prod.{spec.name}"
        assert doc["spec"]["partitions"] == spec.partitions
        assert doc["spec"]["replicas"] == 3
        assert doc["spec"]["config"] == {
            **{"min.insync.replicas": "2"},
            **spec.configs(),
        }


def test_compacted_topic_keeps_compaction_and_no_retention(render: Render) -> None:
    docs = render("kafka-topics")
    territory = next(d for d in docs if d["spec"]["topicName"] == topics.TERRITORY.name)
    assert territory["spec"]["config"]["cleanup.policy"] == "compact"
    assert "retention.ms" not in territory["spec"]["config"]
