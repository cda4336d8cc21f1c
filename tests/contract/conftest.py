"""Fixtures of the chart contract tests: a built copy of charts/ and a renderer.

Charts are rendered with Helm's Go SDK (``helm_python``, which ships libhelm_c), in a
temporary copy so that ``dependency build`` never writes into the work tree.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def built_charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """charts/ copied to a temporary folder, with every file:// dependency built."""
    dest = tmp_path_factory.mktemp("charts") / "charts"
    shutil.copytree(CHARTS, dest)
    for chart in sorted(dest.glob("*/Chart.yaml")):
        if "dependencies" in (yaml.safe_load(chart.read_text()) or {}):
            helm.dependency_build(str(chart.parent))
    return dest


@pytest.fixture(scope="session")
def render(built_charts: Path) -> Render:
    """render(chart, values) -> the rendered manifests (empty documents dropped)."""

    def _render(
        chart: str, values: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        with helm.Chart.load(str(built_charts / chart)) as loaded:
            files = loaded.render(values or {}, name="sen1", namespace="sen1")
        docs: list[dict[str, Any]] = []
        for text in files.values():
            docs += [d for d in yaml.safe_load_all(text) if d]
        return docs

    return _render
