"""Aggregator state per DELIVERY POINT, with a source precedence; live power per direction.

Revision ID: 1101_aggregator_delivery_points
Revises: 1001_aggregator
Create Date: 2026-12-03

A delivery point (PRM, PCE) is the unit of sums and of the secrecy rule; a measuring
device (a Flukso sensor, ``meters.delivery_point_id`` set by ``0003_delivery_points``)
feeds the point it measures. Per point, bucket and direction the rollups take ONE
source: the point's own settled utility series when it has any reading there, else
its devices' real-time readings. Device-sourced values are kept in a fourth quality
slot, ``device`` (index 3, lowest), so a rollup row's quality says which source fed
it.

* ``aggregator_meter_days`` / ``_months``: ``meter_id`` becomes ``point_id`` (one row
  per delivery point, direction, unit and period) and gains ``ev3/en3/sv3/sn3`` (the
  device slot; devices only ever feed the finer part ``sv3/sn3``).
* ``rollups.quality`` accepts ``device``.
* ``aggregator_meter_power``: one row per meter AND direction (a device measuring
  both directions keeps both), with the point it counts for (``point_id``, NULL for
  an unattached device).
* ``neighbourhood_load.meters_reporting``/``meters_stale`` now count delivery points
  (names kept: they are the api's public field names).

Rows written before this revision were keyed per meter, sensors included: they are
emptied here, and ``python -m aggregator rebuild`` recomputes every rollup from the
stored readings under the new rule (see the aggregator README, "Upgrading").
"""

from alembic import op

revision = "1101_aggregator_delivery_points"
down_revision = "1001_aggregator"
branch_labels = None
depends_on = "0003_delivery_points"

_TABLES = ("aggregator_meter_days", "aggregator_meter_months")


def upgrade() -> None:
    for table in _TABLES:
        op.execute(f"""
        TRUNCATE {table};
        ALTER TABLE {table} RENAME COLUMN meter_id TO point_id;
        ALTER TABLE {table}
            ADD COLUMN ev3 double precision NOT NULL DEFAULT 0,
            ADD COLUMN en3 integer NOT NULL DEFAULT 0,
            ADD COLUMN sv3 double precision NOT NULL DEFAULT 0,
            ADD COLUMN sn3 integer NOT NULL DEFAULT 0;
        """)
    op.execute(r"""
    TRUNCATE rollups;
    ALTER TABLE rollups DROP CONSTRAINT rollups_quality_check;
    ALTER TABLE rollups ADD CONSTRAINT rollups_quality_check
        CHECK (quality IN ('device', 'estimated', 'raw', 'corrected'));
    COMMENT ON COLUMN rollups.quality IS
        'estimated/raw/corrected: settled utility data of the points; device: '
        'real-time device data of points with no settled data in the bucket';

    TRUNCATE aggregator_meter_power;
    ALTER TABLE aggregator_meter_power DROP CONSTRAINT aggregator_meter_power_pkey,
        ADD COLUMN point_id text,
        ADD PRIMARY KEY (meter_id, direction);

    COMMENT ON COLUMN neighbourhood_load.meters_reporting IS
        'delivery points with a fresh live power (devices of one point count once)';
    COMMENT ON COLUMN neighbourhood_load.meters_stale IS
        'delivery points whose every live power is stale';
    """)


def downgrade() -> None:
    op.execute(r"""
    COMMENT ON COLUMN neighbourhood_load.meters_reporting IS NULL;
    COMMENT ON COLUMN neighbourhood_load.meters_stale IS NULL;
    TRUNCATE aggregator_meter_power;
    ALTER TABLE aggregator_meter_power DROP CONSTRAINT aggregator_meter_power_pkey,
        DROP COLUMN point_id, ADD PRIMARY KEY (meter_id);
    TRUNCATE rollups;
    COMMENT ON COLUMN rollups.quality IS NULL;
    ALTER TABLE rollups DROP CONSTRAINT rollups_quality_check;
    ALTER TABLE rollups ADD CONSTRAINT rollups_quality_check
        CHECK (quality IN ('estimated', 'raw', 'corrected'));
    """)
    for table in _TABLES:
        op.execute(f"""
        TRUNCATE {table};
        ALTER TABLE {table} DROP COLUMN ev3, DROP COLUMN en3, DROP COLUMN sv3,
            DROP COLUMN sn3;
        ALTER TABLE {table} RENAME COLUMN point_id TO meter_id;
        """)
