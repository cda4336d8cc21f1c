"""Aggregator state: per-meter day and month totals, last power, self-consumption.

Revision ID: 1001_aggregator
Revises: 0002_read_models
Create Date: 2026-11-23

Rollups are maintained by DELTAS of stored values (never of deliveries): the
reading store reports each changed reading with its previous value, and the
aggregator adds ``new - old`` to every bucket that contains it. Sums need nothing
more; the number of delivery points and the largest point need each meter's own
total per bucket, which is kept here for days and months
(``aggregator_meter_days`` / ``aggregator_meter_months``, one row per meter,
direction, unit and local period). Half-hours and hours need no table: their
per-meter totals are the readings themselves, read back from ``readings`` only
when a batch does not cover the whole bucket.

Columns per quality q (0 estimated, 1 raw, 2 corrected): ``ev<q>``/``en<q>`` the
value and count of readings of the meter's own DAILY (resp. MONTHLY) series, which
are exactly the period; ``sv<q>``/``sn<q>`` what finer data contributes (curve
readings inside the day; for a month, the days' effective values and present-day
counts). A meter's effective total prefers its daily (monthly) series whenever it
has one for that period, in any quality, so a daily total and a load curve of the
same meter are never counted twice.

Each period row also keeps where the meter was (energy, building, parcel, IRIS,
commune) when the period was first written: later changes of that period go to the
same rollups, and the scope indexes serve only the exact recomputation of the
largest point after a decrease (rare).

``aggregator_meter_power`` is the last known instantaneous power per meter (shared
by every worker; one row per meter, not a history).
``neighbourhood_self_consumption`` is a view over the neighbourhood rollups.
"""

from alembic import op

revision = "1001_aggregator"
down_revision = "0002_read_models"
branch_labels = ("aggregator",)
depends_on = None


_PERIOD_TABLE = """
CREATE TABLE {name} (
    meter_id text NOT NULL,
    direction text NOT NULL,
    unit text NOT NULL,
    {period}_start timestamptz NOT NULL,
    {period}_end timestamptz NOT NULL,
    -- Where the meter was when this period was first written: every later change
    -- of the period goes to the same rollups (a meter that moves changes only
    -- the periods written after its move).
    energy text NOT NULL,
    building_id text,
    parcel_idu text,
    iris text,
    commune_insee text,
    ev0 double precision NOT NULL, ev1 double precision NOT NULL,
    ev2 double precision NOT NULL,
    en0 integer NOT NULL, en1 integer NOT NULL, en2 integer NOT NULL,
    sv0 double precision NOT NULL, sv1 double precision NOT NULL,
    sv2 double precision NOT NULL,
    sn0 integer NOT NULL, sn1 integer NOT NULL, sn2 integer NOT NULL,
    PRIMARY KEY (meter_id, direction, unit, {period}_start)
);
-- Scope look-ups, only to recompute the largest point after a decrease.
CREATE INDEX {name}_building ON {name} (building_id, {period}_start);
CREATE INDEX {name}_parcel ON {name} (parcel_idu, {period}_start);
CREATE INDEX {name}_iris ON {name} (iris, {period}_start);
CREATE INDEX {name}_commune ON {name} (commune_insee, {period}_start);
"""


def upgrade() -> None:
    op.execute(_PERIOD_TABLE.format(name="aggregator_meter_days", period="day"))
    op.execute(_PERIOD_TABLE.format(name="aggregator_meter_months", period="month"))
    op.execute(r"""
    CREATE TABLE aggregator_meter_power (
        meter_id text PRIMARY KEY,
        iris text,
        direction text NOT NULL,
        power_w double precision NOT NULL,
        measured_at timestamptz NOT NULL
    );
    CREATE INDEX aggregator_mp_iris ON aggregator_meter_power (iris);

    -- Collective self-consumption per neighbourhood (all qualities, electricity):
    -- per half-hour, production consumed locally is min(production, consumption)
    -- and the rest of production is exported (the settlement step of collective
    -- self-consumption); hours, days and months SUM the half-hours, never take the
    -- min of their own totals (which would overstate it). The point counts are
    -- the two sides' delivery points: egress applies the secrecy rule to each.
    CREATE VIEW neighbourhood_self_consumption AS
    WITH sides AS (
        SELECT scope_id AS iris, bucket, bucket_start, bucket_end,
               coalesce(sum(value) FILTER (WHERE direction = 'consumption'), 0)
                   AS consumption_wh,
               coalesce(sum(value) FILTER (WHERE direction = 'production'), 0)
                   AS production_wh,
               coalesce(max(delivery_points) FILTER (WHERE direction = 'consumption'),
                        0) AS consumption_points,
               coalesce(max(delivery_points) FILTER (WHERE direction = 'production'),
                        0) AS production_points
        FROM rollups
        WHERE scope = 'neighbourhood' AND energy = 'electricity' AND unit = 'Wh'
        GROUP BY scope_id, bucket, bucket_start, bucket_end
    ), half_hours AS (
        SELECT iris, bucket_start,
               least(production_wh, consumption_wh) AS self_consumed_wh
        FROM sides WHERE bucket = 'PT30M'
    )
    SELECT s.iris, s.bucket, s.bucket_start, s.bucket_end, s.consumption_wh,
           s.production_wh, sc.self_consumed_wh,
           s.production_wh - sc.self_consumed_wh AS exported_wh,
           s.consumption_points, s.production_points
    FROM sides s
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(h.self_consumed_wh), 0) AS self_consumed_wh
        FROM half_hours h
        WHERE h.iris = s.iris AND h.bucket_start >= s.bucket_start
          AND h.bucket_start < s.bucket_end
    ) sc;
    """)


def downgrade() -> None:
    op.execute("""
    DROP VIEW neighbourhood_self_consumption;
    DROP TABLE aggregator_meter_power, aggregator_meter_months, aggregator_meter_days;
    """)
