"""Settings of ingest-enedis (``INGEST_ENEDIS_*``).

Every upstream address is a setting: pointing ``base_url``/``token_url`` at
``https://gw.ext.prod.api.enedis.fr`` with real credentials is all it takes to
leave the emulator. The consent page (authorize URL, redirect URI, duration) is
the api's (``API_ENEDIS_*``): the collector never sends a resident there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings, is_loopback

EMULATOR_PORT = 8092
"""Where `make run` serves the Data Connect emulator (its own distribution, enedis-emulator)."""
SERVICE_PORT = 8012
DEMO_SECRET = "sen1-demo-secret"  # noqa: S105 - the emulator's, refused elsewhere


class Settings(ServiceSettings):
    """The collector: upstream, quotas, workers, history depth, daily cycle."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_ENEDIS_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    http_port: int = SERVICE_PORT
    base_url: str = f"http://127.0.0.1:{EMULATOR_PORT}"
    """Data Connect gateway (metering and customers paths live under it)."""
    token_url: str = f"http://127.0.0.1:{EMULATOR_PORT}/oauth2/v3/token"
    client_id: str = "sen1-demo"
    client_secret: SecretStr = SecretStr(DEMO_SECRET)
    """Only the emulator accepts the default: it is refused for any other host."""

    requests_per_second: float = 5
    requests_per_hour: float = 10_000
    status_interval_s: float = Field(default=5.0, gt=0)
    """How often quota use and backlog are written for the operator page."""
    quota_time_scale: float = 1.0
    """> 1 shrinks the quota windows (benchmarks against a time-scaled emulator)."""
    quota_margin_s: float = Field(default=0.02, ge=0)
    """Seconds added to each quota window (not time-scaled): calls reach the gateway
    with some jitter, and a sliding-window gateway would otherwise see six calls
    within its second now and then (a 429 and a pause of everybody)."""
    workers: int = Field(default=8, ge=1)
    http_timeout_s: float = 30.0
    max_attempts: int = Field(default=6, ge=1)
    """Tries per request for 5xx, timeouts and 429 before the window is a hole."""
    backoff_base_s: float = 0.5
    """Longest wait before the first retry of a 5xx/timeout (full jitter), doubled
    at each further try up to ``backoff_max_s``."""
    backoff_max_s: float = 60.0

    daily_history_months: int = 36
    curve_history_months: int = 24
    curve_window_days: int = Field(default=7, ge=1, le=7)
    daily_window_days: int = Field(default=365, ge=1, le=365)
    publication_hour: int = 8
    """Local Paris hour after which yesterday's data is published (~08:00)."""
    cycle_interval_s: float = 3600.0
    """How often the loop wakes up to look for due work (daily cycle, holes)."""
    verify_interval_s: float = Field(default=60.0, gt=0)
    """How often pending consents are verified between cycles (a cycle verifies
    first too), so a resident waits about a minute, not a whole backfill."""
    hole_retry_s: float = 6 * 3600.0
    """When a missing day is asked again, or just after the next ~08:00 publication
    if that comes first; 8 tries (about two days) cover late meters published at
    J+2 ~08:00 and their 1-2 h exceptional delays. Then the hole stays open."""
    usage_point_refresh_days: int = Field(default=30, ge=1)
    """Customers v5 (contract, address) is asked again after this many days:
    tariff, subscribed power, status and activation date change."""

    @model_validator(mode="after")
    def _no_demo_secret_upstream(self) -> Settings:
        hosts = {urlsplit(u).hostname for u in (self.base_url, self.token_url)}
        if self.client_secret.get_secret_value() == DEMO_SECRET and not all(
            is_loopback(h) for h in hosts
        ):
            raise ValueError(
                "INGEST_ENEDIS_CLIENT_SECRET is the emulator's demo secret; "
                "set the application's secret for a real gateway"
            )
        return self
