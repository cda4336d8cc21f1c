"""Local Paris wall-clock stamps of SGE files and their ambiguity rules.

R171 (``dateFin``) and CMD v3 (``points/d``) carry local times **without an
offset**. Twice a year a wall-clock time is not one instant: in October the hour
02:00-03:00 happens twice (ambiguous), in March it does not happen (nonexistent).
How upstream renders the repeated hour is not verified, so the reading of the
ambiguous hour is a setting (``earlier`` = the first pass, summer time; ``later``
= the second pass, winter time); a nonexistent time is refused, never guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from energy_core.domain.time import PARIS
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
