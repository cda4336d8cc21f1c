"""Checks the import contracts of .importlinter over the workspace as it is today.

The lists marked "derived" in .importlinter (root packages, services, libraries,
clients and mappings) are recomputed from the workspace folders before
import-linter runs, so a new service or emulator is walled in without an edit to
.importlinter. `make lint` runs this; the exit status is import-linter's.

    uv run python scripts/lint_imports.py [--config FILE] [--root DIR] [--print]
"""

from __future__ import annotations

import argparse
import configparser
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workspace

CONTRACT = "importlinter:contract:"


def _submodules(root: Path, suffix: str) -> list[str]:
    """``<service>.<suffix>`` for every service package with such a module or package."""
    found = []
    for member in workspace.services(root):
        for package in member.packages:
            src = root / member.folder / "src" / package
            if (src / suffix / "__init__.py").is_file() or (
                src / f"{suffix}.py"
            ).is_file():
                found.append(f"{package}.{suffix}")
    return found


def derived_config(root: Path, config: Path) -> configparser.ConfigParser:
    """.importlinter with its derived lists filled from the workspace at ``root``."""
    parser = configparser.ConfigParser()
    parser.read(config)
    everything = workspace.packages(root)
    apps = workspace.packages(root, "services", "emulators")
    libs = workspace.packages(root, "libs", "tools")
    clients = _submodules(root, "client") + _submodules(root, "mapping")
    mappings = _submodules(root, "mapping")

    def put(section: str, key: str, values: list[str]) -> None:
        parser[section][key] = "\n" + "\n".join(sorted(values))

    put("importlinter", "root_packages", everything)
    put(CONTRACT + "services-independent", "modules", apps)
    put(CONTRACT + "libs-know-no-service", "source_modules", libs)
    put(CONTRACT + "libs-know-no-service", "forbidden_modules", apps)
    put(
        CONTRACT + "emulator-kit-stays-with-emulators",
        "source_modules",
        [
            p
            for p in everything
            if p not in workspace.packages(root, "emulators") and p != "emulator_kit"
        ],
    )
    put(
        CONTRACT + "no-private-pb",
        "source_modules",
        [p for p in everything if p != "energy_core"],
    )
    put(CONTRACT + "ingest-client-kafka-free", "source_modules", clients)
    put(CONTRACT + "ingest-mapping-pure", "source_modules", mappings)
    return parser


def main() -> int:
    """Writes the derived configuration to a temporary file and lints with it."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--root", type=Path, default=workspace.ROOT)
    args.add_argument("--config", type=Path, default=None)
    args.add_argument(
        "--print", action="store_true", help="print the derived configuration only"
    )
    options = args.parse_args()
    config = options.config or options.root / ".importlinter"
    parser = derived_config(options.root, config)
    if options.print:
        parser.write(sys.stdout)
        return 0
    from importlinter.cli import lint_imports

    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as out:
        parser.write(out)
    try:
        return lint_imports(config_filename=out.name)
    finally:
        Path(out.name).unlink()


if __name__ == "__main__":
    sys.exit(main())
