"""``python -m ingest_sge``: the SGE flux collector (ops endpoint on 8015).

``python -m ingest_sge search --siret …`` runs SGE's point search once
(:mod:`ingest_sge.cli`) with the same settings, and exits.
"""

from __future__ import annotations

import asyncio
import sys

from energy_core.loops import Backoff
from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_sge import enrolment
from ingest_sge.bootstrap import bootstrap
from ingest_sge.service import SERVICE, run_forever
from ingest_sge.settings import Settings


def main() -> None:
    """Builds the settings once; polls the SFTP drop and, when the SOAP client is
    configured, runs the enrolment worker of registered sites, until a signal.
    ``search …`` runs the point search instead (see ``cli``)."""
    if sys.argv[1:2] == ["search"]:
        from ingest_sge.cli import search

        raise SystemExit(search(sys.argv[2:]))
    settings = Settings()

    async def loop(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, stop=stop, health=health) as runtime:
            loops = [
                run_forever(
                    runtime.collector,
                    stop,
                    settings.poll_interval_s,
                    Backoff(
                        settings.backoff_base_s, settings.backoff_max_s, jitter=True
                    ),
                )
            ]
            if runtime.enrolment is not None:
                loops.append(
                    enrolment.run_forever(
                        runtime.enrolment,
                        stop,
                        settings.enrolment_interval_s,
                        Backoff(
                            settings.backoff_base_s, settings.backoff_max_s, jitter=True
                        ),
                    )
                )
            await asyncio.gather(*loops)

    run_service(SERVICE, settings, loop, port_setting="INGEST_SGE_HTTP_PORT")


if __name__ == "__main__":
    main()
