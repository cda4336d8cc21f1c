"""Consent verification: a consent grants nothing until its holder is proven, and
every decision about it is audited by the database.

Revision ID: 0004_consent_verification
Revises: 0003_delivery_points
Create Date: 2026-12-03

The Enedis callback only says which PRMs a browser came back with; anyone can type a
neighbour's PRM into that URL. A consent therefore starts ``pending`` and becomes
``verified`` only when ingest-enedis has matched the Data Connect customers v5
identity and contact of the PRM with the account holder (or an operator decided so);
a mismatch is held ``to_verify`` for an operator, an upstream refusal is
``rejected``. Only ``verified`` consents are live for reading and collection (the
queries of migration 0005 and ingest-enedis say so in SQL).

Enforced here, not in route code:
- verification state, who decided and when (CHECKs);
- at most one person holds a verified consent on a meter at any instant (an
  exclusion constraint): a PRM held by another resident cannot be silently shared,
  the second verification fails and is flagged for an operator instead;
- a consent's person and meter never change (trigger);
- every decision is written to ``consent_audit`` by a trigger (recorded, verified,
  mismatch, operator decision, revoked) or by :func:`consent_audit_expired`
  (expired), so no code path can skip the audit. ``sen1.actor`` (a transaction-local
  setting) names who acted; otherwise the consent's ``verified_by`` or source.

Existing consents: those from the Enedis callback (``source = 'enedis'``) were never
verified and become ``pending`` (ingest-enedis verifies them at its next cycle);
the others (demo, operator-loaded) are recorded as verified by their source.
"""

from alembic import op

revision = "0004_consent_verification"
down_revision = "0003_delivery_points"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE EXTENSION IF NOT EXISTS btree_gist;

    ALTER TABLE consents
        ADD COLUMN verification text NOT NULL DEFAULT 'pending'
            CHECK (verification IN ('pending', 'verified', 'to_verify', 'rejected')),
        ADD COLUMN verification_reason text
            CHECK (verification_reason IS NULL OR length(verification_reason) <= 200),
        ADD COLUMN verified_at timestamptz,
        ADD COLUMN verified_by text,
        -- first instant of data the consent covers (NULL: the holder's whole
        -- occupancy, which is what Data Connect serves the contract holder)
        ADD COLUMN data_from timestamptz;

    UPDATE consents SET verification = 'verified', verified_at = created_at,
                        verified_by = 'migration:' || source
    WHERE source <> 'enedis';

    ALTER TABLE consents
        ADD CONSTRAINT consents_decided_by_someone CHECK (
            verification IN ('pending', 'to_verify')
            OR (verified_at IS NOT NULL AND verified_by IS NOT NULL)),
        ADD CONSTRAINT consents_held_with_a_reason CHECK (
            verification <> 'to_verify' OR verification_reason IS NOT NULL),
        ADD CONSTRAINT consents_one_holder_at_a_time EXCLUDE USING gist (
            meter_id WITH =,
            person_id WITH <>,
            tstzrange(verified_at,
                      greatest(verified_at, least(expires_at,
                               coalesce(revoked_at, expires_at)))) WITH &&
        ) WHERE (verification = 'verified');
    CREATE INDEX consents_pending ON consents (created_at)
        WHERE verification = 'pending';
    CREATE INDEX consents_to_verify ON consents (created_at)
        WHERE verification = 'to_verify';

    CREATE TABLE consent_audit (
        audit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- no foreign key to consents: the trail outlives the consent it speaks
        -- of; the person is forgotten when erased (the decisions stay, whose
        -- they were does not)
        consent_id uuid NOT NULL,
        person_id uuid REFERENCES people ON DELETE SET NULL,
        meter_id text NOT NULL,
        event text NOT NULL CHECK (event IN ('recorded', 'verified', 'mismatch',
            'rejected', 'operator_verified', 'operator_rejected', 'revoked',
            'expired')),
        verification text NOT NULL,
        actor text NOT NULL,
        reason text,
        at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX consent_audit_consent ON consent_audit (consent_id);

    CREATE FUNCTION consent_audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        actor text := nullif(current_setting('sen1.actor', true), '');
        decided text;
    BEGIN
        IF TG_OP = 'UPDATE' AND (NEW.person_id <> OLD.person_id
                                 OR NEW.meter_id <> OLD.meter_id) THEN
            RAISE EXCEPTION 'a consent''s person and meter never change'
                USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP = 'INSERT' THEN
            INSERT INTO consent_audit (consent_id, person_id, meter_id, event,
                                       verification, actor, reason)
            VALUES (NEW.consent_id, NEW.person_id, NEW.meter_id, 'recorded',
                    NEW.verification, coalesce(actor, NEW.source),
                    NEW.verification_reason);
        END IF;
        IF NEW.verification <> 'pending' AND (TG_OP = 'INSERT'
                OR NEW.verification IS DISTINCT FROM OLD.verification
                OR NEW.verification_reason IS DISTINCT FROM OLD.verification_reason)
        THEN
            decided := coalesce(actor, NEW.verified_by, NEW.source);
            INSERT INTO consent_audit (consent_id, person_id, meter_id, event,
                                       verification, actor, reason)
            VALUES (NEW.consent_id, NEW.person_id, NEW.meter_id,
                    CASE WHEN NEW.verification = 'to_verify' THEN 'mismatch'
                         WHEN decided LIKE 'operator:%'
                             THEN 'operator_' || NEW.verification
                         ELSE NEW.verification END,
                    NEW.verification, decided, NEW.verification_reason);
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.revoked_at IS NULL
                AND NEW.revoked_at IS NOT NULL THEN
            INSERT INTO consent_audit (consent_id, person_id, meter_id, event,
                                       verification, actor, reason)
            VALUES (NEW.consent_id, NEW.person_id, NEW.meter_id, 'revoked',
                    NEW.verification, coalesce(actor, 'unknown'), NULL);
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER consents_audit AFTER INSERT OR UPDATE ON consents
        FOR EACH ROW EXECUTE FUNCTION consent_audit_write();

    -- Expiry is not a write: whoever sweeps (ingest-enedis, every cycle) calls this.
    CREATE FUNCTION consent_audit_expired(at timestamptz) RETURNS integer
    LANGUAGE sql AS $$
        WITH done AS (
            INSERT INTO consent_audit (consent_id, person_id, meter_id, event,
                                       verification, actor, at)
            SELECT c.consent_id, c.person_id, c.meter_id, 'expired', c.verification,
                   'expiry', c.expires_at
            FROM consents c
            WHERE c.expires_at <= at AND c.revoked_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM consent_audit a
                              WHERE a.consent_id = c.consent_id
                                AND a.event = 'expired')
            RETURNING 1)
        SELECT count(*)::int FROM done
    $$;
    """)


def downgrade() -> None:
    op.execute("""
    DROP FUNCTION consent_audit_expired(timestamptz);
    DROP TRIGGER consents_audit ON consents;
    DROP FUNCTION consent_audit_write();
    DROP TABLE consent_audit;
    DROP INDEX consents_pending, consents_to_verify;
    ALTER TABLE consents DROP CONSTRAINT consents_one_holder_at_a_time,
        DROP CONSTRAINT consents_held_with_a_reason,
        DROP CONSTRAINT consents_decided_by_someone,
        DROP COLUMN data_from, DROP COLUMN verified_by, DROP COLUMN verified_at,
        DROP COLUMN verification_reason, DROP COLUMN verification;
    """)
