"""Each deployable package installs ALONE from the lock, as its image does.

The workspace venv holds every package, so a service importing something it does
not declare still works in tests and breaks only in its image. This builds each
package's own environment exactly as the Dockerfile does (``uv sync --frozen
--no-dev --no-editable --package``, offline from the cache the workspace sync
filled) and checks that the console script its chart runs is there and that the
service's modules import, and that no emulator comes with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import workspace  # noqa: E402 - scripts/workspace.py, the workspace's derived lists

# Every service is deployable: distribution -> member (derived from services/*).
DEPLOYABLE = {m.distribution: m for m in workspace.services(ROOT)}
EMULATORS = workspace.packages(ROOT, "emulators")
# Workspace members are rebuilt for each venv: uv caches a built wheel of a local
# package by its pyproject, so a module added to energy-core since the last build
# would be missing from a cached wheel (the image builds from a clean cache).
REBUILD = [
    arg
    for m in workspace.members(ROOT)
    for arg in ("--reinstall-package", m.distribution)
]


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
    member = DEPLOYABLE[package]
    (script,) = member.scripts  # one console script: what the chart runs
    modules = [f"{p}.{m}" for p in member.packages for m in ("__main__", "settings")]
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    subprocess.run(
        [_uv(), "sync", "--frozen", "--offline", "--no-dev", "--no-editable",
         "--package", package, "--quiet", *REBUILD],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    assert (venv / "bin" / script).exists(), f"{package} does not install {script}"
    imports = "; ".join(f"import {m}" for m in modules)
    done = subprocess.run(
        [str(venv / "bin/python"), "-c", imports],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The emulators are dev/test parts: an image never carries them.
    for emulator in EMULATORS:
        found = subprocess.run(
            [str(venv / "bin/python"), "-c", f"import {emulator}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert found.returncode != 0, f"{package}'s image would ship {emulator}"
        assert "ModuleNotFoundError" in found.stderr
