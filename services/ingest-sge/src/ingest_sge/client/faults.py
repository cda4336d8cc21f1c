"""SGE result codes -> the error tree of ``energy_core.errors``, and the SOAP fault
that carries them.

SGE answers a refusal with HTTP 500 and ``soap:Fault/detail/erreur/resultat``
whose ``code`` is six characters (sge-interop.md §2, enedis.md §2.4). What the
caller must do differs by code, so each maps to a class the loop already knows:

* the customer's authorisation is missing or refused (SGT4K2, SGT566, SGT4G2) ->
  :class:`AuthorisationRefusedError`, a ``ConsentRevokedError``: the consent
  registry is updated and the point is not asked again;
* the period does not fit the measure (SGT4L8: a curve longer than 7 days;
  SGT4H4: more than a year) -> :class:`PeriodRefusedError` (a bug of ours: split
  the window, see :func:`curve_windows`);
* the point does not exist (SGT401) -> :class:`PointUnknownError`;
* no measure (SGT4G3) -> ``NoDataError``;
* too many requests in progress (SGT4B8) or a technical error (SGT500) ->
  ``UpstreamUnavailableError``: retried with backoff;
* SGT570 "the service is already active on the period" is a **success** for a
  subscription: :func:`raise_for_code` returns without raising;
* the request itself is refused, each a :class:`SgeRequestRefusedError` so a
  caller that does not care catches one class: a point search too broad
  (SGT4F8, more than 200 points: :class:`SearchTooBroadError`, the user must
  add criteria) or not precise enough (SGT4F7: :class:`SearchCriteriaError`), a
  measure type or message SGE does not accept (SGT4Q1, SGT562:
  :class:`MalformedRequestError`, a bug of ours), no active service for a
  ``SERVICE_ACCES`` read (SGT211: :class:`ServiceMissingError`, subscribe first
  or read with ``ACCORD_CLIENT``), a functional refusal (SGT400, e.g. stopping
  a service that is unknown or already stopped);
* any other code -> :class:`SgeRequestRefusedError` naming the code.

:mod:`ingest_sge.client.soap` raises through :func:`error_for`.
"""

from __future__ import annotations

from datetime import date, timedelta

from lxml import etree

from energy_core.errors import (
    ConsentRevokedError,
    EnergyError,
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    UpstreamUnavailableError,
)

SUCCESS_CODES = frozenset({"SGT200", "SGT570"})
"""SGT570: "Le service est déjà actif sur la période demandée" — already done."""
CURVE_MAX_DAYS = 7
"""CMD v3 curves: at most 7 days per request, else SGT4L8."""


class SgeFault:
    """Mixin of every SGE refusal: the six-character code and upstream's text."""

    code: str = ""
    text: str = ""


class AuthorisationRefusedError(SgeFault, ConsentRevokedError):
    """The customer's authorisation is missing or refused for this point."""


class PeriodRefusedError(SgeFault, PermanentError):
    """The requested period does not fit the measure type (too long)."""


class PointUnknownError(SgeFault, PermanentError):
    """The PRM does not exist for SGE."""


class SgeNoDataError(SgeFault, NoDataError):
    """SGE has no measure for the point and period."""


class SgeBusyError(SgeFault, UpstreamUnavailableError):
    """Technical error or requests already in progress: try again later."""


class SgeRequestRefusedError(SgeFault, PermanentError):
    """Any other refusal (malformed request, criteria, unknown code)."""


class SearchTooBroadError(SgeRequestRefusedError):
    """SGT4F8: the point search matches more than 200 points; add criteria."""


class SearchCriteriaError(SgeRequestRefusedError):
    """SGT4F7: the search criteria are not sufficient (e.g. commune + street only)."""


class MalformedRequestError(SgeRequestRefusedError):
    """SGT562/SGT4Q1: SGE refuses the message itself: a bug of ours, not of the data."""


class ServiceMissingError(SgeRequestRefusedError):
    """SGT211: no active subscribed service for a ``SERVICE_ACCES`` read."""


_BY_CODE: dict[str, type[EnergyError]] = {
    "SGT4K2": AuthorisationRefusedError,
    "SGT566": AuthorisationRefusedError,
    "SGT4G2": AuthorisationRefusedError,
    "SGT4L8": PeriodRefusedError,
    "SGT4H4": PeriodRefusedError,
    "SGT401": PointUnknownError,
    "SGT4G3": SgeNoDataError,
    "SGT4B8": SgeBusyError,
    "SGT500": SgeBusyError,
    "SGT4F8": SearchTooBroadError,
    "SGT4F7": SearchCriteriaError,
    "SGT562": MalformedRequestError,
    "SGT4Q1": MalformedRequestError,
    "SGT211": ServiceMissingError,
}


def error_for(code: str, text: str) -> EnergyError:
    """The error a refusal ``code`` stands for (its class carries code and text)."""
    cls = _BY_CODE.get(code, SgeRequestRefusedError)
    error = cls(f"SGE {code}: {text}")
    error.code, error.text = code, text  # type: ignore[attr-defined]
    return error


def raise_for_code(code: str, text: str) -> None:
    """Returns for a success code (SGT200, SGT570); raises the mapped error else."""
    if code in SUCCESS_CODES:
        return
    raise error_for(code, text)


def parse_fault(body: bytes) -> tuple[str, str]:
    """``(code, text)`` of a SOAP 1.1 fault body from SGE.

    Reads ``detail/erreur/resultat@code`` whatever the prefixes; a fault without
    a result code yields ``("", faultstring)``. A body that is not XML is a
    :class:`PayloadInvalidError`.
    """
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise PayloadInvalidError(f"SGE fault is not XML: {exc}") from exc
    for element in root.iter():
        if (
            isinstance(element.tag, str)
            and etree.QName(element).localname == "resultat"
        ):
            code = element.get("code") or ""
            return code, (element.text or "").strip()
    faultstring = root.findtext(".//faultstring") or ""
    return "", faultstring.strip()


def curve_windows(start: date, end: date) -> list[tuple[date, date]]:
    """``[start, end)`` cut into CMD v3 curve requests of at most 7 days each."""
    windows = []
    at = start
    while at < end:
        stop = min(at + timedelta(days=CURVE_MAX_DAYS), end)
        windows.append((at, stop))
        at = stop
    return windows
