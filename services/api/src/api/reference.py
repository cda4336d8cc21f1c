"""Loads dated reference data (tariffs, gas prices, CO2 factors) idempotently from JSON.

Prices are data, never code: a new grid is a new row with its own ``valid_from``;
history keeps being priced by the grid that was in force.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

DEFAULT = Path(__file__).parent / "data" / "reference.json"


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


async def load_reference(
    conn: asyncpg.Connection, path: Path = DEFAULT
) -> dict[str, int]:
    """Upserts every tariff grid and factor of the file; returns counts."""
    data: dict[str, Any] = json.loads(path.read_bytes())  # noqa: ASYNC240 - tiny file
    await conn.executemany(
        """INSERT INTO api_tariffs (option, kva, valid_from, valid_to,
                                    standing_eur_month, prices, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (option, kva, valid_from) DO UPDATE SET
               valid_to = EXCLUDED.valid_to, prices = EXCLUDED.prices,
               standing_eur_month = EXCLUDED.standing_eur_month,
               source = EXCLUDED.source""",
        [
            (
                t["option"],
                t["kva"],
                _day(t["valid_from"]),
                _day(t["valid_to"]),
                t["standing_eur_month"],
                t["prices"],
                t["source"],
            )
            for t in data["tariffs"]
        ],
    )
    await conn.executemany(
        """INSERT INTO api_co2_factors (energy, valid_from, valid_to, kg_per_kwh,
                                        method, source)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (energy, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,
               kg_per_kwh = EXCLUDED.kg_per_kwh, method = EXCLUDED.method,
               source = EXCLUDED.source""",
        [
            (
                f["energy"],
                _day(f["valid_from"]),
                _day(f["valid_to"]),
                f["kg_per_kwh"],
                f["method"],
                f["source"],
            )
            for f in data["co2_factors"]
        ],
    )
    await conn.executemany(
        """INSERT INTO api_gas_prices (band, valid_from, valid_to, standing_eur_month,
                                       eur_per_kwh, method, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (band, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,
               standing_eur_month = EXCLUDED.standing_eur_month,
               eur_per_kwh = EXCLUDED.eur_per_kwh, method = EXCLUDED.method,
               source = EXCLUDED.source""",
        [
            (
                g["band"],
                _day(g["valid_from"]),
                _day(g["valid_to"]),
                g["standing_eur_month"],
                g["eur_per_kwh"],
                g["method"],
                g["source"],
            )
            for g in data.get("gas_prices", [])
        ],
    )
    await conn.executemany(
        """INSERT INTO api_gas_bands (band, min_kwh_year, max_kwh_year, usage, source)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (band) DO UPDATE SET min_kwh_year = EXCLUDED.min_kwh_year,
               max_kwh_year = EXCLUDED.max_kwh_year, usage = EXCLUDED.usage,
               source = EXCLUDED.source""",
        [
            (
                b["band"],
                float(b["min_kwh_year"]),
                None if b["max_kwh_year"] is None else float(b["max_kwh_year"]),
                b["usage"],
                b["source"],
            )
            for b in data.get("gas_bands", [])
        ],
    )
    return {
        "tariffs": len(data["tariffs"]),
        "co2_factors": len(data["co2_factors"]),
        "gas_prices": len(data.get("gas_prices", [])),
        "gas_bands": len(data.get("gas_bands", [])),
    }
