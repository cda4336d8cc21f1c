"""ingest-sge: attempts at flux files found incomplete; C68 technical data.

Revision ID: 1503_ingest_sge_flux
Revises: 1501_ingest_sge
Create Date: 2026-12-03

A file whose size differs from the listing, whose ZIP has no end, or that a key
opens but whose end is missing is asked again at the next poll — but not
forever: each such poll is counted here per (name, size), and once the count
reaches the setting the file is given up (``given_up_at`` set, the reason kept,
a letter on the dead-letter topic). A given-up (name, size) is never asked
again; the same name with another size is another version of the file and is
tried afresh.

``sge_technical_data`` keeps, per PRM, the last technical and contractual data a
C68 (result of an M023 ITC order) gave: segment, contractual state, tariff
(FTA), voltage domain, subscribed power. No personal data (no name, no
address). Only ingest-sge writes both tables.
"""

from alembic import op

revision = "1503_ingest_sge_flux"
down_revision = "1501_ingest_sge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE sge_flux_attempts (
        name text NOT NULL,
        size bigint NOT NULL CHECK (size >= 0),
        attempts integer NOT NULL CHECK (attempts > 0),
        reason text NOT NULL DEFAULT '',
        first_at timestamptz NOT NULL DEFAULT now(),
        last_at timestamptz NOT NULL DEFAULT now(),
        given_up_at timestamptz,
        PRIMARY KEY (name, size)
    );
    CREATE TABLE sge_technical_data (
        prm text PRIMARY KEY CHECK (prm ~ '^[0-9]{14}$'),
        segment text NOT NULL DEFAULT '',
        contract_state text NOT NULL DEFAULT '',
        tariff text NOT NULL DEFAULT '',
        voltage text NOT NULL DEFAULT '',
        subscribed_kva double precision CHECK (subscribed_kva >= 0),
        source_file text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE sge_technical_data; DROP TABLE sge_flux_attempts")
