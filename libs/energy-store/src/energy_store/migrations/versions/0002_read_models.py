"""Read models shared by the aggregator (writer) and the api/gateway (readers).

Revision ID: 0002_read_models
Revises: 0001_foundation
Create Date: 2026-11-23

The aggregator owns the contents; the api and the federation gateway only read.
Every rollup row carries ``delivery_points`` and ``max_point_value`` so every egress
can apply the statistical-secrecy rule (>= 10 points, dominance share) itself.
"""

from alembic import op

revision = "0002_read_models"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    -- Buckets are local Europe/Paris periods: [bucket_start, bucket_end) as instants,
    -- so a 23- or 25-hour day is visible as such. bucket is an ISO 8601 duration.
    CREATE TABLE rollups (
        scope text NOT NULL
            CHECK (scope IN ('building', 'parcel', 'neighbourhood', 'commune')),
        scope_id text NOT NULL,
        bucket text NOT NULL CHECK (bucket IN ('PT30M', 'PT1H', 'P1D', 'P1M')),
        bucket_start timestamptz NOT NULL,
        bucket_end timestamptz NOT NULL,
        energy text NOT NULL CHECK (energy IN ('electricity', 'gas')),
        direction text NOT NULL CHECK (direction IN ('consumption', 'production')),
        quality text NOT NULL CHECK (quality IN ('estimated', 'raw', 'corrected')),
        unit text NOT NULL CHECK (unit IN ('Wh', 'm3')),
        value double precision NOT NULL,
        -- No CHECK (>= 0): the aggregator adds signed deltas through INSERT … ON
        -- CONFLICT, whose candidate row is checked before the conflict is found.
        delivery_points integer NOT NULL,
        max_point_value double precision NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, scope_id, bucket, bucket_start, energy, direction,
                     quality, unit),
        CHECK (bucket_end > bucket_start)
    );
    -- The primary key serves every read (scope, id, bucket, period range; PostgreSQL
    -- 18 skip-scans it for "every parcel on one day"); no second index to maintain
    -- on the aggregator's hot path.

    -- Real-time load per neighbourhood (from instantaneous readings), sampled.
    CREATE TABLE neighbourhood_load (
        iris text NOT NULL REFERENCES neighbourhoods,
        at timestamptz NOT NULL,
        consumption_kw double precision NOT NULL,
        production_kw double precision NOT NULL,
        capacity_kw double precision NOT NULL,
        meters_reporting integer NOT NULL,
        meters_stale integer NOT NULL,
        PRIMARY KEY (iris, at)
    );

    -- Congestion alerts (levels: OpenADR 3 SIMPLE 0..3) and their lifecycle.
    CREATE TABLE alerts (
        alert_id uuid PRIMARY KEY,
        iris text NOT NULL REFERENCES neighbourhoods,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
        state text NOT NULL CHECK (state IN ('active', 'cleared')),
        raised_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        cleared_at timestamptz,
        peak_load_kw double precision NOT NULL,
        capacity_kw double precision NOT NULL
    );
    CREATE INDEX alerts_active ON alerts (iris) WHERE state = 'active';

    CREATE TABLE alert_events (
        alert_id uuid NOT NULL REFERENCES alerts,
        occurred_at timestamptz NOT NULL,
        change text NOT NULL
            CHECK (change IN ('raised', 'escalated', 'deescalated', 'cleared')),
        level smallint NOT NULL,
        previous_level smallint NOT NULL,
        load_kw double precision NOT NULL,
        capacity_kw double precision NOT NULL,
        PRIMARY KEY (alert_id, occurred_at, change)
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE alert_events, alerts, neighbourhood_load, rollups")
