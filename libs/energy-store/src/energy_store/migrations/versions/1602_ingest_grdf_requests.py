"""ingest-grdf: declarations asked from the dashboard, proofs, the shared quota.

Revision ID: 1602_ingest_grdf_requests
Revises: 1601_ingest_grdf
Create Date: 2026-12-03

* ``grdf_requests``: what a resident or a property manager asked from the
  dashboard (declare a right, revoke it, send proofs). The api writes a row;
  ingest-grdf claims it (``FOR UPDATE SKIP LOCKED``, so two workers never run
  one request twice), calls ADICT and writes the outcome back (``done`` or
  ``failed`` with GRDF's code and message). A table rather than a command topic:
  the request must outlive a restart of either side, its answer must reach the
  person who asked (a reply path a topic does not have), and PostgreSQL is
  already shared by both; only ingest-grdf holds ADICT's credentials and quota.
  Proof files live in ``grdf_request_files`` and are deleted once sent.
* ``grdf_quota``: ADICT's quotas belong to the application (1 call/s and a daily
  cap), so every worker of every process takes its slot from one row per Paris
  day: the count of the day and the instant of the next free slot.
* ``grdf_rights.proof_status``/``proof_deadline``: GRDF's
  ``statut_controle_preuve`` and ``date_limite_transmission_preuve``.
* ``occupancies.source`` may be ``grdf-right`` (added to the CHECK's current
  values, as ingest-sge's branch adds ``sge-authorisation``): the holder accepting a right
  declared by a person opens that person's occupancy of the PCE from the data
  window's start (the holder approved that window with GRDF).
"""

from alembic import op

from energy_store.check_values import rewrite_in_check

revision = "1602_ingest_grdf_requests"
down_revision = "1601_ingest_grdf"
branch_labels = None
depends_on = ("0005_occupancy",)


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE grdf_requests (
        request_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('declare', 'revoke', 'proofs')),
        meter_id text NOT NULL CHECK (meter_id ~ '^(\d{14}|GI\d{6})$'),
        person_id uuid REFERENCES people ON DELETE CASCADE,
        consent_id uuid REFERENCES consents ON DELETE SET NULL,
        holder jsonb,
        scopes jsonb,
        data_from date,
        data_until date,
        right_end date,
        status text NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'claimed', 'done', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        error_code text,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        claimed_at timestamptz,
        done_at timestamptz
    );
    CREATE INDEX grdf_requests_queued ON grdf_requests (created_at)
        WHERE status IN ('queued', 'claimed');
    CREATE INDEX grdf_requests_person ON grdf_requests (person_id, meter_id);

    CREATE TABLE grdf_request_files (
        request_id uuid NOT NULL REFERENCES grdf_requests ON DELETE CASCADE,
        position integer NOT NULL,
        filename text NOT NULL,
        content_type text NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (request_id, position)
    );

    CREATE TABLE grdf_quota (
        day date PRIMARY KEY,
        used integer NOT NULL,
        next_at timestamptz NOT NULL
    );

    ALTER TABLE grdf_rights ADD COLUMN proof_status text,
                            ADD COLUMN proof_deadline date;
    """)
    _sources(add="grdf-right")


def downgrade() -> None:
    op.execute(r"""
    DELETE FROM occupancies WHERE source = 'grdf-right';
    ALTER TABLE grdf_rights DROP COLUMN proof_status, DROP COLUMN proof_deadline;
    DROP TABLE grdf_quota, grdf_request_files, grdf_requests;
    """)
    _sources(remove="grdf-right")


def _sources(*, add: str | None = None, remove: str | None = None) -> None:
    """The occupancies' source CHECK from its current values plus or minus ours
    (another branch widens the same CHECK; see :mod:`energy_store.check_values`)."""
    op.execute(
        rewrite_in_check(
            "occupancies", "source", "occupancies_source_check", add=add, remove=remove
        )
    )
