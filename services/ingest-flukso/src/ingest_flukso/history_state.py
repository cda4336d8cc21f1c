"""Which sensors already have their history: a small JSON file, written atomically.

The tracker's gap state lives in memory (a restart starts it afresh); first-contact
history cannot: after a restart a sensor is "met" again, and fetching its year
again would file day readings over days that live minutes of the previous run
already cover (the aggregator would count that day twice). So the sensors whose
history was PUBLISHED (acknowledged by Kafka) are kept in this file; a restart
finds them and fetches nothing. A crash between the acknowledgement and the write
re-publishes the same readings (same series, starts and values): the store's
upsert keeps one, no total changes (at-least-once with idempotent sinks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from energy_core.domain.ids import FluksoSensorId


class HistoryState:
    """Sensors with published history; ``path`` None keeps it in memory (tests)."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._done: dict[str, int] = {}
        if self._path is not None and self._path.exists():
            loaded = json.loads(self._path.read_text())
            self._done = {str(k): int(v) for k, v in loaded.get("sensors", {}).items()}

    def __contains__(self, sensor: object) -> bool:
        return sensor in self._done

    def __len__(self) -> int:
        return len(self._done)

    def mark(self, done: Iterable[tuple[FluksoSensorId, int]]) -> None:
        """Records ``(sensor, days_until)`` pairs and writes the file (tmp + rename)."""
        self._done.update(done)
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sensors": self._done}, sort_keys=True))
        os.replace(tmp, self._path)
