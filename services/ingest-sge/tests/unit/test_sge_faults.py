"""SGE result codes land in the right branch of the error tree."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from energy_core.errors import (
    ConsentRevokedError,
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    TransientError,
)
from ingest_sge.client.faults import (
    AuthorisationRefusedError,
    MalformedRequestError,
    PeriodRefusedError,
    PointUnknownError,
    SearchCriteriaError,
    SearchTooBroadError,
    ServiceMissingError,
    SgeRequestRefusedError,
    curve_windows,
    error_for,
    parse_fault,
    raise_for_code,
)

FAULT = """<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>
<faultstring>{text}</faultstring><detail>
<tec:erreur xmlns:tec="http://www.enedis.fr/sge/b2b/technique/v1.0">
<resultat code="{code}">{text}</resultat></tec:erreur></detail>
</soap:Fault></soap:Body></soap:Envelope>"""


@pytest.mark.parametrize(
    ("code", "cls", "branch"),
    [
        ("SGT4K2", AuthorisationRefusedError, ConsentRevokedError),
        ("SGT566", AuthorisationRefusedError, ConsentRevokedError),
        ("SGT4G2", AuthorisationRefusedError, ConsentRevokedError),
        ("SGT4L8", PeriodRefusedError, PermanentError),
        ("SGT4H4", PeriodRefusedError, PermanentError),
        ("SGT401", PointUnknownError, PermanentError),
        ("SGT4G3", NoDataError, PermanentError),
        ("SGT4B8", TransientError, TransientError),
        ("SGT500", TransientError, TransientError),
        ("SGT562", MalformedRequestError, SgeRequestRefusedError),
        ("SGT4Q1", MalformedRequestError, SgeRequestRefusedError),
        ("SGT4F8", SearchTooBroadError, SgeRequestRefusedError),
        ("SGT4F7", SearchCriteriaError, SgeRequestRefusedError),
        ("SGT211", ServiceMissingError, SgeRequestRefusedError),
        ("SGT400", SgeRequestRefusedError, PermanentError),
        ("SGT999", SgeRequestRefusedError, PermanentError),
    ],
)
def test_each_code_maps_to_its_error(code: str, cls: type, branch: type) -> None:
    text = "Le client doit avoir donné son accord"
    fault = FAULT.format(code=code, text=text).encode()
    parsed = parse_fault(fault)
    assert parsed == (code, text)
    error = error_for(*parsed)
    assert isinstance(error, cls)
    assert isinstance(error, branch)
    assert error.code == code  # type: ignore[attr-defined]
    assert code in str(error)
    with pytest.raises(cls):
        raise_for_code(*parsed)


def test_the_request_refusals_are_permanent_and_distinct() -> None:
    """A caller that retries transients must never retry these, and a caller
    that helps a user (too broad vs. too vague) can tell them apart."""
    errors = {c: error_for(c, "x") for c in ("SGT4F8", "SGT4F7", "SGT562", "SGT211")}
    assert all(isinstance(e, PermanentError) for e in errors.values())
    assert not any(isinstance(e, TransientError) for e in errors.values())
    assert len({type(e) for e in errors.values()}) == 4


@pytest.mark.parametrize("code", ["SGT200", "SGT570"])
def test_success_codes_do_not_raise(code: str) -> None:
    raise_for_code(code, "Le service est déjà actif sur la période demandée.")


def test_a_fault_without_result_code_keeps_the_faultstring() -> None:
    body = b"""<Envelope><Body><Fault><faultcode>Server</faultcode>
    <faultstring>boom</faultstring></Fault></Body></Envelope>"""
    assert parse_fault(body) == ("", "boom")
    with pytest.raises(PayloadInvalidError):
        parse_fault(b"<html>503")


def test_curve_windows_never_exceed_seven_days() -> None:
    start = date(2025, 4, 1)
    windows = curve_windows(start, start + timedelta(days=17))
    assert windows == [
        (date(2025, 4, 1), date(2025, 4, 8)),
        (date(2025, 4, 8), date(2025, 4, 15)),
        (date(2025, 4, 15), date(2025, 4, 18)),
    ]
    assert curve_windows(start, start) == []
