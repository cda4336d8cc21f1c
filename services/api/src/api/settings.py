"""Settings of the api service (env prefix ``API_``), built once in ``__main__``."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import CongestionSettings, SecrecySettings, ServiceSettings


class Settings(ServiceSettings):
    """Everything the api reads from the environment; frozen."""

    model_config = SettingsConfigDict(
        env_prefix="API_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    http_port: int = 8000
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("SEN1_SECRET_KEY", "API_SECRET_KEY"),
    )
    """Fernet key sealing webhook secrets at rest (SecretBox); required for webhooks."""
    secrecy: SecrecySettings = Field(default_factory=SecrecySettings)
    """The secrecy rule (``SECRECY_MIN_POINTS``, ``SECRECY_MAX_SHARE``), the
    federation gateway's too."""
    session_ttl_hours: int = Field(default=12, ge=1)
    cookie_secure: bool = True
    """Secure cookies (HTTPS only); the dev stack on plain loopback turns it off."""
    demo: bool = False
    """Seeds demo accounts at start-up and prints them. Never in production."""
    default_language: str = "fr"
    congestion: CongestionSettings = Field(default_factory=CongestionSettings)
    """The alert levels' load/capacity thresholds, drawn on the operator page: the
    aggregator's own block (``CONGESTION_LEVEL_THRESHOLDS``), so the page shows
    the thresholds the alerts are raised with."""
    enedis_authorize_url: str = "http://127.0.0.1:8092/dataconnect/v1/oauth2/authorize"
    enedis_client_id: str = "sen1-demo"
    enedis_redirect_uri: str = "http://127.0.0.1:8000/v1/enedis/callback"
    enedis_duration: str = "P3Y"
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_backoff_s: float = Field(default=1.0, ge=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    subscribe_alerts: bool = True
    """Consume topics.ALERTS (SSE + webhooks); tests turn it off."""

    # Hardening (see the README, "What is enforced"). Limits are per api process.
    login_account_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins per account (e-mail, known or not) per window; then 429."""
    login_account_window_s: float = Field(default=300.0, gt=0)
    login_address_attempts: int = Field(default=20, ge=1)
    """Sign-in attempts per client address per window, whatever the outcome."""
    login_address_window_s: float = Field(default=60.0, gt=0)
    login_max_concurrent: int = Field(default=4, ge=1)
    """Password checks (argon2, ~0.1 s of CPU each) running at once; more: 429."""
    key_ttl_days: int = Field(default=365, ge=1)
    """Lifetime of a new API key when the operator names none."""
    key_max_ttl_days: int = Field(default=730, ge=1)
    key_rotation_grace_hours: int = Field(default=24, ge=0)
    """How long a rotated key keeps working beside its successor (0: at once)."""
    webhook_allow_networks: list[str] = Field(default_factory=list)
    """CIDRs a webhook may reach although not global (loopback, private, …), as JSON:
    ``API_WEBHOOK_ALLOW_NETWORKS='["10.20.0.0/16"]'``. Empty: public addresses only."""
    webhook_lease_s: float = Field(default=60.0, gt=0)
    """A pending delivery whose sender holds no lease this long is taken over."""
    webhook_retry_every_s: float = Field(default=5.0, gt=0)
    """How often the api looks for deliveries owed (after a crash, or backed off)."""
    sse_max_streams_per_caller: int = Field(default=3, ge=1)
    """Open SSE streams per account or API key; one more: 429."""
    sse_max_streams: int = Field(default=500, ge=1)
    """Open SSE streams of the process, all callers together."""
    sse_recheck_s: float = Field(default=30.0, gt=0)
    """An open stream re-checks its credentials this often (revoked key: it ends)."""
    consumer_backoff_s: float = Field(default=1.0, gt=0)
    """First wait before a consumer that died is restarted (doubles, capped)."""
    consumer_backoff_max_s: float = Field(default=30.0, gt=0)

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names it
        return value

    @field_validator("enedis_duration")
    @classmethod
    def _at_most_three_years(cls, value: str) -> str:
        from energy_core.dataconnect import duration_months

        duration_months(value)  # InvalidValueError (a ValueError) names the field
        return value
