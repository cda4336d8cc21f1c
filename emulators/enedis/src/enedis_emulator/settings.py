"""Settings of the Data Connect emulator (``ENEDIS_EMULATOR_*``).

The emulator shares no code with ingest-enedis on purpose: it plays the gateway,
so a mistake in the client (quotas, paths, payloads) cannot hide behind the same
mistake in the emulator.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMULATOR_PORT = 8092
DEMO_SECRET = "sen1-demo-secret"  # noqa: S105 - demo value, refused by ingest-enedis upstream


class EmulatorSettings(BaseSettings):
    """The Data Connect emulator (``python -m enedis_emulator``)."""

    model_config = SettingsConfigDict(
        env_prefix="ENEDIS_EMULATOR_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
    )

    http_host: str = "127.0.0.1"
    http_port: int = EMULATOR_PORT
    client_id: str = "sen1-demo"
    client_secret: SecretStr = SecretStr(DEMO_SECRET)
    enforce_quotas: bool = True
    requests_per_second: float = 5
    requests_per_hour: float = 10_000
    quota_time_scale: float = 1.0
    """> 1 shrinks the quota windows by that factor (documented scaled quotas)."""
    quota_body: str = "legacy"
    """``legacy`` ({"error": "429", …Quota Q4 reached…}) or ``wso2`` (fault 900807)."""
    with_demo: bool = True
    """Serve the demo territory's PRMs (energy_store.demo.build().prms)."""
    extra_prms: int = 0
    """Synthetic PRMs beyond the demo ones (benchmarks)."""
    extra_plain: bool = False
    """Synthetic PRMs all alike (PT30M since the Linky rollout, published on time)
    instead of the demo mix (late meters, recent activations, PT60M periods, PV)."""
    log_level: str = "INFO"
