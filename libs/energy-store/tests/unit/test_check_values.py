"""The CHECK rewriting SQL refuses anything but plain names and values (it is
spliced into a DO block); its behaviour on PostgreSQL is covered by the migration
tests (both occupancy sources survive either order)."""

from __future__ import annotations

import pytest

from energy_store.check_values import rewrite_in_check


def test_adds_or_removes_exactly_one_value() -> None:
    add = rewrite_in_check(
        "occupancies", "source", "occupancies_source_check", add="x-y"
    )
    assert "array_append(array_remove(allowed, 'x-y'), 'x-y')" in add
    assert "CHECK (source IN (" in add
    remove = rewrite_in_check(
        "occupancies", "source", "occupancies_source_check", remove="x"
    )
    assert "allowed := array_remove(allowed, 'x');" in remove
    with pytest.raises(ValueError, match="exactly one"):
        rewrite_in_check("occupancies", "source", "c")
    with pytest.raises(ValueError, match="exactly one"):
        rewrite_in_check("occupancies", "source", "c", add="a", remove="b")


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("occupancies; DROP TABLE people", "source", "a"),
        ("occupancies", "source)", "a"),
        ("occupancies", "source", "a'); DROP TABLE people; --"),
        ("Occupancies", "source", "a"),
    ],
)
def test_refuses_anything_but_plain_names(table: str, column: str, value: str) -> None:
    with pytest.raises(ValueError, match="plain identifiers"):
        rewrite_in_check(table, column, "occupancies_source_check", add=value)
