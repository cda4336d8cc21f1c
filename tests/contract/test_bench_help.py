"""Every bench script answers ``--help`` without running its benchmark.

A benchmark starts PostgreSQL, a broker and workers for minutes; asking it what it
measures must not. Each script is run as a developer would, with a short timeout.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py"))


def test_there_are_benches() -> None:
    assert len(BENCHES) >= 5, BENCHES


@pytest.mark.parametrize("script", BENCHES)
def test_bench_answers_help_without_running(script: str, tmp_path: Path) -> None:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout[:200]
    assert time.monotonic() - began < 30
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written
