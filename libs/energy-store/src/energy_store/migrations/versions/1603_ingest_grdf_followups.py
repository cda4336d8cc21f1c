"""ingest-grdf: a dashboard request that met a transient failure waits its turn.

Revision ID: 1603_ingest_grdf_followups
Revises: 1602_ingest_grdf_requests
Create Date: 2026-12-03

``grdf_requests.retry_at``: a declaration, revocation or proof upload that met
ADICT down (5xx, maintenance 503, a timeout) or the day's cap spent goes back to
``queued`` with the instant it may be tried again (a backoff growing with
``attempts``, or GRDF's own ``Retry-After``), instead of staying ``claimed``
until it looks stale; the person sees when it will be tried again. A permanent
refusal is still ``failed`` at once.
"""

from alembic import op

revision = "1603_ingest_grdf_followups"
down_revision = "1602_ingest_grdf_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE grdf_requests ADD COLUMN retry_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE grdf_requests DROP COLUMN retry_at")
