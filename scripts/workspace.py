"""The workspace as the folders say it is: members, their packages, services, images.

Every list that used to be written by hand in several places (lint paths, import
contracts, the image list, the contract tests' service map) is derived from here,
so that adding a service touches only ``services/<name>/``, ``charts/<name>/`` and,
if it has tables, one migration branch. Standard library only: the Makefile calls
it before anything is installed.

    python scripts/workspace.py packages   # every import package of the workspace
    python scripts/workspace.py services   # import packages of services/*
    python scripts/workspace.py images     # image:distribution for `make images`
"""

from __future__ import annotations

import glob
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Member:
    """One workspace member: its folder, distribution name and import packages."""

    folder: Path
    """Relative to the workspace root, e.g. ``services/ingest-enedis``."""
    distribution: str
    packages: tuple[str, ...]
    """Import packages under ``src/`` (folders holding an ``__init__.py``)."""
    scripts: tuple[str, ...]
    """Console scripts ([project.scripts]): what a chart's container can run."""

    @property
    def kind(self) -> str:
        """``libs``, ``services``, ``emulators`` or ``tools``: the member's top folder."""
        return self.folder.parts[0]

    @property
    def name(self) -> str:
        """The folder name, which is also the chart name of a service."""
        return self.folder.name


def members(root: Path = ROOT) -> list[Member]:
    """Every member matched by ``[tool.uv.workspace] members``, sorted by folder."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    found: list[Member] = []
    for pattern in config["tool"]["uv"]["workspace"]["members"]:
        for folder in sorted(glob.glob(pattern, root_dir=root)):
            pyproject = root / folder / "pyproject.toml"
            if not pyproject.is_file():
                continue
            project = tomllib.loads(pyproject.read_text())["project"]
            src = root / folder / "src"
            packages = tuple(sorted(p.parent.name for p in src.glob("*/__init__.py")))
            found.append(
                Member(
                    Path(folder),
                    project["name"],
                    packages,
                    tuple(sorted(project.get("scripts", {}))),
                )
            )
    return sorted(found, key=lambda m: str(m.folder))


def packages(root: Path = ROOT, *kinds: str) -> list[str]:
    """Import packages of the members of the given kinds (all kinds if none)."""
    return [
        package
        for member in members(root)
        if not kinds or member.kind in kinds
        for package in member.packages
    ]


def services(root: Path = ROOT) -> list[Member]:
    """The members under ``services/``: each one is deployed from ``charts/<name>``."""
    return [m for m in members(root) if m.kind == "services"]


def images(root: Path = ROOT) -> list[tuple[str, str]]:
    """(image, distribution) per service that has a chart: what `make images` builds."""
    return [
        (m.name, m.distribution)
        for m in services(root)
        if (root / "charts" / m.name / "Chart.yaml").is_file()
    ]


def service_charts(root: Path = ROOT) -> dict[str, tuple[str, int]]:
    """chart -> (env prefix, http port) of every chart built on energy-common.

    Read from each chart's own values.yaml (``envPrefix``, ``containerPorts.http``):
    the reserved ports of the platform are the ones the charts declare.
    """
    import yaml  # only here: the Makefile's uses need the standard library alone

    found: dict[str, tuple[str, int]] = {}
    for meta_path in sorted((root / "charts").glob("*/Chart.yaml")):
        meta = yaml.safe_load(meta_path.read_text())
        uses_library = any(
            d.get("name") == "energy-common" for d in meta.get("dependencies") or []
        )
        if meta.get("type") != "application" or not uses_library:
            continue
        values = yaml.safe_load((meta_path.parent / "values.yaml").read_text())
        found[meta_path.parent.name] = (
            values["envPrefix"],
            int(values["containerPorts"]["http"]),
        )
    return found


def main(argv: list[str]) -> int:
    """Prints one derived list, space separated (for the Makefile)."""
    what = argv[1] if len(argv) > 1 else ""
    if what == "packages":
        words = packages()
    elif what == "services":
        words = packages(ROOT, "services")
    elif what == "images":
        words = [f"{image}:{dist}" for image, dist in images()]
    else:
        sys.stderr.write(__doc__ or "")
        return 2
    sys.stdout.write(" ".join(words) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
