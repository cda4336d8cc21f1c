"""Settings of the Flukso emulator (``FLUKSO_EMULATOR_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings

EMULATOR_PORT = 8091
DEMO_TOKEN = "0123456789abcdef0123456789abcdef"  # noqa: S105 - emulator demo value
"""The emulated flukso.net master token (a test value, never a real one)."""


class EmulatorSettings(ServiceSettings):
    """The Flukso emulator: devices on MQTT plus the flukso.net REST API."""

    model_config = SettingsConfigDict(
        env_prefix="FLUKSO_EMULATOR_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
        populate_by_name=True,
    )

    http_port: int = EMULATOR_PORT
    """Emulated flukso.net REST API (and /metrics /healthz /readyz)."""
    mqtt_host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("FLUKSO_EMULATOR_MQTT_HOST", "SEN1_MQTT_HOST"),
    )
    mqtt_port: int = Field(
        1883,
        validation_alias=AliasChoices("FLUKSO_EMULATOR_MQTT_PORT", "SEN1_MQTT_PORT"),
    )
    devices: int = 0
    """Total devices; 0 = the 16 demo-territory devices, more adds synthetic ones."""
    interval_seconds: float = 1.0
    """Seconds between two gauges of a sensor (the firmware publishes every second)."""
    token: SecretStr = SecretStr(DEMO_TOKEN)
    """The token the emulated API accepts (sensor-level tokens are not emulated)."""
