"""ingest-enedis own tables: per-PRM cursors, holes, contracts/addresses.

Revision ID: 1004_ingest_enedis
Revises: 0002_read_models
Create Date: 2026-11-23

Only ingest-enedis writes these tables. ``enedis_cursors.fetched_until`` is the
exclusive end of what was asked and either acknowledged by Kafka or recorded in
``enedis_holes``; a restart resumes from it, so only a window in flight at a crash
is asked twice and nothing missing is skipped silently. ``history_from`` is the
first day that exists for the collector (history depth, activation date, consent
start); days before it are not holes.
"""

from alembic import op

revision = "1004_ingest_enedis"
down_revision = "0002_read_models"
branch_labels = ("ingest_enedis",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE enedis_cursors (
        meter_id text NOT NULL CHECK (meter_id ~ '^\d{14}$'),
        stream text NOT NULL CHECK (stream IN ('dc', 'clc', 'dcmp', 'dp', 'plc')),
        history_from date NOT NULL,
        fetched_until date NOT NULL,
        stopped_reason text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (meter_id, stream),
        CHECK (fetched_until >= history_from)
    );

    -- A local day asked but not delivered: asked again later, never dropped.
    CREATE TABLE enedis_holes (
        meter_id text NOT NULL,
        stream text NOT NULL,
        day date NOT NULL,
        reason text NOT NULL,
        attempts integer NOT NULL DEFAULT 1,
        next_attempt_at timestamptz NOT NULL,
        resolved_at timestamptz,
        PRIMARY KEY (meter_id, stream, day)
    );
    CREATE INDEX enedis_holes_due ON enedis_holes (next_attempt_at)
        WHERE resolved_at IS NULL;

    -- Contract and address from customers v5; placed = attached to a building.
    CREATE TABLE enedis_usage_points (
        meter_id text PRIMARY KEY REFERENCES meters ON DELETE CASCADE,
        subscribed_power_kva double precision,
        distribution_tariff text,
        offpeak_hours text,
        contract_status text,
        last_activation_date date,
        insee_code text,
        latitude double precision,
        longitude double precision,
        contract jsonb,
        address jsonb,
        placement text NOT NULL DEFAULT 'unplaced'
            CHECK (placement IN ('placed', 'unplaced', 'unknown_commune')),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE enedis_usage_points, enedis_holes, enedis_cursors")
