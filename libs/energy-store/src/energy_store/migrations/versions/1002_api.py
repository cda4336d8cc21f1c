"""api: accounts, sessions, API keys, meter shares, dated tariffs and CO2 factors, webhooks.

Revision ID: 1002_api
Revises: 0002_read_models
Create Date: 2026-11-23

Secrets are never stored in clear: passwords as argon2 hashes, session tokens and
API keys as SHA-256 digests (they are long random values), webhook secrets sealed
with SecretBox (Fernet, key from SEN1_SECRET_KEY). Prices and factors are dated
data (valid_from inclusive, valid_to exclusive, local Paris days) so a price change
never re-prices history.
"""

from alembic import op

revision = "1002_api"
down_revision = "0002_read_models"
branch_labels = ("api",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE api_accounts (
        account_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL UNIQUE CHECK (position('@' in email) > 1),
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('resident', 'operator')),
        person_id uuid REFERENCES people ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (role = 'operator' OR person_id IS NOT NULL)
    );

    CREATE TABLE api_sessions (
        token_sha256 text PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES api_accounts ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
    );
    CREATE INDEX api_sessions_expiry ON api_sessions (expires_at);

    -- City dashboards: a key scoped to a commune or one IRIS; aggregates only.
    CREATE TABLE api_keys (
        key_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        key_sha256 text NOT NULL UNIQUE,
        label text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('commune', 'neighbourhood')),
        scope_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    );

    -- A resident shares one of their meters, read-only, with another person.
    CREATE TABLE api_meter_shares (
        owner_person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        grantee_person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        meter_id text NOT NULL REFERENCES meters ON DELETE CASCADE,
        starts_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        PRIMARY KEY (owner_person_id, grantee_person_id, meter_id),
        CHECK (expires_at > starts_at)
    );

    -- The supply contract of a meter: tariff option, subscribed power, off-peak hours
    -- (local Paris wall-clock ranges, e.g. {"22:00-06:00"} or {"01:30-07:30","12:30-14:30"}).
    CREATE TABLE api_meter_contracts (
        meter_id text PRIMARY KEY REFERENCES meters ON DELETE CASCADE,
        option text NOT NULL CHECK (option IN ('base', 'hphc', 'tempo')),
        kva integer NOT NULL CHECK (kva BETWEEN 3 AND 36),
        offpeak text[] NOT NULL DEFAULT '{}'
    );

    -- Regulated prices (TTC). prices: {"base": x} | {"hp": x, "hc": y} |
    -- {"blue_hp", "blue_hc", "white_hp", "white_hc", "red_hp", "red_hc"} in EUR/kWh.
    CREATE TABLE api_tariffs (
        option text NOT NULL CHECK (option IN ('base', 'hphc', 'tempo')),
        kva integer NOT NULL CHECK (kva BETWEEN 3 AND 36),
        valid_from date NOT NULL,
        valid_to date,
        standing_eur_month double precision NOT NULL CHECK (standing_eur_month >= 0),
        prices jsonb NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (option, kva, valid_from),
        CHECK (valid_to IS NULL OR valid_to > valid_from)
    );

    -- Tempo day colours; a Tempo day runs 06:00 -> 06:00 local time.
    CREATE TABLE api_tempo_days (
        day date PRIMARY KEY,
        colour text NOT NULL CHECK (colour IN ('blue', 'white', 'red'))
    );

    CREATE TABLE api_co2_factors (
        energy text NOT NULL CHECK (energy IN ('electricity', 'gas')),
        valid_from date NOT NULL,
        valid_to date,
        kg_per_kwh double precision NOT NULL CHECK (kg_per_kwh >= 0),
        method text NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (energy, valid_from),
        CHECK (valid_to IS NULL OR valid_to > valid_from)
    );

    -- Webhooks of the neighbourhood alert system; deliveries signed with HMAC-SHA256.
    CREATE TABLE api_webhooks (
        webhook_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL REFERENCES api_accounts ON DELETE CASCADE,
        url text NOT NULL CHECK (url ~ '^https?://'),
        iris text REFERENCES neighbourhoods,
        secret_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        active boolean NOT NULL DEFAULT true
    );

    CREATE TABLE api_webhook_deliveries (
        webhook_id uuid NOT NULL REFERENCES api_webhooks ON DELETE CASCADE,
        event_key text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (webhook_id, event_key)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE api_webhook_deliveries, api_webhooks, api_co2_factors, api_tempo_days,
        api_tariffs, api_meter_contracts, api_meter_shares, api_keys, api_sessions,
        api_accounts
    """)
