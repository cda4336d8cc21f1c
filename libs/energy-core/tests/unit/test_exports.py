"""The public surface is small, sorted (isort style, as ruff RUF022) and importable."""

import energy_core
import energy_core.domain


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_exists() -> None:
    for module in (energy_core, energy_core.domain):
        assert module.__all__ == sorted(module.__all__, key=_isort_key)
        for name in module.__all__:
            assert hasattr(module, name), name
