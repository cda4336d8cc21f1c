"""api: webhook deliveries that survive a crash (payload kept, lease, next attempt).

Revision ID: 1302_api_webhooks_hardening
Revises: 1301_api_keys_hardening
Create Date: 2026-12-03

A delivery is ``pending`` while it is owed. The process sending it holds a lease
(``lease_until``); if the process dies, the lease runs out and any api process
takes the delivery over at ``next_attempt_at`` (exponential backoff), with the
exact body it first signed. The body is dropped once the delivery is settled
(delivered or failed). Pending rows from before this revision kept no body: they
cannot be resent and are marked failed.
"""

from alembic import op

revision = "1302_api_webhooks_hardening"
down_revision = "1301_api_keys_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    ALTER TABLE api_webhook_deliveries
        ADD COLUMN payload text,
        ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN lease_until timestamptz;
    UPDATE api_webhook_deliveries
        SET status = 'failed', last_error = 'no body kept to resend (before 1302)'
        WHERE status = 'pending';
    ALTER TABLE api_webhook_deliveries
        ADD CONSTRAINT api_webhook_deliveries_payload_check
            CHECK (status <> 'pending' OR payload IS NOT NULL);
    CREATE INDEX api_webhook_deliveries_due
        ON api_webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    """)


def downgrade() -> None:
    op.execute(r"""
    DROP INDEX api_webhook_deliveries_due;
    ALTER TABLE api_webhook_deliveries
        DROP CONSTRAINT api_webhook_deliveries_payload_check,
        DROP COLUMN lease_until,
        DROP COLUMN next_attempt_at,
        DROP COLUMN payload;
    """)
