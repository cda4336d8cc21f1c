"""Federation gateway: our signing keys, the peer registry, nonces, subscriptions,
and the read model of what peers sent us.

Revision ID: 1701_federation
Revises: 0002_read_models
Create Date: 2026-12-03

- ``federation_keys``: our Ed25519 keys, the private part sealed with the
  deployment's secret (never in clear in the database); ``retired_at`` starts the
  overlap during which a retired key still verifies.
- ``federation_peers``: the operator's registry. A peer is a domain with a base
  URL, the key fingerprints (RFC 7638 thumbprints) pinned for it, and what may be
  shared with it (territories, levels, buckets, individual series under consent),
  a rate limit, and ``revoked_at`` (refused from then on, pushes stop).
- ``federation_nonces``: every accepted signature's (keyid, nonce) until its expiry,
  so a replayed request is refused even by another gateway replica.
- ``federation_subscriptions``: a peer's subscription to territory URNs; the cursor
  (``rollups.updated_at``) moves only when the peer acknowledged a push, so pushes are
  at least once; failing subscriptions expire.
- ``federation_peer_rollups``: what peers pushed or answered, with provenance
  (peer, keyid, signature, time) and who the origin allows to receive it again;
  the api's city page reads it beside local data.
- ``federation_received``: idempotency keys of pushes already stored.
Depends on the api's access log (peers' reads of individual data are logged there)
and on the consent verification and occupancies (0004, 0005): a series leaves only
under a verified consent whose holder has ``meter_access()`` to it.
"""

from alembic import op

revision = "1701_federation"
down_revision = "0002_read_models"
branch_labels = ("federation",)
depends_on = ("1201_api_access_log", "0005_occupancy")


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE federation_keys (
        kid text PRIMARY KEY,
        private_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
    );
    CREATE UNIQUE INDEX federation_keys_one_current ON federation_keys ((true))
        WHERE retired_at IS NULL;

    CREATE TABLE federation_peers (
        domain text PRIMARY KEY CHECK (domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
        base_url text NOT NULL CHECK (base_url ~ '^https?://'),
        fingerprints text[] NOT NULL CHECK (cardinality(fingerprints) > 0),
        territories text[] NOT NULL DEFAULT '{}',
        levels text[] NOT NULL DEFAULT '{}',
        buckets text[] NOT NULL DEFAULT '{}',
        series boolean NOT NULL DEFAULT false,
        reshare boolean NOT NULL DEFAULT false,
        rate_limit_per_minute integer NOT NULL DEFAULT 120
            CHECK (rate_limit_per_minute > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    );

    CREATE TABLE federation_nonces (
        keyid text NOT NULL,
        nonce text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (keyid, nonce)
    );
    CREATE INDEX federation_nonces_expiry ON federation_nonces (expires_at);

    CREATE TABLE federation_subscriptions (
        subscription_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        peer_domain text NOT NULL REFERENCES federation_peers ON DELETE CASCADE,
        callback_url text NOT NULL CHECK (callback_url ~ '^https?://'),
        urns text[] NOT NULL CHECK (cardinality(urns) > 0),
        cursor timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        failing_since timestamptz,
        expired_at timestamptz
    );
    CREATE INDEX federation_subscriptions_due ON federation_subscriptions
        (next_attempt_at) WHERE expired_at IS NULL;

    CREATE TABLE federation_peer_rollups (
        peer_domain text NOT NULL,
        urn text NOT NULL,
        bucket text NOT NULL,
        bucket_start timestamptz NOT NULL,
        value double precision NOT NULL,
        unit text NOT NULL,
        delivery_points integer,
        max_share double precision,
        keyid text NOT NULL,
        signature text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        reshare_to text[] NOT NULL DEFAULT '{}',
        PRIMARY KEY (peer_domain, urn, bucket, bucket_start)
    );

    CREATE TABLE federation_received (
        peer_domain text NOT NULL,
        idempotency_key text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (peer_domain, idempotency_key)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE federation_received, federation_peer_rollups,
        federation_subscriptions, federation_nonces, federation_peers, federation_keys
    """)
