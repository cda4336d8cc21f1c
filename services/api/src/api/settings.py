"""Settings of the api service (env prefix ``API_``), built once in ``__main__``."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings


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
    secrecy_min_points: int = Field(default=10, ge=1)
    """An aggregate is published only with at least this many delivery points
    (code de l'énergie D111-53: "supérieur à neuf")."""
    secrecy_max_share: float | None = Field(default=0.85, gt=0, le=1)
    """Dominance rule: suppress when one point exceeds this share of the total
    (max_point_value / value). None disables the rule."""
    session_ttl_hours: int = Field(default=12, ge=1)
    cookie_secure: bool = True
    """Secure cookies (HTTPS only); the dev stack on plain loopback turns it off."""
    demo: bool = False
    """Seeds demo accounts at start-up and prints them. Never in production."""
    default_language: str = "fr"
    enedis_authorize_url: str = "http://127.0.0.1:8092/dataconnect/v1/oauth2/authorize"
    enedis_client_id: str = "sen1-demo"
    enedis_redirect_uri: str = "http://127.0.0.1:8000/v1/enedis/callback"
    enedis_duration: str = "P3Y"
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_backoff_s: float = Field(default=1.0, ge=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    subscribe_alerts: bool = True
    """Consume topics.ALERTS (SSE + webhooks); tests turn it off."""

    @field_validator("enedis_duration")
    @classmethod
    def _at_most_three_years(cls, value: str) -> str:
        from energy_core.dataconnect import duration_months

        duration_months(value)  # InvalidValueError (a ValueError) names the field
        return value
