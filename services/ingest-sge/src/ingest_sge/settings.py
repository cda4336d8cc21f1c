"""Settings of ingest-sge (``INGEST_SGE_*``).

The SFTP drop (host, port, login, key, known hosts, folder) and the flux keys are
settings; the keys and the password are secrets. The defaults point at a drop on
loopback so that the stack runs unconfigured; an empty key list is refused for
any other host (a drop without keys can only dead-letter).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings, is_loopback
from ingest_sge.client import FluxKey, SftpTarget, parse_keys
from ingest_sge.client.soap import SoapConfig
from ingest_sge.mapping import Ambiguous

SERVICE_PORT = 8015
SFTP_EMULATOR_PORT = 8096
SOAP_EMULATOR_PORT = 8095


class Settings(ServiceSettings):
    """The flux collector: drop, keys, spool, polling, DST rule, batching."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_SGE_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    http_port: int = SERVICE_PORT
    sftp_host: str = "127.0.0.1"
    sftp_port: int = SFTP_EMULATOR_PORT
    sftp_username: str = "sen1"
    sftp_password: SecretStr | None = None
    sftp_client_key: Path | None = None
    """Private key file for the drop (mounted from a secret)."""
    sftp_known_hosts: Path | None = None
    """known_hosts file pinning the drop's host key; unset = not checked (loopback only)."""
    sftp_remote_dir: str = "/"
    sftp_patterns: tuple[str, ...] = (
        "*R50*.zip",
        "*R151*.zip",
        "*R171*.zip",
        "*R4Q*.zip",
        "*R4H*.zip",
        "*R4M*.zip",
    )
    sftp_bulk_dir: str = "R63_R64_R65_R66_R67_C68"
    """Sub-folder of the drop where bulk-order results arrive (enedis.md §3.1);
    empty = none."""
    sftp_bulk_patterns: tuple[str, ...] = (
        "*R63*.zip",
        "*R64*.zip",
        "*R65*.zip",
        "*R66*.zip",
        "*C68*.zip",
    )
    sftp_timeout_s: float = 30.0
    flux_keys: SecretStr = SecretStr("")
    """``id:hexkey[:hexiv],…`` tried in order: AES-256 keys (64 hex) take their IV
    from the file, AES-128 keys (32 hex) need their fixed IV (32 hex)."""
    spool_dir: Path = Path(".var/ingest-sge/spool")
    poll_interval_s: float = Field(default=600.0, gt=0)
    settle_s: float = Field(default=60.0, ge=0)
    """A listed file younger than this (mtime) is left for the next poll: the
    drop may still be writing it."""
    publish_every_records: int = Field(default=500, ge=1)
    """Records (PRMs) mapped between two flushes to the broker: what is held in
    memory for one file is bounded by this, not by the file."""
    ambiguous_hour: Ambiguous = Ambiguous.EARLIER
    """Which pass of the repeated October hour a local stamp without offset means."""
    max_attempts: int = Field(default=5, ge=1)
    """Polls at which a file may be found incomplete (size differing from the
    listing, ZIP without its end, a key opening it but its end missing) before
    it is given up: dead-lettered with the reason, never asked again."""
    backoff_base_s: float = 5.0
    backoff_max_s: float = 600.0

    soap_base_url: str = f"https://127.0.0.1:{SOAP_EMULATOR_PORT}"
    """SGE's SOAP host: ``https://sge-ws.enedis.fr`` (production),
    ``https://sge-homologation-ws.enedis.fr`` (homologation) or an emulator."""
    soap_wsdl_dir: Path | None = None
    """The operator's SGE kit (``<stem>.wsdl`` files); unset = no SOAP client."""
    soap_login: str = "sen1-demo@sen1.invalid"
    """The Tiers account's e-mail (``initiateurLogin``/``loginDemandeur``)."""
    soap_contract_id: str = "1111111"
    soap_cert_file: Path | None = None
    """Client certificate (full chain) of the Tiers account (a mounted secret)."""
    soap_key_file: Path | None = None
    soap_ca_file: Path | None = None
    """CA bundle that signs SGE's server certificate; unset = the system's."""
    soap_timeout_s: float = 30.0

    enrolment_interval_s: float = Field(default=30.0, gt=0)
    """Between two passes of the enrolment worker when nothing was due."""
    enrolment_batch: int = Field(default=50, ge=1)
    """Registered sites claimed per pass."""
    enrolment_lease_s: float = Field(default=900.0, gt=0)
    """A site claimed longer ago than this (its worker died) is taken again."""
    backfill_days: int = Field(default=14, ge=1, le=731)
    """Days of curve read back when a site is enrolled (SGE keeps 24 months)."""

    @model_validator(mode="after")
    def _keys_and_host_pinning(self) -> Settings:
        parse_keys(self.flux_keys.get_secret_value())  # refuses malformed keys now
        if not is_loopback(self.sftp_host) and self.sftp_known_hosts is None:
            raise ValueError(
                "INGEST_SGE_SFTP_KNOWN_HOSTS is required for a drop off loopback "
                "(the host key must be pinned)"
            )
        return self

    def soap_config(self) -> SoapConfig | None:
        """The SOAP client's configuration, or None while the kit or the
        certificate is not configured."""
        if not (self.soap_wsdl_dir and self.soap_cert_file and self.soap_key_file):
            return None
        return SoapConfig(
            base_url=self.soap_base_url,
            wsdl_dir=self.soap_wsdl_dir,
            login=self.soap_login,
            contract_id=self.soap_contract_id,
            cert_file=self.soap_cert_file,
            key_file=self.soap_key_file,
            ca_file=self.soap_ca_file,
            timeout_s=self.soap_timeout_s,
        )

    def keys(self) -> tuple[FluxKey, ...]:
        """The flux keys in the order they are tried."""
        return parse_keys(self.flux_keys.get_secret_value())

    def sftp_target(self) -> SftpTarget:
        """Where and how the client logs in to the drop."""
        password = self.sftp_password
        return SftpTarget(
            host=self.sftp_host,
            port=self.sftp_port,
            username=self.sftp_username,
            password=password.get_secret_value() if password else None,
            client_key=self.sftp_client_key,
            known_hosts=self.sftp_known_hosts,
            remote_dir=self.sftp_remote_dir,
            patterns=self.sftp_patterns,
            bulk_dir=self.sftp_bulk_dir,
            bulk_patterns=self.sftp_bulk_patterns,
            timeout_s=self.sftp_timeout_s,
        )
