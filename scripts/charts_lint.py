"""Lint and render every chart in charts/ with Helm's Go SDK (no helm binary needed).

Works on a temporary copy so that ``dependency build`` leaves the tree clean; lints in
strict mode with the default values and with charts/examples/production-values.yaml.

    uv run python scripts/charts_lint.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import yaml

CHARTS = Path(__file__).resolve().parent.parent / "charts"
EXAMPLE = CHARTS / "examples/production-values.yaml"


def main() -> int:
    """Lint and render each chart; exit 1 on the first warning or error."""
    example = yaml.safe_load(EXAMPLE.read_text())
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "charts"
        shutil.copytree(CHARTS, work)
        for meta_path in sorted(work.glob("*/Chart.yaml")):
            chart = meta_path.parent
            meta = yaml.safe_load(meta_path.read_text())
            if meta.get("dependencies"):
                helm.dependency_build(str(chart))
            for label, values in (("defaults", {}), ("example", example)):
                report = helm.lint(str(chart), values=values, strict=True)
                problems = report["errors"] + [
                    m for m in report["messages"] if m["severity"] > 1
                ]
                count = 0
                if meta.get("type") != "library" and not problems:
                    with helm.Chart.load(str(chart)) as loaded:
                        count = len(
                            loaded.render(values, name="sen1", namespace="sen1")
                        )
                status = "FAIL" if problems else "ok"
                sys.stdout.write(
                    f"{status:4} {chart.name:14} {label:8} {count} files\n"
                )
                for problem in problems:
                    sys.stdout.write(f"     {problem}\n")
                failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
