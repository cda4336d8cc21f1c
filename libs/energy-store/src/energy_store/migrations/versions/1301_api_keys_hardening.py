"""api: API keys that expire, rotate and name who made them; a key for the alert system.

Revision ID: 1301_api_keys_hardening
Revises: 1002_api
Create Date: 2026-12-03

Keys stay stored as SHA-256 digests (they are long random values); ``hint`` keeps
the first characters of the clear key so an operator can tell keys apart in a list
without the database holding anything usable. Existing keys keep no expiry (they
were issued without one); new keys get one from the api's settings. Scope
``alerts`` is the alert system's own key: not tied to a territory, so no
``scope_id``.
"""

from alembic import op

revision = "1301_api_keys_hardening"
down_revision = "1002_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
    ALTER TABLE api_keys
        ADD COLUMN expires_at timestamptz,
        ADD COLUMN created_by uuid REFERENCES api_accounts ON DELETE SET NULL,
        ADD COLUMN hint text NOT NULL DEFAULT '',
        ADD COLUMN replaced_by uuid REFERENCES api_keys ON DELETE SET NULL,
        ALTER COLUMN scope_id DROP NOT NULL,
        DROP CONSTRAINT api_keys_scope_check,
        ADD CONSTRAINT api_keys_scope_check
            CHECK (scope IN ('commune', 'neighbourhood', 'alerts')),
        ADD CONSTRAINT api_keys_scope_id_check
            CHECK ((scope = 'alerts') = (scope_id IS NULL)),
        ADD CONSTRAINT api_keys_expiry_check
            CHECK (expires_at IS NULL OR expires_at > created_at);
    """)


def downgrade() -> None:
    op.execute(r"""
    DELETE FROM api_keys WHERE scope = 'alerts';
    ALTER TABLE api_keys
        DROP CONSTRAINT api_keys_expiry_check,
        DROP CONSTRAINT api_keys_scope_id_check,
        DROP CONSTRAINT api_keys_scope_check,
        ADD CONSTRAINT api_keys_scope_check
            CHECK (scope IN ('commune', 'neighbourhood')),
        ALTER COLUMN scope_id SET NOT NULL,
        DROP COLUMN replaced_by,
        DROP COLUMN hint,
        DROP COLUMN created_by,
        DROP COLUMN expires_at;
    """)
