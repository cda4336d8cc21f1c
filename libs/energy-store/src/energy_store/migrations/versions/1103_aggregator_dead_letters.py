"""Dead letters of every service, counted where the operator page can read them.

Revision ID: 1103_aggregator_dead_letters
Revises: 1102_alerts_outbox
Create Date: 2026-12-03

The aggregator (the service that owns Kafka -> PostgreSQL) consumes the dead-letter
topic into ``dead_letters``: one row per letter, keyed by where it sits in Kafka
(topic, partition, offset), so a replay of the topic after a crash or a reset of the
consumer group inserts nothing twice. One row per letter (not a counter per reason)
because the page counts per window (24 h, 7 days) and a counter cannot be cut by
time afterwards. What is kept: the service that gave up, the reason with any meter
id replaced by its log pseudonym, the exception class, when it happened. The
original bytes are NOT kept (they may be a person's readings); they stay on the
topic for its retention (30 days), which is also how long rows are kept.

Its own branch label: ``1801_demo`` also descends from 1102, and the migration
runner upgrades to ``heads``.
"""

from alembic import op

revision = "1103_aggregator_dead_letters"
down_revision = "1102_alerts_outbox"
branch_labels = ("dead_letters",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE dead_letters (
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        service text NOT NULL,
        reason text NOT NULL,
        error_type text NOT NULL,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, "offset")
    );
    CREATE INDEX dead_letters_by_service ON dead_letters (service, occurred_at);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE dead_letters")
