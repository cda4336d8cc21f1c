"""Local Paris wall-clock stamps of SGE files and their ambiguity rules.

R171 (``dateFin``) and CMD v3 (``points/d``) carry local times **without an
offset**. Twice a year a wall-clock time is not one instant: in October the hour
02:00-03:00 happens twice (ambiguous), in March it does not happen (nonexistent).
How upstream renders the repeated hour is not verified, so the reading of the
ambiguous hour is a setting (``earlier`` = the first pass, summer time; ``later``
= the second pass, winter time); a nonexistent time is refused, never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from energy_core.domain.time import PARIS, to_micros
from energy_core.errors import PayloadInvalidError


class Ambiguous(StrEnum):
    """Which pass of the repeated October hour a naive local stamp means."""

    EARLIER = "earlier"
    LATER = "later"


def paris_instant(
    text: str, *, field: str, ambiguous: Ambiguous = Ambiguous.EARLIER
) -> datetime:
    """A naive local Paris stamp (``2022-02-03T02:37:56`` or with a space) -> UTC.

    A stamp that carries an offset is taken as it is (some files do).
    """
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise PayloadInvalidError(f"{field}: not a date-time: {text!r}") from exc
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    fold = 0 if ambiguous is Ambiguous.EARLIER else 1
    local = naive.replace(tzinfo=PARIS, fold=fold)
    instant = local.astimezone(UTC)
    if instant.astimezone(PARIS).replace(tzinfo=None) != naive:
        raise PayloadInvalidError(
            f"{field}: {text!r} does not exist in Paris (spring-forward gap)"
        )
    return instant


class SeriesClock:
    """Naive local stamps of ONE series -> microseconds, the repeated hour resolved.

    Why: in a curve the repeated October hour is written twice the same way
    (CMD v3, R63, R4x without offset). A wall-clock time that occurs twice in
    the series is the first pass the first time and the second pass the second
    time, whatever the setting; a time that occurs once follows ``ambiguous``.
    The series' stamps must be known beforehand (a series is one record, held
    whole while it is mapped).
    """

    def __init__(self, texts: Iterable[str], ambiguous: Ambiguous) -> None:
        self._twice = {t for t, n in Counter(texts).items() if n > 1}
        self._seen: set[str] = set()
        self._ambiguous = ambiguous

    def micros(self, text: str, field: str) -> int:
        """The instant of ``text`` (microseconds since the epoch, UTC)."""
        if text in self._twice:
            rule = Ambiguous.LATER if text in self._seen else Ambiguous.EARLIER
            self._seen.add(text)
        else:
            rule = self._ambiguous
        return to_micros(paris_instant(text, field=field, ambiguous=rule))
