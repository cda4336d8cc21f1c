"""Aggregator state: per-meter bucket values, last instantaneous power, self-consumption.

Revision ID: 1001_aggregator
Revises: 0002_read_models
Create Date: 2026-11-23

``aggregator_point_buckets`` holds, per meter and local bucket, the sum of the
STORED interval values (maintained from the reading store's old/new values in the
same transaction), so rollups are recomputed set-wise from stored values and never
count a delivery twice. ``aggregator_meter_power`` is the last known instantaneous
power per meter (shared by every worker; one row per meter, not a history).
``neighbourhood_self_consumption`` is a view over the neighbourhood rollups.
"""

from alembic import op

revision = "1001_aggregator"
down_revision = "0002_read_models"
branch_labels = ("aggregator",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE aggregator_point_buckets (
        meter_id text NOT NULL,
        bucket text NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_end timestamptz NOT NULL,
        energy text NOT NULL,
        direction text NOT NULL,
        quality text NOT NULL,
        unit text NOT NULL,
        building_id text,
        parcel_idu text,
        iris text,
        commune_insee text,
        value double precision NOT NULL,
        readings integer NOT NULL,
        PRIMARY KEY (meter_id, bucket, bucket_start, energy, direction, quality, unit)
    );
    CREATE INDEX aggregator_pb_building
        ON aggregator_point_buckets (building_id, bucket, bucket_start);
    CREATE INDEX aggregator_pb_parcel
        ON aggregator_point_buckets (parcel_idu, bucket, bucket_start);
    CREATE INDEX aggregator_pb_iris
        ON aggregator_point_buckets (iris, bucket, bucket_start);
    CREATE INDEX aggregator_pb_commune
        ON aggregator_point_buckets (commune_insee, bucket, bucket_start);

    CREATE TABLE aggregator_meter_power (
        meter_id text PRIMARY KEY,
        iris text,
        direction text NOT NULL,
        power_w double precision NOT NULL,
        measured_at timestamptz NOT NULL
    );
    CREATE INDEX aggregator_mp_iris ON aggregator_meter_power (iris);

    -- Collective self-consumption per neighbourhood and bucket (raw + corrected +
    -- estimated electricity): production consumed locally is min(production,
    -- consumption); the rest of production is exported. delivery_points = the
    -- smaller of the two sides' counts is NOT a secrecy count: egress should use
    -- the consumption and production point counts given here.
    CREATE VIEW neighbourhood_self_consumption AS
    WITH sides AS (
        SELECT scope_id AS iris, bucket, bucket_start, bucket_end,
               sum(value) FILTER (WHERE direction = 'consumption') AS consumption_wh,
               sum(value) FILTER (WHERE direction = 'production') AS production_wh,
               max(delivery_points) FILTER (WHERE direction = 'consumption')
                   AS consumption_points,
               max(delivery_points) FILTER (WHERE direction = 'production')
                   AS production_points
        FROM rollups
        WHERE scope = 'neighbourhood' AND energy = 'electricity' AND unit = 'Wh'
        GROUP BY scope_id, bucket, bucket_start, bucket_end
    )
    SELECT iris, bucket, bucket_start, bucket_end,
           coalesce(consumption_wh, 0) AS consumption_wh,
           coalesce(production_wh, 0) AS production_wh,
           least(coalesce(production_wh, 0), coalesce(consumption_wh, 0))
               AS self_consumed_wh,
           greatest(coalesce(production_wh, 0) - coalesce(consumption_wh, 0), 0)
               AS exported_wh,
           coalesce(consumption_points, 0) AS consumption_points,
           coalesce(production_points, 0) AS production_points
    FROM sides;
    """)


def downgrade() -> None:
    op.execute("""
    DROP VIEW neighbourhood_self_consumption;
    DROP TABLE aggregator_meter_power, aggregator_point_buckets;
    """)
