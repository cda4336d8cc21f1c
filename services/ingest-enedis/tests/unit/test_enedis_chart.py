"""The Helm chart runs one collector at a time (the command itself is checked for
every chart by tests/contract/test_charts_render.py)."""

from pathlib import Path

import yaml

SERVICE = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load(
    (SERVICE.parents[1] / "charts/ingest-enedis/values.yaml").read_text()
)


def test_one_collector_at_a_time_because_the_quota_limiter_is_per_process():
    assert VALUES["replicaCount"] == 1
    assert VALUES["updateStrategy"]["type"] == "Recreate"
