"""The Helm chart runs the collector that this package installs, one at a time."""

import tomllib
from pathlib import Path

import yaml

SERVICE = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load(
    (SERVICE.parents[1] / "charts/ingest-enedis/values.yaml").read_text()
)


def test_chart_command_is_the_installed_console_script():
    scripts = tomllib.loads((SERVICE / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    assert VALUES["command"][0] in scripts
    assert scripts[VALUES["command"][0]] == "ingest_enedis.__main__:main"


def test_one_collector_at_a_time_because_the_quota_limiter_is_per_process():
    assert VALUES["replicaCount"] == 1
    assert VALUES["updateStrategy"]["type"] == "Recreate"
