"""The Helm chart starts the service's own console script."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

SERVICE = Path(__file__).resolve().parents[2]
CHART = SERVICE.parents[1] / "charts" / "ingest-flukso"


def test_the_chart_command_is_a_console_script_of_the_service() -> None:
    scripts = tomllib.loads((SERVICE / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["command"][0] in scripts
    assert scripts[values["command"][0]] == "ingest_flukso.__main__:main"
