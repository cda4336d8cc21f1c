"""Pending aggregator rebuilds: a marker that makes the rebuild after a rule change automatic.

Revision ID: 1801_demo
Revises: 1102_alerts_outbox
Create Date: 2026-12-03

Why: ``1101_aggregator_delivery_points`` empties the rollups (their rule changed)
and the operator had to remember ``python -m aggregator rebuild``; until then the
city saw nothing. A migration that changes a rollup rule now inserts a row here
(``reason`` = its revision); the aggregator, before its workers consume anything,
replays the stored readings once under an advisory lock and deletes the row.

This revision marks the database itself when it holds readings but no rollups (a
database upgraded through ``1101`` whose rebuild was never run). A fresh database
has no readings: no marker.
"""

from alembic import op

revision = "1801_demo"
down_revision = "1102_alerts_outbox"
branch_labels = ("demo",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE aggregator_pending_rebuilds (
        reason       text PRIMARY KEY,
        requested_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE aggregator_pending_rebuilds IS
        'rollup rebuilds the aggregator runs once at start (then deletes the row)';
    INSERT INTO aggregator_pending_rebuilds (reason)
    SELECT '1101_aggregator_delivery_points'
    WHERE EXISTS (SELECT 1 FROM readings) AND NOT EXISTS (SELECT 1 FROM rollups);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE aggregator_pending_rebuilds")
