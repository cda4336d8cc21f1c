"""Each deployable package installs ALONE from the lock, as its image does.

The workspace venv holds every package, so a service importing something it does
not declare still works in tests and breaks only in its image. This builds each
package's own environment exactly as the Dockerfile does (``uv sync --frozen
--no-dev --no-editable --package``, offline from the cache the workspace sync
filled) and checks that the console script its chart runs is there and that the
service's modules import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package -> (console script the chart runs, modules that must import)
DEPLOYABLE = {
    "sen1-registry": ("sen1-registry", ["registry.__main__", "energy_store.outbox"]),
    "ingest-enedis": ("sen1-ingest-enedis", ["ingest_enedis.__main__"]),
    "ingest-flukso": ("sen1-ingest-flukso", ["ingest_flukso.__main__"]),
    "aggregator": ("sen1-aggregator", ["aggregator.__main__", "aggregator.app"]),
    "sen1-api": ("sen1-api", ["api.__main__", "api.main"]),
}


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    fallback = Path.home() / ".local/bin/uv"
    if found:
        return found
    if fallback.exists():
        return str(fallback)
    pytest.skip("uv is not installed")  # `make test` always installs it


@pytest.mark.parametrize("package", sorted(DEPLOYABLE))
def test_package_installs_alone_and_imports(package: str, tmp_path: Path) -> None:
    script, modules = DEPLOYABLE[package]
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    subprocess.run(
        [_uv(), "sync", "--frozen", "--offline", "--no-dev", "--no-editable",
         "--package", package, "--quiet"],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    assert (venv / "bin" / script).exists(), f"{package} does not install {script}"
    imports = "; ".join(f"import {m}" for m in modules)
    done = subprocess.run(
        [str(venv / "bin/python"), "-c", imports],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
