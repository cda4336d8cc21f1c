"""The Helm chart runs one collector at a time (the command itself is checked for
every chart by tests/contract/test_charts_render.py)."""

from pathlib import Path

import yaml

CHARTS = Path(__file__).resolve().parents[4] / "charts"
# The chart states only what differs from the library's defaults, which it imports.
DEFAULTS = yaml.safe_load((CHARTS / "energy-common/values.yaml").read_text())[
    "exports"
]["defaults"]
VALUES = {
    **DEFAULTS,
    **yaml.safe_load((CHARTS / "ingest-enedis/values.yaml").read_text()),
}


def test_one_collector_at_a_time_because_the_quota_limiter_is_per_process():
    assert VALUES["replicaCount"] == 1
    assert VALUES["updateStrategy"]["type"] == "Recreate"
