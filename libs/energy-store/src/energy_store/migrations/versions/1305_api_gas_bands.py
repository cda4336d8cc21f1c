"""api: the benchmark gas price's consumption bands, to price each PCE in its own.

Revision ID: 1305_api_gas_bands
Revises: 1304_api_gas
Create Date: 2026-12-03

The regulated benchmark gas price comes per band of annual consumption (Base
for cooking, B0 cooking and hot water, B1 heating, B2I small boiler rooms), so a
PCE is priced in the band its CAR (GRDF's *consommation annuelle de référence*,
read with the contract data) falls in. The bands' bounds are reference data
like the prices (loaded by ``load-reference``), not code: ``[min, max)`` kWh PCS
a year, ``max`` null for the open top band.
"""

from alembic import op

revision = "1305_api_gas_bands"
down_revision = "1304_api_gas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE api_gas_bands (
        band text PRIMARY KEY,
        min_kwh_year double precision NOT NULL CHECK (min_kwh_year >= 0),
        max_kwh_year double precision CHECK (max_kwh_year > min_kwh_year),
        usage text NOT NULL,
        source text NOT NULL
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE api_gas_bands")
