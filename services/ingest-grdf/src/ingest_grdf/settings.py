"""Settings of ingest-grdf (``INGEST_GRDF_*``).

Every upstream address is a setting: ADICT has had two token endpoints (the old
SOFIT realm and the newer Okta one) and the client must work with either, so the
token URL is configured, never derived. Defaults point at the emulator of
``make run``; the emulator's demo secret is refused for any other host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings, is_loopback

EMULATOR_PORT = 8094
"""Where `make run` serves the ADICT emulator (its own distribution, sen1-grdf-emulator)."""
SERVICE_PORT = 8016
OKTA_TOKEN_PATH = "/oauth2/aus5y2ta2uEHjCWIR417/v1/token"  # noqa: S105 - a path
SOFIT_TOKEN_PATH = "/openam/oauth2/realms/externeGrdf/access_token"  # noqa: S105
DEMO_SECRET = "sen1-demo-secret"  # noqa: S105 - the emulator's, refused elsewhere


class Settings(ServiceSettings):
    """The collector: upstream, token, quotas, history depth, cycles."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_GRDF_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    http_port: int = SERVICE_PORT
    base_url: str = f"http://127.0.0.1:{EMULATOR_PORT}/adict/v2"
    """ADICT base (production ``https://api.grdf.fr/adict/v2``, sandbox ``…/adict/bas/v6``)."""
    token_url: str = f"http://127.0.0.1:{EMULATOR_PORT}{OKTA_TOKEN_PATH}"
    """Okta (``https://adict-connexion.grdf.fr`` + this path) or the old SOFIT realm
    (``https://sofit-sso-oidc.grdf.fr`` + ``SOFIT_TOKEN_PATH``)."""
    scope: str = "/adict/v2"
    """Token scope: ``/adict/v2`` (production) or ``/adict/bas/v6`` (sandbox)."""
    injections_path: str = "donnees_injections_publiees"
    """The sandbox spells it ``donnees_injection_publiees``: configurable, not guessed."""
    client_id: str = "sen1-demo"
    client_secret: SecretStr = SecretStr(DEMO_SECRET)
    """Only the emulator accepts the default: it is refused for any other host."""
    token_margin_s: float = Field(default=300.0, ge=0)
    """A token is renewed this long before its ``expires_in`` (~4 h) runs out."""

    requests_per_second: float = Field(default=1.0, gt=0)
    """ADICT: 1 call per second for the whole application (all workers)."""
    daily_cap: int = Field(default=6000, ge=1)
    """ADICT's calls per Paris day for the whole application."""
    status_interval_s: float = Field(default=5.0, gt=0)
    """How often quota use and backlog are written for the operator page."""
    quota_time_scale: float = Field(default=1.0, gt=0)
    """> 1 shrinks the one-second window (benchmarks against a time-scaled
    emulator, and the demo of `make run`); production keeps 1."""
    workers: int = Field(default=8, ge=1)
    """PCEs collected at once, all through the one limiter: enough that a slot
    always finds a worker ready while others parse and map three years of gas
    days (4 left slots unused on a loaded machine in the benchmark)."""
    http_timeout_s: float = 30.0
    max_attempts: int = Field(default=8, ge=1)
    """Tries per request for 429, 5xx, maintenance 503 and timeouts."""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0

    informative_years: int = Field(default=3, ge=0, le=3)
    """History of daily informatives asked at first contact (ADICT keeps 3 years)."""
    published_years: int = Field(default=5, ge=0, le=5)
    """History of published readings asked at first contact (ADICT keeps 5 years)."""
    backfill_chunk_days: int = Field(default=1100, ge=1)
    """Days asked per informative request during a backfill. The contract
    documents no maximum range beyond the 3-year history, so by default the
    whole history is one call (a PCE's backfill is then 4 calls: informatives,
    published readings, contract and technical data); lower it if GRDF refuses
    long ranges."""
    sliding_days: int = Field(default=7, ge=1)
    """The daily cycle asks D-sliding_days..D again (Provisoire → Définitive, late days)."""
    cycle_interval_s: float = 3600.0
    """How often the loop looks for due work (new rights, the daily window)."""
    rights_check_interval_s: float = 24 * 3600.0
    """How often the access-rights list is read again (the daily check)."""

    requests_poll_s: float = Field(default=2.0, gt=0)
    """How often the dashboard's requests (declare, revoke, proofs) are looked for."""

    declare_demo: bool = False
    """`make run` only: declare a right on every demo PCE at start (the demo
    holders' identities); production declarations come from the dashboard."""

    @model_validator(mode="after")
    def _no_demo_secret_upstream(self) -> Settings:
        hosts = {urlsplit(u).hostname for u in (self.base_url, self.token_url)}
        if self.client_secret.get_secret_value() == DEMO_SECRET and not all(
            is_loopback(h) for h in hosts
        ):
            raise ValueError(
                "INGEST_GRDF_CLIENT_SECRET is the emulator's demo secret; "
                "set the application's secret for a real ADICT"
            )
        return self
