"""SQL that adds or removes one value of a ``CHECK (column IN (...))`` constraint.

Several migration branches (one per service) widen the same CHECK — e.g. the
occupancies' ``source``, widened by ingest-sge and by ingest-grdf. A migration that
rewrote the CHECK from a fixed list would drop the values another branch added if
it ran after it, and the branches' order is not fixed. So each migration rewrites
the CHECK from its *current* values (read back from ``pg_constraint``) plus or minus
its own value, whatever ran before. Migrations call :func:`rewrite_in_check` and run
the SQL it returns with ``op.execute``; the helper must stay backwards compatible,
as migrations already applied depend on it.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_VALUE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def rewrite_in_check(
    table: str,
    column: str,
    constraint: str,
    *,
    add: str | None = None,
    remove: str | None = None,
) -> str:
    """A ``DO`` block that rewrites ``constraint``, a ``CHECK (column IN (...))`` on
    ``table``, with ``add`` appended to or ``remove`` taken out of its current
    values."""
    if (add is None) == (remove is None):
        raise ValueError("give exactly one of add= and remove=")
    value = add if add is not None else remove
    names = (table, column, constraint)
    if not (all(_NAME.fullmatch(n) for n in names) and _VALUE.fullmatch(value or "")):
        raise ValueError(
            "table, column, constraint and value must be plain identifiers"
        )
    change = (
        f"allowed := array_append(array_remove(allowed, '{add}'), '{add}');"
        if add is not None
        else f"allowed := array_remove(allowed, '{remove}');"
    )
    # identifiers and value matched plain patterns above: nothing to inject
    return rf"""
    DO $$
    DECLARE
        allowed text[];
    BEGIN
        SELECT array_agg(DISTINCT m[1]) INTO allowed
        FROM pg_constraint c,
             regexp_matches(pg_get_constraintdef(c.oid), '''([^'']+)''', 'g') m
        WHERE c.conname = '{constraint}' AND c.conrelid = '{table}'::regclass;
        {change}
        ALTER TABLE {table} DROP CONSTRAINT {constraint};
        EXECUTE 'ALTER TABLE {table} ADD CONSTRAINT {constraint} '
             || 'CHECK ({column} IN ('
             || (SELECT string_agg(quote_literal(x), ', ') FROM unnest(allowed) x)
             || '))';
    END $$;
    """  # noqa: S608
