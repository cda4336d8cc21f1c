"""ingest-sge own table: the ledger of SGE flux files already handled.

Revision ID: 1501_ingest_sge
Revises: 0002_read_models
Create Date: 2026-12-03

Only ingest-sge writes it. A flux file is handled once: keyed by its name and
the SHA-256 of its bytes, so a replayed file changes nothing and a corrected
file republished under the same name is handled again. ``outcome`` says whether
its readings were published (``done``) or the file was dead-lettered (``dead``,
with the reason: a wrong key, a corrupt archive, XML that is not well-formed).
"""

from alembic import op

revision = "1501_ingest_sge"
down_revision = "0002_read_models"
branch_labels = ("ingest_sge",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE sge_flux_files (
        name text NOT NULL,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size >= 0),
        outcome text NOT NULL CHECK (outcome IN ('done', 'dead')),
        key_id text NOT NULL DEFAULT '',
        records integer NOT NULL DEFAULT 0,
        readings bigint NOT NULL DEFAULT 0,
        reason text NOT NULL DEFAULT '',
        handled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, sha256)
    );
    CREATE INDEX sge_flux_files_name_size ON sge_flux_files (name, size);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE sge_flux_files")
