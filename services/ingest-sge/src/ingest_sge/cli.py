"""``python -m ingest_sge search …``: SGE's point search from a terminal.

Why a command: finding the PRMs of a building (by its address, its holder's
name or SIRET) is the first step of enrolling a portfolio, and an operator
needs it before any api exists for it. It uses the same settings as the
service (``INGEST_SGE_SOAP_*``: host, kit, certificate, CA) and prints one
JSON object per point found. Exit status: 0 (even with no point), 2 (usage or
no SOAP configuration), 3 (SGE refused: the code and French text on stderr,
e.g. SGT4F8 "too many results" or SGT4F7 "criteria not sufficient").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from energy_core.errors import EnergyError
from ingest_sge.client.answers import SearchCriteria
from ingest_sge.client.faults import SgeFault
from ingest_sge.client.soap import SgeSoapClient
from ingest_sge.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest_sge search",
        description="SGE RecherchePoint: the PRMs of a building.",
    )
    parser.add_argument("--street", help="number and street (numeroEtNomVoie)")
    parser.add_argument("--postcode", help="codePostal")
    parser.add_argument("--insee", help="INSEE code of the commune")
    parser.add_argument("--name", help="holder's name or company (>= 3 characters)")
    parser.add_argument("--siret", help="the holder's SIRET")
    parser.add_argument("--meter", help="meter number (matricule or serial)")
    parser.add_argument("--tension", choices=("BTINF", "BTSUP", "HTA", "HTB"))
    parser.add_argument("--category", choices=("PRO", "RES"))
    parser.add_argument(
        "--out-of-perimeter",
        action="store_true",
        help="rechercheHorsPerimetre: points outside our contracts too",
    )
    return parser


async def _search(settings: Settings, criteria: SearchCriteria) -> int:
    config = settings.soap_config()
    if config is None:
        sys.stderr.write(
            "SGE SOAP is not configured: set INGEST_SGE_SOAP_WSDL_DIR, "
            "INGEST_SGE_SOAP_CERT_FILE and INGEST_SGE_SOAP_KEY_FILE\n"
        )
        return 2
    client = SgeSoapClient(config)
    try:
        points = await client.search_points(criteria)
    except EnergyError as exc:
        code = exc.code if isinstance(exc, SgeFault) else type(exc).__name__
        text = exc.text if isinstance(exc, SgeFault) else str(exc)
        sys.stderr.write(json.dumps({"code": code, "message": text}) + "\n")
        return 3
    finally:
        await client.aclose()
    for point in points:
        sys.stdout.write(
            json.dumps(
                {
                    "prm": point.prm,
                    "address": list(point.address),
                    "holder": point.holder,
                    "metering": point.metering,
                    "contract_state": point.contract_state,
                    "meter_serials": list(point.meter_serials),
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


def search(argv: Sequence[str], settings: Settings | None = None) -> int:
    """Runs one search; returns the exit status."""
    args = _parser().parse_args(list(argv))
    criteria = SearchCriteria(
        street=args.street,
        postcode=args.postcode,
        insee=args.insee,
        name=args.name,
        siret=args.siret,
        meter=args.meter,
        tension=args.tension,
        category=args.category,
        out_of_perimeter=args.out_of_perimeter,
    )
    return asyncio.run(_search(settings or Settings(), criteria))
