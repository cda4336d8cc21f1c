"""Each collector's quota use and backlog, where the operator page can read them.

Revision ID: 1005_ingest_status
Revises: 0005_occupancy
Create Date: 2026-12-03

Quota use and backlog lived only in each service's Prometheus metrics; the api
reads PostgreSQL. A collector writes ONE row per (source, process, Paris day) every
few seconds (``energy_store.ingest_status.StatusReporter``), never per call: the
upstream calls it made today, its current rate, the calls of its hour window when
an hourly quota binds (Enedis Q4), the caps it enforces and what is still to
collect. A row per process (not per source) so that a restart or a second
replica adds its calls instead of overwriting the first's; the page sums today's
rows and takes the rate and backlog of the rows still being refreshed.

Its own branch label: the runner upgrades to ``heads``.
"""

from alembic import op

revision = "1005_ingest_status"
down_revision = "0005_occupancy"
branch_labels = ("ingest_status",)
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE ingest_status (
        source text NOT NULL,
        instance text NOT NULL,
        day date NOT NULL,
        calls_today integer NOT NULL CHECK (calls_today >= 0),
        rate_per_s double precision NOT NULL CHECK (rate_per_s >= 0),
        cap_per_s double precision,
        cap_per_hour integer,
        cap_per_day integer,
        calls_last_hour integer,
        backlog double precision,
        backlog_unit text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (source, day, instance)
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE ingest_status")
