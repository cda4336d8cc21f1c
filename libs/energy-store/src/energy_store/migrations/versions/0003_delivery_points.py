"""Delivery points vs measuring devices: a device row names the delivery point it measures.

Revision ID: 0003_delivery_points
Revises: 0002_read_models
Create Date: 2026-12-03

A delivery point (PRM, PCE) is the unit of energy sums and of the statistical-secrecy
rule; a measuring device (a Flukso sensor today, P1/TIC readers later) measures one
delivery point and must never count as a second one. ``meters.delivery_point_id`` is
NULL on delivery-point rows (a PRM or PCE is its own point) and names the PRM or PCE on
device rows. Existing devices are attached to the only electricity PRM of their
building when there is exactly one (every demo house); others stay unattached and an
operator attaches them.
"""

from alembic import op

revision = "0003_delivery_points"
down_revision = "0002_read_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    ALTER TABLE meters
        ADD COLUMN delivery_point_id text REFERENCES meters ON DELETE SET NULL,
        ADD CONSTRAINT meters_delivery_point_only_on_devices
            CHECK (delivery_point_id IS NULL OR scheme NOT IN ('prm', 'pce'));
    CREATE INDEX meters_delivery_point ON meters (delivery_point_id)
        WHERE delivery_point_id IS NOT NULL;

    UPDATE meters AS device SET delivery_point_id = point.meter_id
    FROM meters AS point
    WHERE device.scheme NOT IN ('prm', 'pce')
      AND point.scheme = 'prm'
      AND point.energy = 'electricity'
      AND point.building_id = device.building_id
      AND (SELECT count(*) FROM meters AS other
           WHERE other.scheme = 'prm' AND other.energy = 'electricity'
             AND other.building_id = device.building_id) = 1;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX meters_delivery_point;
    ALTER TABLE meters DROP CONSTRAINT meters_delivery_point_only_on_devices,
        DROP COLUMN delivery_point_id;
    """)
