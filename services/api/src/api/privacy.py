"""The secrecy gate of the api: the shared rule of :mod:`energy_core.privacy`.

The rule moved to ``energy_core`` so the federation gateway applies the very same
one at its egress; this module keeps the api's import path.
"""

from energy_core.privacy import (
    Children,
    Figures,
    LoadVerdict,
    SecrecyRule,
    Verdict,
    rest_is_safe,
    unknown_part,
    withheld,
    withheld_in_time,
)

__all__ = [
    "Children",
    "Figures",
    "LoadVerdict",
    "SecrecyRule",
    "Verdict",
    "rest_is_safe",
    "unknown_part",
    "withheld",
    "withheld_in_time",
]
