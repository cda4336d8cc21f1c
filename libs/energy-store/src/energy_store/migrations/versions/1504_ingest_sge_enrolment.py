"""SGE sites registered by a property manager or a city: the enrolment requests
the api writes and ingest-sge claims.

Revision ID: 1504_ingest_sge_enrolment
Revises: 1501_ingest_sge
Create Date: 2026-12-03

Why a table and not a Kafka command topic: the api and ingest-sge already share
the consent registry through tables; a registration is a consent (the customer's
authorisation, ``enedis-sge-collection``) plus a request, written in ONE
transaction by the api, and the manager's list of sites must show the request's
state (requested, active, refused…) at any time. A topic would need a second
store for that state and could not be written atomically with the consent. The
worker claims rows with ``FOR UPDATE SKIP LOCKED`` (several replicas never take
the same row) and a lease (``claimed_at``): a worker that died mid-enrolment
leaves its rows to the next one.

``sge_sites`` (one row per registered PRM and registrant):

- ``person_id`` registered it (the manager's or city's person), ``consent_id`` is
  the authorisation recorded for it (pending until the worker verifies it: the
  point is held by no one else, the occupancy opens; SGE's refusal revokes it).
  A point someone else holds is refused at registration, with no consent;
- the authorisation as declared (``autorisationClient``/``accord``): who
  authorised (``authorised_by``, a legal or natural person), the proof's
  reference (the signed mandate the registrant keeps); scope and period are the
  consent's own columns;
- ``state``: requested -> enrolling -> active | refused | failed (retried at
  ``next_attempt_at``); a withdrawal: -> withdrawing (the subscription is to be
  stopped) -> withdrawn. ``reason`` says why (an SGE code, ``held_by_another``…);
  ``service_id`` is SGE's subscribed service (what a stop needs).

At most one live row (not refused nor withdrawn) per registrant and PRM.

Occupancies gain the source ``sge-authorisation``: the registrant "holds" the
point from the declared start of its history, so ``meter_access()`` — the one
rule of individual reads — serves its readings to the registrant and to no one
else, and the exclusion constraint refuses a point someone else holds.
"""

from alembic import op

from energy_store.check_values import rewrite_in_check

revision = "1504_ingest_sge_enrolment"
down_revision = "1501_ingest_sge"
branch_labels = None
depends_on = "0005_occupancy"


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE sge_sites (
        site_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        meter_id text NOT NULL REFERENCES meters ON DELETE CASCADE,
        -- NULL only for a site refused at registration (held by someone else):
        -- no consent is written on a point another person holds
        consent_id uuid REFERENCES consents ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
        authorised_by text NOT NULL
            CHECK (length(authorised_by) BETWEEN 1 AND 120),
        authoriser_kind text NOT NULL
            CHECK (authoriser_kind IN ('legal', 'natural')),
        proof_reference text NOT NULL
            CHECK (length(proof_reference) BETWEEN 1 AND 200),
        state text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested',
            'enrolling', 'active', 'refused', 'failed', 'withdrawing', 'withdrawn')),
        reason text CHECK (reason IS NULL OR length(reason) <= 200),
        service_id text,
        attempts integer NOT NULL DEFAULT 0,
        readings bigint NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        claimed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (consent_id IS NOT NULL OR state = 'refused')
    );
    CREATE UNIQUE INDEX sge_sites_one_live ON sge_sites (person_id, meter_id)
        WHERE state NOT IN ('refused', 'withdrawn');
    CREATE INDEX sge_sites_person ON sge_sites (person_id, created_at);
    CREATE INDEX sge_sites_todo ON sge_sites (next_attempt_at)
        WHERE state IN ('requested', 'enrolling', 'failed', 'withdrawing');

    """)
    _sources(add="sge-authorisation")


def downgrade() -> None:
    op.execute("""
    DROP TABLE sge_sites;
    DELETE FROM occupancies WHERE source = 'sge-authorisation';
    """)
    _sources(remove="sge-authorisation")


def _sources(*, add: str | None = None, remove: str | None = None) -> None:
    """The occupancies' source CHECK from its current values plus or minus ours
    (another branch widens the same CHECK; see :mod:`energy_store.check_values`)."""
    op.execute(
        rewrite_in_check(
            "occupancies", "source", "occupancies_source_check", add=add, remove=remove
        )
    )
