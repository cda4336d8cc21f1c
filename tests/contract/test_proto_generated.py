"""The committed energy_core._pb matches proto/: nobody edited one without the other."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "libs/energy-core/src/energy_core/_pb"


def _files(base: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(base)): p
        for p in base.rglob("*")
        if p.is_file() and p.suffix in {".py", ".pyi"}
    }


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "_pb"
    subprocess.run(
        ["bash", "scripts/gen_proto.sh", str(out)], cwd=ROOT, check=True, timeout=120
    )
    fresh, committed = _files(out), _files(COMMITTED)
    assert sorted(fresh) == sorted(committed), "run `make proto` and commit"
    stale = [n for n in fresh if not filecmp.cmp(fresh[n], committed[n], shallow=False)]
    assert stale == [], f"stale generated files {stale}: run `make proto` and commit"
