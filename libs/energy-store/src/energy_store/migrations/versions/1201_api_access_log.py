"""api: the access log — who read a resident's individual data, when, how, under what.

Revision ID: 1201_api_access_log
Revises: 1002_api
Create Date: 2026-12-03

One row per granted read of individual data (a resident's own meter, a meter
shared with them, later an operator, a city key or a federation peer): the actor
(an account or an API key, never both), the route template (never the path: it
holds the meter id), the delivery point read and the consent that allowed it.
``subject_person_id`` is whose data it was (the consent's holder); it cascades, so
erasing a person erases what the log says about them. An actor's account or key
that goes away leaves the row (the owner keeps the fact that someone read their
data) with the actor unknown.
"""

from alembic import op

revision = "1201_api_access_log"
down_revision = "1002_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE api_access_log (
        access_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_kind text NOT NULL
            CHECK (actor_kind IN ('resident', 'operator', 'city', 'peer')),
        actor_account_id uuid REFERENCES api_accounts ON DELETE SET NULL,
        actor_key_id uuid REFERENCES api_keys ON DELETE SET NULL,
        subject_person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        meter_id text NOT NULL,
        consent_id uuid REFERENCES consents ON DELETE SET NULL,
        method text NOT NULL,
        route text NOT NULL,
        CHECK (actor_account_id IS NULL OR actor_key_id IS NULL)
    );
    CREATE INDEX api_access_log_subject ON api_access_log (subject_person_id, at DESC);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE api_access_log")
