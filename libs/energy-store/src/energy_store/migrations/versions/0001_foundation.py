"""Foundation: territory registry, people and consents, series and readings, outbox.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23

Service-owned tables come in later migrations that branch from this one with their
own branch label (e.g. ``ingest_enedis``); ``upgrade heads`` applies them all.
"""

from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = ("foundation",)
depends_on = None

_FIRST_YEAR, _LAST_YEAR = 2019, 2031


def _partitions() -> str:
    statements = []
    for year in range(_FIRST_YEAR, _LAST_YEAR + 1):
        for month in range(1, 13):
            nxt_y, nxt_m = (year + 1, 1) if month == 12 else (year, month + 1)
            statements.append(
                f"CREATE TABLE readings_{year}_{month:02d} PARTITION OF readings "
                f"FOR VALUES FROM ('{year}-{month:02d}-01 00:00+00') "
                f"TO ('{nxt_y}-{nxt_m:02d}-01 00:00+00');"
            )
    return "\n".join(statements)


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE communes (
        insee text PRIMARY KEY CHECK (insee ~ '^(\d{2}|2A|2B)\d{3}$'),
        name text NOT NULL CHECK (name <> '')
    );

    CREATE TABLE neighbourhoods (
        iris text PRIMARY KEY CHECK (iris ~ '^(\d{2}|2A|2B)\d{7}$'),
        commune_insee text NOT NULL REFERENCES communes,
        name text NOT NULL CHECK (name <> ''),
        capacity_kw double precision NOT NULL CHECK (capacity_kw > 0),
        geometry jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (left(iris, 5) = commune_insee)
    );

    CREATE TABLE parcels (
        idu text PRIMARY KEY CHECK (idu ~ '^(\d{2}|2A|2B)\d{6}[0-9A-Z]{2}\d{4}$'),
        commune_insee text NOT NULL REFERENCES communes,
        iris text NOT NULL REFERENCES neighbourhoods,
        geometry jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (left(idu, 5) = commune_insee)
    );
    CREATE INDEX parcels_iris ON parcels (iris);

    CREATE TABLE buildings (
        building_id text PRIMARY KEY CHECK (length(building_id) BETWEEN 1 AND 64),
        address text NOT NULL,
        parcel_idu text NOT NULL REFERENCES parcels,
        iris text NOT NULL REFERENCES neighbourhoods,
        surface_m2 double precision NOT NULL CHECK (surface_m2 > 0),
        building_type text NOT NULL
            CHECK (building_type IN ('residential', 'public', 'tertiary')),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX buildings_parcel ON buildings (parcel_idu);
    CREATE INDEX buildings_iris ON buildings (iris);

    -- A meter may exist before it is placed (building_id NULL): "unplaced".
    CREATE TABLE meters (
        meter_id text PRIMARY KEY,
        scheme text NOT NULL CHECK (scheme IN ('prm', 'pce', 'flukso')),
        energy text NOT NULL CHECK (energy IN ('electricity', 'gas')),
        direction text NOT NULL CHECK (direction IN ('consumption', 'production')),
        sector text NOT NULL CHECK (sector IN ('residential', 'professional')),
        building_id text REFERENCES buildings,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (
            (scheme = 'prm' AND meter_id ~ '^\d{14}$')
            OR (scheme = 'pce' AND meter_id ~ '^(\d{14}|GI\d{6})$')
            OR (scheme = 'flukso' AND meter_id ~ '^[0-9a-f]{32}$')
        )
    );
    CREATE INDEX meters_building ON meters (building_id);

    CREATE TABLE people (
        person_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        display_name text NOT NULL,
        email text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
    );

    -- Consent enforced by the database (the SGE Tiers pattern): a window that ends,
    -- revocation inside the window, and a purpose that says what it is for.
    CREATE TABLE consents (
        consent_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        person_id uuid NOT NULL REFERENCES people ON DELETE CASCADE,
        meter_id text NOT NULL REFERENCES meters ON DELETE CASCADE,
        grantee text NOT NULL DEFAULT 'sen1',
        purpose text NOT NULL,
        scope text NOT NULL DEFAULT 'consumption',
        source text NOT NULL DEFAULT 'sen1',
        starts_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (expires_at > starts_at),
        CHECK (expires_at <= starts_at + interval '3 years'),
        CHECK (revoked_at IS NULL OR revoked_at >= starts_at)
    );
    CREATE INDEX consents_meter ON consents (meter_id);
    CREATE INDEX consents_person ON consents (person_id);

    -- One row per series; readings refer to it by a compact integer id.
    CREATE TABLE series (
        series_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        urn text NOT NULL UNIQUE,
        meter_id text NOT NULL,
        scheme text NOT NULL,
        direction text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('index', 'interval', 'instant', 'maximum')),
        dimension text NOT NULL,
        unit text NOT NULL,
        channel text NOT NULL DEFAULT '',
        -- '' native (curves, minutes), 'daily' / 'monthly': whole local periods
        -- (energy_core.domain.readings.Period; part of the URN).
        period text NOT NULL DEFAULT '' CHECK (period IN ('', 'daily', 'monthly'))
    );
    CREATE INDEX series_meter ON series (meter_id);

    -- Raw readings, canonical units (Wh, W, VA, m3). Identity: (series, start).
    -- quality: 0 estimated < 1 raw < 2 corrected (a higher rank replaces a lower).
    CREATE TABLE readings (
        series_id bigint NOT NULL,
        start_ts timestamptz NOT NULL,
        end_ts timestamptz NOT NULL,
        value double precision NOT NULL,
        quality smallint NOT NULL CHECK (quality BETWEEN 0 AND 2),
        ingested_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (series_id, start_ts),
        CHECK (end_ts >= start_ts)
    ) PARTITION BY RANGE (start_ts);
    CREATE TABLE readings_default PARTITION OF readings DEFAULT;
    CREATE INDEX readings_start_brin ON readings USING brin (start_ts);

    -- Territory changes to mirror onto the compacted topic (transactional outbox).
    CREATE TABLE territory_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        entity text NOT NULL,
        entity_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    );
    CREATE INDEX territory_outbox_pending ON territory_outbox (id)
        WHERE published_at IS NULL;

    CREATE FUNCTION territory_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        row_data jsonb := to_jsonb(COALESCE(NEW, OLD));
        key text;
    BEGIN
        key := CASE TG_TABLE_NAME
            WHEN 'neighbourhoods' THEN row_data->>'iris'
            WHEN 'parcels' THEN row_data->>'idu'
            WHEN 'buildings' THEN row_data->>'building_id'
            WHEN 'meters' THEN row_data->>'meter_id'
        END;
        INSERT INTO territory_outbox (entity, entity_key)
            VALUES (TG_TABLE_NAME, key);
        -- A building's meters carry its parcel and IRIS: re-publish them too.
        IF TG_TABLE_NAME = 'buildings' THEN
            INSERT INTO territory_outbox (entity, entity_key)
                SELECT 'meters', meter_id FROM meters WHERE building_id = key;
        END IF;
        RETURN NULL;
    END $$;

    CREATE TRIGGER neighbourhoods_outbox AFTER INSERT OR UPDATE OR DELETE
        ON neighbourhoods FOR EACH ROW EXECUTE FUNCTION territory_enqueue();
    CREATE TRIGGER parcels_outbox AFTER INSERT OR UPDATE OR DELETE
        ON parcels FOR EACH ROW EXECUTE FUNCTION territory_enqueue();
    CREATE TRIGGER buildings_outbox AFTER INSERT OR UPDATE OR DELETE
        ON buildings FOR EACH ROW EXECUTE FUNCTION territory_enqueue();
    CREATE TRIGGER meters_outbox AFTER INSERT OR UPDATE OR DELETE
        ON meters FOR EACH ROW EXECUTE FUNCTION territory_enqueue();
    """)
    op.execute(_partitions())


def downgrade() -> None:
    op.execute("""
    DROP TABLE territory_outbox, readings, series, consents, people, meters,
        buildings, parcels, neighbourhoods, communes CASCADE;
    DROP FUNCTION territory_enqueue();
    """)
