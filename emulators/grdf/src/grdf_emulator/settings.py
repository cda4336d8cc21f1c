"""Settings of the GRDF ADICT emulator (environment prefix ``GRDF_EMULATOR_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMULATOR_PORT = 8094
DEMO_CLIENT_ID = "sen1-demo"
DEMO_SECRET = "sen1-demo-secret"  # noqa: S105 - the emulator's public demo secret


class EmulatorSettings(BaseSettings):
    """Everything that differs between a test, the demo and a benchmark.

    The defaults are the real contract (1 call/s, 6,000 calls a day, ~4 h tokens,
    D+2 publication); tests shrink or widen them instead of patching code.
    """

    model_config = SettingsConfigDict(
        env_prefix="GRDF_EMULATOR_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
    )

    http_host: str = "127.0.0.1"
    http_port: int = EMULATOR_PORT
    client_id: str = DEMO_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEMO_SECRET)
    third_party_name: str = "SEN1 DEMO"
    """``raison_sociale_du_tiers`` of the rights and the token's scope string."""
    token_lifetime_s: int = 14399
    enforce_quotas: bool = True
    requests_per_second: float = 1.0
    """Calls per rolling second, shared by every client and both API bases."""
    daily_cap: int = 6000
    """Calls per Paris calendar day, shared likewise (contract annex 4)."""
    retry_after: bool = True
    """A 429 carries ``Retry-After`` (whole seconds until a call would pass: the
    rolling second's oldest call leaving it, or the next Paris midnight). The
    contract leaves the 429's shape unverified: an emulator choice, off with
    false (clients must work either way)."""
    lag_days: int = 2
    """Gas day J is published on J + lag_days (Paris date)."""
    missing_day_rate: float = 0.03
    """Share of gas days published late (missing, then caught up in one batch)."""
    catch_up_days: int = 3
    """How many extra days such a late gas day stays missing."""
    definitive_after_days: int = 5
    """A gas day is ``Provisoire`` until J + this many days, then ``Définitive``."""
    published_lag_days: int = 5
    """A published (billing) period is served this many days after its end."""
    holder_auto_accept_s: float | None = None
    """When set, a pending right whose holder identity matches GRDF's records is
    accepted that many seconds after its declaration (the demo's holders); None:
    only the test hook accepts or refuses."""
    proof_deadline_days: int = 30
    contract_shape: Literal["v1.6", "nested"] = "v1.6"
    """``v1.6``: scalar ``car``/``cja`` (Swagger 1.6); ``nested``: doc v1.9+ blocks."""
    sandbox_multiline_json: bool = True
    """bas/v6 streams pretty-printed objects back to back (``}{``), as the sandbox does."""
    sandbox_injection_typo: bool = True
    """bas/v6 serves ``donnees_injection_publiees`` (no "s") instead of the real path."""
    with_demo: bool = True
    """Serve the demo territory's PCEs (energy_store.demo.build())."""
    demo_rights_active: bool = False
    """Start with an Active right of the configured client on every demo PCE
    (benchmarks); the demo otherwise declares them like a real third party."""
    extra_pces: int = 0
    """Synthetic PCEs beyond the demo ones (benchmarks), each with an Active right."""
    intercept_port: int | None = None
    """When set, also serve an HTTPS forward proxy on this port that answers for
    api.grdf.fr and both token hosts (for clients with hard-coded GRDF URLs)."""
    intercept_dir: str = ".var/grdf-emulator"
    """Where the proxy writes its throw-away CA (``ca.pem``) and certificate."""
    log_level: str = "INFO"
