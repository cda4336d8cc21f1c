"""Settings of the federation gateway (FEDERATION_GATEWAY_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from energy_core.settings import SecrecySettings, ServiceSettings


class Settings(ServiceSettings):
    """Who this collective is, how long signatures and keys live, what the secrecy
    rule is at egress and how pushes are retried."""

    model_config = SettingsConfigDict(
        env_prefix="FEDERATION_GATEWAY_",
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
        populate_by_name=True,
    )

    http_port: int = 8030
    """Peers' HTTPS binding (behind the ingress's TLS) and the ops routes
    (/metrics /healthz /readyz); 8030 is reserved for this service."""
    domain: str = "collective-a.sen1.localhost"
    """This collective's domain name: the ``keyid`` prefix of its signatures and the
    name its peers pin in their registries."""
    public_url: str = "http://127.0.0.1:8030"
    """The base URL peers reach this gateway at (the ingress host in a cluster)."""
    key_overlap_seconds: int = Field(7 * 24 * 3600, ge=0)
    """After a rotation the previous key still verifies (and stays in the JWKS) for
    this long, so peers that cached the old JWKS keep accepting our messages."""
    signature_max_age_seconds: int = Field(300, ge=1)
    """A signature whose ``created`` is older than this (or whose ``expires`` has
    passed) is refused: stale signatures cannot be replayed later."""
    clock_skew_seconds: int = Field(30, ge=0)
    """Tolerance for a peer's clock running ahead of ours."""
    secrecy: SecrecySettings = Field(default_factory=SecrecySettings)
    """The secrecy rule at egress (``SECRECY_MIN_POINTS``, ``SECRECY_MAX_SHARE``):
    the api's block, so both doors publish the same cells."""
    push_interval_seconds: float = Field(5.0, gt=0)
    """How often new rollups and alerts are looked for and pushed to subscribers."""
    push_retry_base_seconds: float = Field(1.0, gt=0)
    push_retry_max_seconds: float = Field(300.0, gt=0)
    subscription_dead_after_seconds: int = Field(24 * 3600, ge=1)
    """A subscription whose pushes have failed for this long expires."""
    quoalise_jid: str = ""
    """Full JID the Quoalise binding answers at (e.g. ``sen1@collective.example/proxy``);
    empty turns the XMPP binding off."""
    quoalise_password: SecretStr = SecretStr("")
    """Password of that XMPP account."""
    quoalise_host: str | None = None
    """XMPP server to connect to; unset: DNS SRV of the JID's domain."""
    quoalise_port: int | None = None
    """Its c2s port (with ``quoalise_host``)."""
    quoalise_ca_file: str | None = None
    """CA bundle verifying the XMPP server's certificate (a private CA); unset: the
    system's trust store. TLS is always required."""
    quoalise_peer_jids: dict[str, str] = Field(default_factory=dict)
    """Bare JID -> registered peer domain (JSON), read only when no registry row
    names the JID (``federation_peers.jid``, the operator's way). Quoalise
    identifies a requester only by the bare JID its server stamps; an unknown JID
    gets nothing."""
    quoalise_inbound: list[dict[str, str]] = Field(default_factory=list)
    """JSON ``[{"provider": "<full JID>", "identifier": "<URN>"}]``: series read
    from other Quoalise proxies and stored as that peer's series (the provider's
    bare JID must be a registered peer's ``jid``)."""
    quoalise_inbound_interval_seconds: float = Field(3600.0, gt=0)
    """How often those series are read (the last ``quoalise_inbound_days`` each time)."""
    quoalise_inbound_days: int = Field(2, ge=1, le=400)
    demo_peers: str = ""
    """`make run` only (loopback, refused otherwise): JSON list of
    ``{"domain", "url", "subscribe": [urn, ...]}`` registered at start with keys
    pinned on first use. Empty in production: the operator registers peers."""
    demo_neighbour_database: bool = False
    """`make run` only: create, migrate and seed this collective's own database
    (the neighbouring commune of the demo) before starting."""
    operator_token: SecretStr = SecretStr("")
    """Bearer token of the operator routes (/operator/peers, /operator/keys); empty
    turns them off."""
