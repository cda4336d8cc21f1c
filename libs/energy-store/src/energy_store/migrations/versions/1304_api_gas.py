"""api: dated regulated benchmark gas prices, held beside the electricity tariffs.

Revision ID: 1304_api_gas
Revises: 1302_api_webhooks_hardening
Create Date: 2026-12-03

Gas is priced per kWh PCS with one price for every hour (the CRE's *prix repère*
by consumption band), plus a monthly standing charge: a grid unlike electricity's
options and powers, so a table of its own. Like ``api_tariffs``, a new price is a
new row with its own ``valid_from``; history keeps its price.
"""

from alembic import op

revision = "1304_api_gas"
down_revision = "1302_api_webhooks_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    CREATE TABLE api_gas_prices (
        band text NOT NULL,
        valid_from date NOT NULL,
        valid_to date,
        standing_eur_month double precision NOT NULL CHECK (standing_eur_month >= 0),
        eur_per_kwh double precision NOT NULL CHECK (eur_per_kwh >= 0),
        method text NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (band, valid_from),
        CHECK (valid_to IS NULL OR valid_to > valid_from)
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE api_gas_prices")
