"""Alerts delivered at least once: a transactional outbox of alert events.

Revision ID: 1102_alerts_outbox
Revises: 1101_aggregator_delivery_points
Create Date: 2026-12-03

The congestion detector writes an alert change (``alerts``, ``alert_events``) and
its serialised ``AlertEvent`` here in ONE transaction; a relay publishes pending
rows to ``grid.alerts.changed.v1`` and marks them published only after the broker
acknowledged them. A crash between the commit and the publication leaves the row
pending: the next relay (the same leader, or the next one) publishes it. Consumers
may see an event twice; ``(alert_id, occurred_at, change)`` identifies it.
"""

from alembic import op

revision = "1102_alerts_outbox"
down_revision = "1101_aggregator_delivery_points"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE alerts_outbox (
        id bigserial PRIMARY KEY,
        iris text NOT NULL,
        payload bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    );
    CREATE INDEX alerts_outbox_pending ON alerts_outbox (id)
        WHERE published_at IS NULL;
    """)


def downgrade() -> None:
    op.execute("DROP TABLE alerts_outbox")
