"""api: the ledger of residents' rights requests (withdraw, delete, export, erase).

Revision ID: 1202_api_rights
Revises: 1201_api_access_log
Create Date: 2026-12-03

Accountability without identity: each exercised right is recorded with its kind,
time, the consent concerned and how many readings were deleted. ``person_id`` is
set NULL when the person is erased, so the ledger still shows that an erasure
happened (and what it removed) without saying whose it was.
"""

from alembic import op

revision = "1202_api_rights"
down_revision = "1201_api_access_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE api_rights_requests (
        request_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        kind text NOT NULL
            CHECK (kind IN ('withdraw', 'delete_readings', 'export', 'erase')),
        person_id uuid REFERENCES people ON DELETE SET NULL,
        consent_id uuid,
        readings_deleted bigint NOT NULL DEFAULT 0 CHECK (readings_deleted >= 0)
    );
    CREATE INDEX api_rights_requests_person ON api_rights_requests (person_id);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE api_rights_requests")
