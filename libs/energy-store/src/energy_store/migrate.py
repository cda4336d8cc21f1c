"""Applies the alembic migrations shipped in this package (every branch head)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).parent


def alembic_config(dsn: str) -> Config:
    """An alembic Config for ``dsn`` (a libpq URL), without any ini file."""
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(dsn: str) -> None:
    """Brings the schema to the latest revision of every branch (idempotent)."""
    command.upgrade(alembic_config(dsn), "heads")
