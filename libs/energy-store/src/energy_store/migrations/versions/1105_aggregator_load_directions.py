"""Live load samples count the delivery points reporting in each direction.

Revision ID: 1105_aggregator_load_directions
Revises: 1103_aggregator_dead_letters
Create Date: 2026-12-03

``meters_reporting`` counts delivery points reporting in any direction, so the
secrecy rule of a live load had to assume that every producer of the IRIS might
be among them without adding to the consumption: with most Flukso houses of the
demo's Ouest Nord carrying a PV sensor (11 of 16), 16 - 11 = 5 points was below
the threshold and the live consumption was hidden although 16 homes made it. The
aggregator now also writes how many points have a fresh *consumption* device and
how many a fresh *production* device; the api judges each direction on its own
count. Nullable: samples written before this revision keep the old bound.
"""

from alembic import op

revision = "1105_aggregator_load_directions"
down_revision = "1103_aggregator_dead_letters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
    ALTER TABLE neighbourhood_load
        ADD COLUMN consumers_reporting integer,
        ADD COLUMN producers_reporting integer;
    COMMENT ON COLUMN neighbourhood_load.consumers_reporting IS
        'delivery points with a fresh consumption device in this sample';
    COMMENT ON COLUMN neighbourhood_load.producers_reporting IS
        'delivery points with a fresh production device in this sample';
    """
    )


def downgrade() -> None:
    op.execute(
        """
    ALTER TABLE neighbourhood_load
        DROP COLUMN consumers_reporting,
        DROP COLUMN producers_reporting;
    """
    )
