"""The Data Connect client: 429 bodies, error classes, one token for every worker."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from energy_core.errors import (
    ConsentRevokedError,
    NoDataError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from ingest_enedis.client import (
    BeforeActivationError,
    BeforeConsentError,
    DataConnectClient,
    raise_for_vendor,
)
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.mapping import Stream
from ingest_enedis.settings import Settings

NOW = datetime(2026, 7, 17, 4, 58, 30, tzinfo=UTC)


def _raises(status: int, body: object, **headers: str) -> Exception:
    response = httpx.Response(status, json=body, headers=headers)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the class is asserted
        raise_for_vendor(response, now=lambda: NOW)
    return caught.value


def test_wso2_next_access_time_is_an_instant_not_a_delay():
    exc = _raises(
        429,
        {
            "code": "900804",
            "message": "Message throttled out",
            "description": "You have exceeded your quota .You can access API "
            "after 2026-Jul-17 05:00:00+0000 UTC",
            "nextAccessTime": "2026-Jul-17 05:00:00+0000 UTC",
        },
    )
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == pytest.approx(90.0)  # not 5 h read from "05:00:00"


def test_legacy_quota_body_gives_the_delay():
    exc = _raises(
        429,
        {
            "error": "429",
            "error_description": "Quota Q4 reached  Call threshold allowed on 0:-30:-40",
        },
    )
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 30 * 60 + 40


def test_wso2_fault_without_a_time_leaves_the_delay_to_the_caller():
    exc = _raises(
        429,
        {
            "fault": {
                "code": 900807,
                "message": "Message throttled out",
                "description": "You have exceeded your quota",
            }
        },
    )
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after is None


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (403, "ADAM-DC-0008", ConsentRevokedError),
        (403, "ADAM_DC_0008", ConsentRevokedError),
        (403, "ADAM-DC-0009", BeforeConsentError),
        (400, "ADAM-ERR0123", BeforeActivationError),
        (404, "no_data_found", NoDataError),
        (500, "ADAM-DC-0500", UpstreamUnavailableError),
        (400, "invalid_request", PermanentError),
    ],
)
def test_error_codes_become_error_classes(status, code, expected):
    exc = _raises(status, {"error": code, "error_description": "…"})
    assert type(exc) is expected


def test_plain_text_500_is_transient():
    response = httpx.Response(500, text="500 Internal Server Error")
    with pytest.raises(UpstreamUnavailableError):
        raise_for_vendor(response)


async def test_one_token_renewal_for_concurrent_workers():
    tokens = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal tokens
        if request.url.path == "/oauth2/v3/token":
            tokens += 1
            await asyncio.sleep(0.01)  # the renewal takes a round trip
            return httpx.Response(
                200, json={"access_token": f"t{tokens}", "expires_in": "12600"}
            )
        assert request.headers["authorization"] == "Bearer t1"
        return httpx.Response(200, json={"meter_reading": {"interval_reading": []}})

    settings = Settings(
        base_url="http://gw",
        token_url="http://gw/oauth2/v3/token",
        client_secret="app-secret",
    )
    client = DataConnectClient(
        settings,
        SlidingWindowLimiter.per_second_and_hour(1000, 10**6),
        transport=httpx.MockTransport(handler),
    )
    try:
        await asyncio.gather(
            *(
                client.metering(
                    Stream.DAILY_CONSUMPTION,
                    "22516914714270",
                    datetime(2026, 1, 1, tzinfo=UTC).date(),
                    datetime(2026, 1, 2, tzinfo=UTC).date(),
                )
                for _ in range(8)
            )
        )
    finally:
        await client.aclose()
    assert tokens == 1


def test_the_demo_secret_is_refused_for_a_real_gateway():
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        Settings(base_url="https://gw.ext.prod.api.enedis.fr")
    real = Settings(base_url="https://gw.ext.prod.api.enedis.fr", client_secret="s3")
    assert "s3" not in repr(real)  # SecretStr: never printed
    Settings(base_url="http://127.0.0.1:8092")  # the emulator
