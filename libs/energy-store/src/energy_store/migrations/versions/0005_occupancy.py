"""Occupancies, and the one function that says which readings a person may see.

Revision ID: 0005_occupancy
Revises: 0004_consent_verification
Create Date: 2026-12-03

A delivery point outlives its occupants: the PRM of a flat keeps its history when a
new tenant moves in, and a consent given by the new tenant must not open the
previous tenant's readings. ``occupancies`` says who held a delivery point when:
``[starts_at, ends_at)`` (``ends_at`` NULL while they live there), one occupant at a
time per delivery point (an exclusion constraint; other members of the household
get a share). The start comes from the Data Connect contract (last activation
date, written by ingest-enedis when it verifies the consent), from an operator's
move-in date, or from the demo; existing verified consents get one from their
start (``migration``).

``meter_access(person, at)`` is the only definition of "may read": the meters of
every delivery point the person holds a live *verified* consent on AND occupies,
with the devices attached to it (``meters.delivery_point_id``), each with the
window of readings they may see: the occupancy, cut by the consent's ``data_from``
and its expiry (unless the person withdrew their own consent on that device). A
device attached to no delivery point is readable through a live verified consent on
the device itself (the person registered it). Every query of
the api that exposes individual data joins through it; a reading is shown only if
its whole interval ``[start_ts, end_ts)`` lies inside a window.
"""

from alembic import op

revision = "0005_occupancy"
down_revision = "0004_consent_verification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE occupancies (
        occupancy_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        delivery_point_id text NOT NULL REFERENCES meters ON DELETE CASCADE,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz,
        source text NOT NULL
            CHECK (source IN ('enedis-contract', 'operator', 'demo', 'migration')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at IS NULL OR ends_at > starts_at),
        CONSTRAINT occupancies_one_occupant_at_a_time EXCLUDE USING gist (
            delivery_point_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    );
    CREATE INDEX occupancies_person ON occupancies (person_id);

    -- A CHECK cannot look at another row: a device is never occupied, its point is.
    CREATE FUNCTION occupancy_on_delivery_point() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM meters WHERE meter_id = NEW.delivery_point_id
                       AND scheme IN ('prm', 'pce')) THEN
            RAISE EXCEPTION 'an occupancy is of a delivery point (PRM or PCE)'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER occupancies_point BEFORE INSERT OR UPDATE ON occupancies
        FOR EACH ROW EXECUTE FUNCTION occupancy_on_delivery_point();

    -- Existing data: a delivery point verified for exactly one person is occupied by
    -- them from their first consent's start (the only date known); an operator
    -- moves it earlier if their contract is older. Points claimed by several
    -- people get no occupancy: an operator decides.
    INSERT INTO occupancies (person_id, delivery_point_id, starts_at, source)
    SELECT min(c.person_id::text)::uuid, c.meter_id, min(c.starts_at), 'migration'
    FROM consents c JOIN meters m ON m.meter_id = c.meter_id
    WHERE c.verification = 'verified' AND m.scheme IN ('prm', 'pce')
    GROUP BY c.meter_id
    HAVING count(DISTINCT c.person_id) = 1;

    CREATE FUNCTION meter_access(p_person uuid, p_at timestamptz)
    RETURNS TABLE (meter_id text, delivery_point_id text, consent_id uuid,
                   from_ts timestamptz, until_ts timestamptz)
    LANGUAGE sql STABLE AS $$
        SELECT x.meter_id, c.meter_id, c.consent_id,
               greatest(o.starts_at, coalesce(c.data_from, o.starts_at)),
               least(coalesce(o.ends_at, 'infinity'), c.expires_at)
        FROM consents c
        JOIN meters p ON p.meter_id = c.meter_id AND p.scheme IN ('prm', 'pce')
        JOIN occupancies o ON o.person_id = c.person_id
                          AND o.delivery_point_id = c.meter_id
                          AND o.starts_at <= p_at
        -- the point itself and its devices (two index probes, never an OR join),
        -- except a device the person withdrew their own consent on (and gave no
        -- live one since): withdrawing a device hides it even behind its point
        CROSS JOIN LATERAL (
            SELECT c.meter_id AS meter_id
            UNION ALL
            SELECT d.meter_id FROM meters d WHERE d.delivery_point_id = c.meter_id
              AND NOT (EXISTS (SELECT 1 FROM consents w
                               WHERE w.person_id = c.person_id
                                 AND w.meter_id = d.meter_id
                                 AND w.revoked_at IS NOT NULL)
                       AND NOT EXISTS (SELECT 1 FROM consents l
                               WHERE l.person_id = c.person_id
                                 AND l.meter_id = d.meter_id
                                 AND l.revoked_at IS NULL AND l.expires_at > p_at))
        ) x
        WHERE c.person_id = p_person AND c.verification = 'verified'
          AND c.revoked_at IS NULL AND c.starts_at <= p_at AND c.expires_at > p_at
        UNION ALL
        SELECT d.meter_id, NULL, c.consent_id,
               coalesce(c.data_from, '-infinity'), c.expires_at
        FROM consents c
        JOIN meters d ON d.meter_id = c.meter_id
                     AND d.scheme NOT IN ('prm', 'pce')
                     AND d.delivery_point_id IS NULL
        WHERE c.person_id = p_person AND c.verification = 'verified'
          AND c.revoked_at IS NULL AND c.starts_at <= p_at AND c.expires_at > p_at
    $$;
    """)


def downgrade() -> None:
    op.execute("""
    DROP FUNCTION meter_access(uuid, timestamptz);
    DROP TABLE occupancies;
    DROP FUNCTION occupancy_on_delivery_point();
    """)
