"""Adding a service touches only its own folder and its chart folder: the dry run.

docs/service-template.md says where a new service goes and promises that every list
of the workspace picks it up by itself. This test does it, in a temporary copy of the
workspace: it writes ``services/demo-probe/`` (the template's files, nothing more)
and ``charts/demo-probe/`` (a copy of a service chart with its own name, prefix and
port), touches nothing else, and shows that

* the uv workspace, ruff's first-party packages and mypy's files match it (globs), and
  real ruff and mypy runs on the copy treat it so (ruff sorts it first-party, mypy
  reports a planted type error in it and nothing else);
* `make images` would build ``sen1/demo-probe`` from distribution ``sen1-demo-probe``;
* the chart contract tests' service map and reserved ports include it;
* the import contracts analyse it: importing another service breaks
  ``services-independent``, importing ``energy_core._pb`` breaks ``no-private-pb``,
  and the clean service passes;
* its chart renders with the library chart (Helm Go SDK).

A service with tables adds one alembic branch in libs/energy-store (its own revision
id, ``down_revision`` the foundation); that is the only edit outside its folders.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NAME, PACKAGE, PREFIX, PORT = "demo-probe", "demo_probe", "DEMO_PROBE_", 8099
SKIP = shutil.ignore_patterns(
    "tests", "__pycache__", ".venv", "*.pyc", ".mypy_cache", ".ruff_cache"
)

SERVICE_FILES = {
    "pyproject.toml": f"""[project]
name = "sen1-{NAME}"
version = "0.1.0"
description = "throw-away service of the template dry run"
requires-python = ">=3.11,<3.12"
dependencies = ["energy-core"]

[project.scripts]
sen1-{NAME} = "{PACKAGE}.__main__:main"

[project.entry-points."sen1.stack"]
{NAME} = "{PACKAGE}.stack:processes"

