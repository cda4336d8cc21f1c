"""What neighbouring collectives share with a city, beside its own figures.

The federation gateway stores what peers push (signed, verified on receipt) in
``federation_peer_rollups``; this route shows a city the peers its operator
named for it (``federation_peers.shown_to``), with each value's provenance.

Who: a city API key of that commune only. A key of another commune or of a
single IRIS, a resident, an operator and the public get 403/401: the peering
agreement is the commune's, and a neighbour's figures are not ours to publish.
Values that would not pass OUR secrecy rule are left out, even if the peer sent
them (a peer with a laxer rule cannot make us display them).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import PoolDep, SecrecyDep, SignedIn
from api.periods import day_span
from api.problems import Problem
from energy_store.federation import PeerAggregate, neighbour_aggregates

router = APIRouter(prefix="/v1/city", tags=["federation"])
Commune = Annotated[str, Path(pattern=r"^(\d{2}|2A|2B)\d{3}$")]
LEVELS = {"iris": "neighbourhood", "commune": "commune", "parcel": "parcel",
          "building": "building"}  # fmt: skip


def _series_key(urn: str) -> tuple[str, str, str]:
    """``urn:sen1:<level>:<id>_<direction>/…`` → (level, id, direction)."""
    head = urn.removeprefix("urn:sen1:").split("/", 1)[0]
    level, _, rest = head.partition(":")
    territory, _, direction = rest.rpartition("_")
    return LEVELS.get(level, level), territory, direction


@router.get("/{territory}/peers")
async def peers(
    territory: Commune,
    user: SignedIn,
    pool: PoolDep,
    rule: SecrecyDep,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
) -> dict[str, Any]:
    """Daily aggregates of the neighbouring collectives shown to this commune,
    each with its provenance: the peer, the key whose signature was verified on
    receipt, and when it was received. ``bucket_start`` is the start of the
    local (Paris) day."""
    if user.kind != "city" or user.scope != "commune" or user.scope_id != territory:
        raise Problem(403, "a city key of this commune only", kind="forbidden")
    t0, t1 = day_span(start, end)
    async with pool.acquire() as conn:
        rows = await neighbour_aggregates(
            conn,
            commune=territory,
            start=t0,
            end=t1,
            min_points=rule.min_points,
            max_share=rule.max_share,
        )
    by_peer: dict[str, dict[str, list[PeerAggregate]]] = {}
    for r in rows:
        by_peer.setdefault(r.peer_domain, {}).setdefault(r.urn, []).append(r)
    out = []
    for domain, series in by_peer.items():
        items = []
        for urn, values in series.items():
            level, scope_id, direction = _series_key(urn)
            items.append(
                {
                    "urn": urn,
                    "level": level,
                    "scope_id": scope_id,
                    "direction": direction,
                    "unit": values[0].unit,
                    "values": [
                        {
                            "bucket_start": v.bucket_start.isoformat(),
                            "value": v.value,
                            "delivery_points": v.delivery_points,
                            "received_at": v.received_at.isoformat(),
                            "keyid": v.keyid,
                        }
                        for v in values
                    ],
                }
            )
        out.append(
            {
                "peer": domain,
                "signature_verified": True,  # stored only after verification
                "received_at": max(
                    v.received_at for vs in series.values() for v in vs
                ).isoformat(),
                "series": items,
            }
        )
    return {"territory": territory, "bucket": "P1D", "peers": out}
