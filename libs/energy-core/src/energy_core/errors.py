"""One exception tree for SEN1; the retry policy is carried by the type.

::

    EnergyError
    ├── TransientError(retry_after)      retry with backoff, honouring retry_after
    │   ├── UpstreamUnavailableError     5xx, timeouts, connection refused
    │   └── RateLimitedError             429 / quota exceeded
    └── PermanentError                   never retried: dead-letter or record the state
        ├── InvalidValueError(field)     a value refused at the edge; names the field
        ├── PayloadInvalidError          an upstream payload that cannot be parsed
        ├── ConsentRevokedError          the owner withdrew (or never gave) consent
        └── NoDataError                  upstream has nothing for this period (a hole)

Service loops retry ``TransientError`` and dead-letter ``PermanentError``; nothing
else catches bare ``Exception`` except the outermost per-record guard, which turns
an unexpected failure into a dead letter so that one record never stops a service.
"""

from __future__ import annotations


class EnergyError(Exception):
    """Base of every SEN1 error."""


class TransientError(EnergyError):
    """A failure that may succeed later; ``retry_after`` is in seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailableError(TransientError):
    """The upstream (or our broker/database) did not answer or answered 5xx."""


class RateLimitedError(TransientError):
    """The upstream refused the call because of a rate limit or a quota."""


class PermanentError(EnergyError):
    """A failure that retrying will not fix."""


class InvalidValueError(PermanentError, ValueError):
    """A value refused at construction; the message names the field and the rule."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        super().__init__(f"{field}: {value!r} is invalid: {rule}")
        self.field = field
        self.value = value
        self.rule = rule


class PayloadInvalidError(PermanentError):
    """An upstream payload that cannot be turned into readings."""


class ConsentRevokedError(PermanentError):
    """Consent was withdrawn, expired or never given."""


class NoDataError(PermanentError):
    """The upstream has no data for the period asked: record a hole, ask again later."""