[tool.uv.sources]
energy-core = {{ workspace = true }}

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/{PACKAGE}"]
""",
    "README.md": "# demo-probe\n",
    f"src/{PACKAGE}/__init__.py": '"""Throw-away service."""\n',
    f"src/{PACKAGE}/settings.py": (
        '"""Settings."""\n\n'
        "from pydantic_settings import SettingsConfigDict\n\n"
        "from energy_core.settings import ServiceSettings\n\n\n"
        "class Settings(ServiceSettings):\n"
        '    """The probe."""\n\n'
        f'    model_config = SettingsConfigDict(env_prefix="{PREFIX}")\n'
        f"    http_port: int = {PORT}\n"
    ),
    # Third-party, then first-party (the probe itself and energy_core) in one block:
    # right only if ruff counts the probe as first-party.
    f"src/{PACKAGE}/service.py": (
        '"""The loop."""\n\n'
        "import httpx\n\n"
        f"from {PACKAGE}.settings import Settings\n"
        "from energy_core import wire\n\n"
        "CLIENT = httpx.AsyncClient\n"
        "SETTINGS = Settings\n"
        "WIRE = wire\n"
    ),
    f"src/{PACKAGE}/stack.py": (
        '"""make run."""\n\n'
        "from typing import Any\n\n\n"
        "def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:\n"
        '    """Nothing to start."""\n'
        "    return []\n"
    ),
    f"src/{PACKAGE}/__main__.py": (
        '"""Entry point."""\n\n\ndef main() -> None:\n    """Does nothing."""\n'
    ),
}


def _digest(root: Path, skip: tuple[str, ...]) -> str:
    """A hash of every file under ``root`` except the given folders."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(skip) or "/.import_linter_cache" in f"/{rel}":
            continue
        h.update(rel.encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace (sources, charts, scripts, root files), no tests."""
    dest = tmp_path_factory.mktemp("workspace") / "sen1"
    dest.mkdir()
    for name in ("pyproject.toml", ".importlinter", "Makefile", "uv.lock"):
        shutil.copy2(ROOT / name, dest / name)
    for folder in (
        "libs",
        "services",
        "emulators",
        "tools",
        "scripts",
        "charts",
        "bench",
    ):
        shutil.copytree(ROOT / folder, dest / folder, ignore=SKIP)
    return dest


@pytest.fixture(scope="module")
def added(copy: Path) -> Path:
    """The new service and its chart written; returns the copy's root."""
    before = _digest(copy, ())
    for rel, text in SERVICE_FILES.items():
        path = copy / "services" / NAME / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    chart = copy / "charts" / NAME
    shutil.copytree(copy / "charts/ingest-flukso", chart)
    for rel in ("Chart.yaml", "values.yaml"):
        text = (chart / rel).read_text()
        text = text.replace("ingest-flukso", NAME).replace("INGEST_FLUKSO_", PREFIX)
        (chart / rel).write_text(text.replace("8011", str(PORT)))
    after = _digest(copy, (f"services/{NAME}/", f"charts/{NAME}/"))
    assert after == before  # nothing outside the two folders was written
    return copy


def _workspace(root: Path) -> ModuleType:
    """scripts/workspace.py of the copy, under its own name (the real one is untouched)."""
    spec = importlib.util.spec_from_file_location(
        "workspace_of_copy", root / "scripts/workspace.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    assert root == module.ROOT
    return module


def test_workspace_and_lint_paths_pick_it_up(added: Path) -> None:
    ws = _workspace(added)
    assert PACKAGE in ws.packages(added, "services")
    config = tomllib.loads((added / "pyproject.toml").read_text())
    src = f"services/{NAME}/src"
    for patterns in (config["tool"]["ruff"]["src"], config["tool"]["mypy"]["files"]):
        matched = {m for p in patterns for m in glob.glob(p, root_dir=added)}
        assert src in matched
    testpaths = config["tool"]["pytest"]["ini_options"]["testpaths"]
    assert "services" in testpaths


def test_ruff_counts_it_first_party(added: Path) -> None:
    """Real ruff on the copy: the probe's import blocks are right only because the
    ``src`` globs make it first-party; without them the same file is refused."""
    probe = f"services/{NAME}"
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "I,F"]
    done = subprocess.run(
        [*ruff, probe], cwd=added, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout
    control = subprocess.run(
        [*ruff, "--config", "src = ['.']", probe],
        cwd=added, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert control.returncode != 0
    assert "I001" in control.stdout


def test_mypy_checks_it(added: Path) -> None:
    """Real mypy on the copy with its config: a type error in the probe is found,
    under the probe's own module name, and nothing else is reported."""
    bad = added / "services" / NAME / "src" / PACKAGE / "typo.py"
    bad.write_text('"""A planted error."""\n\nPORT: int = "8099"\n')
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--cache-dir", str(added / ".mypy_cache")],
            cwd=added, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        bad.unlink()
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert errors == [
        f"services/{NAME}/src/{PACKAGE}/typo.py:3: error: Incompatible types in "
        'assignment (expression has type "str", variable has type "int")  '
        "[assignment]"
    ], done.stdout


def test_images_and_chart_map_pick_it_up(added: Path) -> None:
    ws = _workspace(added)
    assert (NAME, f"sen1-{NAME}") in ws.images(added)
    assert ws.service_charts(added)[NAME] == (PREFIX, PORT)
    ports = [port for _, port in ws.service_charts(added).values()]
    assert len(ports) == len(set(ports))
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    dry = subprocess.run(
        [make, "-n", "images", "RUN=env", "IMAGE_TAG=dry"],
        cwd=added, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "PATH": path},
    )  # fmt: skip
    assert f"{NAME}:sen1-{NAME}" in dry.stdout


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "services" / NAME / "src")}
    return subprocess.run(
        [sys.executable, str(root / "scripts/lint_imports.py"), "--root", str(root)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_import_contracts_wall_it_in(added: Path) -> None:
    service = added / "services" / NAME / "src" / PACKAGE / "service.py"
    clean = service.read_text()
    try:
        service.write_text(clean + "from ingest_flukso import settings  # noqa\n")
        broken = _lint(added)
        assert broken.returncode != 0, broken.stdout
        assert "independent of each other" in broken.stdout
        assert f"{PACKAGE}.service -> ingest_flukso" in broken.stdout

        service.write_text(clean + "from energy_core._pb import energy  # noqa\n")
        broken = _lint(added)
        assert broken.returncode != 0, broken.stdout
        assert f"{PACKAGE} is not allowed to import energy_core._pb" in broken.stdout
    finally:
        service.write_text(clean)
    kept = _lint(added)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "0 broken" in kept.stdout


def test_its_chart_renders_with_the_library(added: Path) -> None:
    chart = added / "charts" / NAME
    helm.dependency_build(str(chart))
    with helm.Chart.load(str(chart)) as loaded:
        files = loaded.render({}, name="sen1", namespace="sen1")
    docs = [d for text in files.values() for d in yaml.safe_load_all(text) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [f"sen1-{NAME}"]
    assert container["ports"][0]["containerPort"] == PORT
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env[f"{PREFIX}HTTP_PORT"] == str(PORT)
