"""Federation: a commit-ordered outbox for pushes, peers' XMPP identity and who
sees their data, persisted Quoalise subscriptions, inbound Quoalise series.

Revision ID: 1702_federation_outbox
Revises: 1701_federation
Create Date: 2026-12-03

Why an outbox: the push loop followed ``rollups.updated_at``. ``now()`` is the
*start* of the writing transaction, so a transaction that commits after a push
round, with an ``updated_at`` older than the cursor the round reached, was never
pushed. Here a trigger writes, in the SAME transaction as the rollup change, one
row per changed bucket stamped with the writer's transaction id (``xid8``, 64-bit,
never wraps). The loop reads only rows whose ``xid`` is below the xmin of its
snapshot (every transaction below it has finished: committed rows are visible,
aborted ones left none), then moves the subscription's cursor to that xmin.
Nothing is missed, whatever the commit order, and nothing is pushed twice except
when a peer did not acknowledge (at least once). Alert events get the same
treatment (``federation_alert_outbox``) so alerts reach subscribed peers.

The triggers are statement-level with transition tables (one INSERT … SELECT
DISTINCT per aggregator statement, not one per row) and write electricity
rollups only, and only once a federation gateway started on this database
(``federation_outbox_enabled``: a database without federation pays nothing); the
gateway prunes rows every subscription has passed. A subscription's first catch-up
(rollups changed since its ``since``) waits until every transaction that may have
written before the outbox was enabled has finished (``ready_after``).

- ``federation_peers.jid``: the peer's bare XMPP JID (Quoalise identifies callers
  only by the JID its server stamps): the egress decision for a Quoalise request
  uses the registry row that JID belongs to.
- ``federation_peers.shown_to``: the local communes whose city key sees this
  peer's aggregates on the city page (empty: nobody).
- ``federation_subscriptions.outbox_xid``: the cursor in the outbox (NULL: the
  subscription still has its first catch-up from ``cursor``, a timestamp, to do).
- ``federation_peer_alerts``: alert changes a peer pushed, with provenance.
- ``quoalise_subscriptions``: XMPP subscribers (bare JID, identifier) and the
  newest period start pushed to each, so a restart of the gateway loses neither.
- ``federation_peer_series``: individual series read from a Quoalise proxy, as
  that peer's series, with provenance (peer, JID it came from, time).
"""

from alembic import op

revision = "1702_federation_outbox"
down_revision = "1701_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    ALTER TABLE federation_peers
        ADD COLUMN jid text UNIQUE CHECK (jid ~ '^[^@/\s]+@[^@/\s]+$'),
        ADD COLUMN shown_to text[] NOT NULL DEFAULT '{}';

    ALTER TABLE federation_subscriptions
        ADD COLUMN outbox_xid xid8,
        ADD COLUMN alerts boolean NOT NULL DEFAULT false;

    CREATE TABLE federation_outbox (
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        scope text NOT NULL,
        scope_id text NOT NULL,
        bucket text NOT NULL,
        direction text NOT NULL,
        bucket_start timestamptz NOT NULL
    );
    CREATE INDEX federation_outbox_by_xid ON federation_outbox (xid);
    CREATE INDEX federation_outbox_by_scope ON federation_outbox
        (scope, scope_id, bucket, direction, xid);

    CREATE TABLE federation_outbox_enabled (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        ready_after xid8
    );
    CREATE FUNCTION federation_outbox_rollups() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM federation_outbox_enabled) THEN
            RETURN NULL;
        END IF;
        INSERT INTO federation_outbox (scope, scope_id, bucket, direction, bucket_start)
        SELECT DISTINCT scope, scope_id, bucket, direction, bucket_start
        FROM changed WHERE energy = 'electricity';
        RETURN NULL;
    END $$;
    CREATE TRIGGER federation_outbox_rollups_insert AFTER INSERT ON rollups
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION federation_outbox_rollups();
    CREATE TRIGGER federation_outbox_rollups_update AFTER UPDATE ON rollups
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION federation_outbox_rollups();

    CREATE TABLE federation_alert_outbox (
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        alert_id uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        change text NOT NULL
    );
    CREATE INDEX federation_alert_outbox_by_xid ON federation_alert_outbox (xid);
    CREATE FUNCTION federation_outbox_alerts() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM federation_outbox_enabled) THEN
            RETURN NULL;
        END IF;
        INSERT INTO federation_alert_outbox (alert_id, occurred_at, change)
        SELECT alert_id, occurred_at, change FROM changed;
        RETURN NULL;
    END $$;
    CREATE TRIGGER federation_outbox_alert_events AFTER INSERT ON alert_events
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION federation_outbox_alerts();

    CREATE TABLE federation_peer_alerts (
        peer_domain text NOT NULL,
        iris text NOT NULL,
        alert_id uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        change text NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
        previous_level smallint NOT NULL,
        capacity_kw double precision,
        keyid text NOT NULL,
        signature text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (peer_domain, alert_id, occurred_at, change)
    );

    CREATE TABLE quoalise_subscriptions (
        jid text NOT NULL,
        identifier text NOT NULL,
        last_start timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (jid, identifier)
    );

    CREATE TABLE federation_peer_series (
        peer_domain text NOT NULL REFERENCES federation_peers ON DELETE CASCADE,
        urn text NOT NULL,
        start_ts timestamptz NOT NULL,
        value double precision NOT NULL,
        unit text NOT NULL,
        source_jid text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (peer_domain, urn, start_ts)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER federation_outbox_rollups_insert ON rollups;
    DROP TRIGGER federation_outbox_rollups_update ON rollups;
    DROP TRIGGER federation_outbox_alert_events ON alert_events;
    DROP TABLE federation_peer_series, quoalise_subscriptions,
        federation_alert_outbox, federation_outbox, federation_outbox_enabled,
        federation_peer_alerts;
    DROP FUNCTION federation_outbox_rollups(), federation_outbox_alerts();
    ALTER TABLE federation_subscriptions DROP COLUMN outbox_xid, DROP COLUMN alerts;
    ALTER TABLE federation_peers DROP COLUMN jid, DROP COLUMN shown_to;
    """)
