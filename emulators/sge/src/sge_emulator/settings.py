"""Settings of the SGE emulator (environment prefix ``SGE_EMULATOR_``)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SOAP_PORT = 8095
SFTP_PORT = 8096
DEMO_LOGIN = "sen1-demo@sen1.invalid"
DEMO_CONTRACT = "1111111"
SFTP_USER = "sen1"
SFTP_PASSWORD = "sen1-demo-sftp"  # noqa: S105 - the emulator's public demo secret


class EmulatorSettings(BaseSettings):
    """Everything that differs between a test, the demo and a benchmark.

    Defaults are the contract's (one Tiers account, AES-128 legacy then AES-256
    keys); tests shrink or widen them instead of patching code.
    """

    model_config = SettingsConfigDict(
        env_prefix="SGE_EMULATOR_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
    )

    host: str = "127.0.0.1"
    soap_port: int = SOAP_PORT
    sftp_port: int = SFTP_PORT
    proxy_port: int | None = None
    """When set, also serve a CONNECT proxy that tunnels ``sge-ws.enedis.fr:443``
    and ``sge-homologation-ws.enedis.fr:443`` to the mTLS listener (for clients
    with hard-coded Enedis URLs, such as lowatt-enedis)."""
    state_dir: str = ".var/sge-emulator"
    """Where the throw-away CA, the server and client certificates, the SFTP host
    key and the drop folder live (created at first start, reused after)."""
    login: str = DEMO_LOGIN
    """The Tiers account's e-mail: ``loginDemandeur``/``initiateurLogin``/``loginUtilisateur``."""
    contract_id: str = DEMO_CONTRACT
    """The Tiers account's ``contratId``."""
    receiver_code: str = "23X--130624--EE1"
    """``Identifiant_Destinataire`` and the code in the file names."""
    sftp_user: str = SFTP_USER
    sftp_password: SecretStr = SecretStr(SFTP_PASSWORD)
    cipher: str = "aes256"
    """``aes128`` (legacy, fixed IV) or ``aes256`` (IV in the first 16 bytes)."""
    keys: str = (
        "1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f,"
        "2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
    )
    """Rotating keys, ``version:hexkey`` comma-separated (16-byte keys for
    aes128, 32-byte keys for aes256)."""
    key_version: int = 1
    """The key version files are encrypted with until ``rotate_every_days``
    moves it on (versions cycle through ``keys``)."""
    rotate_every_days: int = 0
    """0: never rotate by itself (the test hook rotates)."""
    aes128_iv: str = "000102030405060708090a0b0c0d0e0f"
    """The legacy fixed IV (hex) given with the AES-128 keys."""
    start_date: str | None = None
    """The emulated date (Paris) at start, ``YYYY-MM-DD``; default: today."""
    night_every_s: float = 0.0
    """When > 0, one emulated night passes every that many real seconds (demo)."""
    with_demo: bool = True
    """Serve the demo territory's professional PRMs (energy_store.demo.build())."""
    autosubscribe_demo: bool = False
    """Start with R50/R151 (C5) or R171 (C2-C4) subscriptions on every demo PRM."""
    strict_login: bool = True
    """Refuse calls whose login or contract is not the account's (SGT4G2/SGT4K2-style
    refusal is invented: real SGE's cross-check is unverified)."""
    october_duplicate: str = "repeat"
    """v3 rendering of the October repeated hour: ``repeat`` (two 02:30 stamps) or
    ``drop`` (the second hour omitted). Upstream is unverified."""
    log_level: str = "INFO"
