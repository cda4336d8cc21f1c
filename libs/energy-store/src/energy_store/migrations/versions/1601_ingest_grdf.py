"""ingest-grdf own tables: one row per PCE's GRDF access right and its cursors.

Revision ID: 1601_ingest_grdf
Revises: 0002_read_models
Create Date: 2026-12-03

Only ingest-grdf writes this table. ``state`` mirrors GRDF's access-right state
in SEN1's words (pending, active, revoked, expired, refused); data is asked only
while it is ``active``. ``injection`` marks a biomethane injection point (its data window is the
right's ``perim_donnees_inj_*``). ``informatives_until``/``published_until`` are exclusive
gas days up to which the history was asked and acknowledged by Kafka: a restart
resumes the backfill from them. The contract columns are the last
``donnees_contractuelles``/``techniques`` read (tariff option, CAR, profile,
reading frequency) and the latest daily conversion coefficient.
"""

from alembic import op

revision = "1601_ingest_grdf"
down_revision = "0002_read_models"
branch_labels = ("ingest_grdf",)
depends_on = ("0004_consent_verification",)
"""ingest-grdf decides consents (verification states) from GRDF's answers."""


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE grdf_rights (
        meter_id text PRIMARY KEY CHECK (meter_id ~ '^(\d{14}|GI\d{6})$'),
        right_id text NOT NULL,
        state text NOT NULL
            CHECK (state IN ('pending', 'active', 'revoked', 'expired', 'refused')),
        right_start date NOT NULL,
        right_end date NOT NULL,
        injection boolean NOT NULL DEFAULT false,
        data_from date,
        data_until date,
        informatives_until date,
        published_until date,
        tariff_option text,
        car_kwh double precision,
        profile text,
        frequency text,
        conversion_coefficient double precision,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX grdf_rights_active ON grdf_rights (meter_id) WHERE state = 'active';
    """)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS grdf_rights")
