"""The loop with fakes of its ports (ADICT client, repository, publisher)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from energy_core import topics
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_grdf.client import AdictRefusedError, Parsed, parse
from ingest_grdf.mapping import Holder, RightState, gas_day_bounds
from ingest_grdf.repository.memory import MemoryRepository
from ingest_grdf.service import GrdfService
from ingest_grdf.settings import Settings

PCE = "21380000000007"
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
TODAY = date(2026, 11, 23)


def right(state: str = "Active", right_id: str = "r1") -> dict[str, Any]:
    return {
        "id_droit_acces": right_id,
        "id_pce": PCE,
        "etat_droit_acces": state,
        "date_debut_droit_acces": "2026-01-01",
        "date_fin_droit_acces": "2029-01-01",
        "perim_donnees_conso_debut": "2026-10-01",
        "perim_donnees_conso_fin": "2029-01-01",
        **{
            f"perim_donnees_{k}": "vrai"
            for k in ("informatives", "publiees", "contractuelles", "techniques")
        },
    }


def gas_day(day: date) -> dict[str, Any]:
    start, end = gas_day_bounds(day)
    return {
        "pce": {"id_pce": PCE},
        "consommation": {
            "date_debut_consommation": start.isoformat(),
            "date_fin_consommation": end.isoformat(),
            "volume_brut": 5.0,
            "energie": 57,
            "statut_conso": "Provisoire",
            "journee_gaziere": day.isoformat(),
            "coeff_calcul": {"coeff_conversion": 11.4},
        },
        "statut_restitution": None,
    }


def refusal(code: str, day: date | None = None) -> dict[str, Any]:
    periode = {"date_debut": day.isoformat()} if day else None
    return {
        "pce": {"id_pce": PCE},
        "periode": periode,
        "consommation": None,
        "statut_restitution": {"code": code, "message": "…"},
    }


class FakeAdict:
    """ADICT as the loop sees it: a rights list and per-day informatives."""

    def __init__(self) -> None:
        self.rights_list: list[dict[str, Any]] = [right()]
        self.calls: list[tuple[str, str, str]] = []
        self.refuse_with: str | None = None
        self.broken_days: set[date] = set()
        self.junk = False
        self.declared: list[dict[str, Any]] = []
        self.revoked: list[str] = []

    async def declare(self, pce: str, body: dict[str, Any]) -> dict[str, Any]:
        self.declared.append(body)
        return {**right("A valider"), "id_pce": pce}

    async def rights(self, pces: list[str] | None = None) -> Parsed:
        return parse("\n".join(json.dumps(o) for o in self.rights_list))

    async def revoke(self, right_id: str) -> None:
        self.revoked.append(right_id)

    async def informatives(self, pce: str, start: str, end: str) -> Parsed:
        self.calls.append((pce, start, end))
        if self.refuse_with:
            return parse(json.dumps(refusal(self.refuse_with)))
        first, after = date.fromisoformat(start), date.fromisoformat(end)
        objects = []
        day = first
        while day < min(after, TODAY - timedelta(days=1)):
            objects.append(
                refusal("2000100", day) if day in self.broken_days else gas_day(day)
            )
            day += timedelta(days=1)
        text = "\r\n".join(json.dumps(o) for o in objects)
        return parse(("garbage{not json\n" if self.junk else "") + text)

    async def published(self, pce: str, start: str, end: str) -> Parsed:
        return parse(json.dumps(refusal("1000008")))

    async def upload_proofs(
        self, right_id: str, files: list[tuple[str, bytes, str]]
    ) -> None:
        self.revoked.append(f"proofs:{right_id}")

    async def injections(self, pce: str, start: str, end: str) -> Parsed:
        return parse(json.dumps(refusal("1000008")))

    async def contractual(self, pce: str) -> dict[str, Any]:
        return {"donnees_contractuelles": {"car": 9000, "tarif_acheminement": "T1"}}

    async def technical(self, pce: str) -> dict[str, Any]:
        raise AdictRefusedError(400, "1000005", "bad")


def make(
    **overrides: Any,
) -> tuple[GrdfService, FakeAdict, MemoryRepository, InMemoryPublisher]:
    client, repo, publisher = FakeAdict(), MemoryRepository(), InMemoryPublisher()
    settings = Settings(backfill_chunk_days=10, **overrides)
    service = GrdfService(settings, client, publisher, repo, clock=lambda: NOW)
    return service, client, repo, publisher


def days_published(publisher: InMemoryPublisher) -> list[date]:
    out = set()
    for _, value in publisher.sent[topics.READINGS]:
        assert value is not None
        for r in batch_from_proto(value).readings:
            out.add((r.start + timedelta(hours=3)).date())
    return sorted(out)


async def test_backfill_is_clamped_to_the_data_window_and_chunked() -> None:
    service, client, repo, publisher = make()
    await service.run_cycle()
    days = days_published(publisher)
    assert days[0] == date(2026, 10, 1)  # perim_donnees_conso_debut, not 3 years
    assert days[-1] == TODAY - timedelta(days=2)
    assert len(days) == (days[-1] - days[0]).days + 1
    assert all(
        (date.fromisoformat(e) - date.fromisoformat(s)).days <= 10
        for _, s, e in client.calls
    )
    assert (await repo.cursor(PCE)).informatives_until == TODAY
    contract = repo.contracts[PCE]  # technical refused (dead-lettered), contract kept
    assert contract.car_kwh == 9000
    assert contract.frequency is None
    assert contract.conversion_coefficient == 11.4
    assert publisher.sent[topics.DEAD_LETTERS]


async def test_daily_window_after_backfill_once_a_day() -> None:
    now = [NOW]
    client, repo, publisher = FakeAdict(), MemoryRepository(), InMemoryPublisher()
    service = GrdfService(Settings(), client, publisher, repo, clock=lambda: now[0])
    await service.run_cycle()
    client.calls.clear()
    await service.run_cycle()  # the same Paris day: nothing new to ask
    assert client.calls == []
    now[0] += timedelta(days=1)
    await service.run_cycle()
    tomorrow = TODAY + timedelta(days=1)
    assert client.calls == [
        (PCE, (tomorrow - timedelta(days=7)).isoformat(), tomorrow.isoformat())
    ]


async def test_only_active_rights_are_collected() -> None:
    for state in ("A valider", "Révoquée", "Obsolète", "Refusée"):
        service, client, _repo, publisher = make()
        client.rights_list = [right(state)]
        await service.run_cycle()
        assert client.calls == [], state
        assert not publisher.sent[topics.READINGS]


async def test_revocation_inside_a_stream_stops_and_is_mirrored() -> None:
    service, client, repo, publisher = make()
    repo.live_consents[PCE] = ["c-sen1"]
    client.refuse_with = "1000014"
    await service.run_cycle()
    assert PCE not in repo.live_consents  # SEN1's consent ended with GRDF's right
    _, event = publisher.sent[topics.CONSENT_EVENTS][-1]
    assert event is not None
    assert event.consent_id == "r1,c-sen1"
    assert len(client.calls) == 1
    assert repo.by_pce[PCE].state is RightState.REVOKED
    assert len(publisher.sent[topics.CONSENT_EVENTS]) == 2  # granted, then revoked
    await service.run_cycle()
    assert len(client.calls) == 1


async def test_a_broken_day_keeps_the_cursor_before_it() -> None:
    service, client, repo, publisher = make()
    broken = date(2026, 10, 5)
    client.broken_days = {broken}
    await service.run_cycle()
    cursor = await repo.cursor(PCE)
    assert cursor.informatives_until == broken
    client.broken_days = set()
    await service.run_cycle()
    assert broken in days_published(publisher)


async def test_junk_line_is_dead_lettered_and_the_rest_kept() -> None:
    service, client, _, publisher = make()
    client.junk = True
    await service.run_cycle()
    assert days_published(publisher)
    assert len(publisher.sent[topics.DEAD_LETTERS]) >= 1


async def test_declare_and_revoke() -> None:
    service, client, repo, _ = make()
    holder = Holder("Résident 007", None, "resident007@demo.sen1.invalid", "38130")
    declared = await service.declare(PCE, holder)
    assert declared.state is RightState.PENDING
    assert client.declared[0]["nom_titulaire"] == "Résident 007"
    await service.check_rights()
    assert await service.revoke(PCE)
    assert client.revoked == ["r1"]
    assert repo.by_pce[PCE].state is RightState.REVOKED
    assert not await service.revoke(PCE)  # nothing left to revoke


async def test_dashboard_requests_run_in_order_and_answer() -> None:
    """A declaration with the person's scopes and windows, GRDF's refusal as the
    outcome (code and message), a transient failure queued again after a growing
    backoff (GRDF's Retry-After when longer) until it fails after too many
    tries, an unknown kind refused without stopping the others."""
    from energy_core.errors import TransientError
    from ingest_grdf.repository import GrdfRequest

    service, client, repo, _ = make()
    holder = {
        "name": None,
        "company": "SCI B1",
        "email": "b1@x.fr",
        "postcode": "38130",
    }

    def request(rid: str, kind: str, **more: Any) -> GrdfRequest:
        values: dict[str, Any] = {
            "holder": {}, "scopes": None, "data_from": None, "data_until": None,
            "right_end": None,
        }  # fmt: skip
        values.update(more)
        return GrdfRequest(rid, kind, PCE, **values)

    repo.requests = [
        request(
            "q1",
            "declare",
            holder=holder,
            scopes=["perim_donnees_publiees"],
            data_from=date(2026, 1, 1),
            data_until=date(2027, 1, 1),
            right_end=date(2027, 6, 1),
        ),
        request("q2", "teleport"),
        request("q3", "proofs"),
    ]
    refused = client.upload_proofs

    async def refuse(right_id: str, files: Any) -> None:
        raise AdictRefusedError(409, "1000000018", "GRDF ne demande pas de preuve")

    client.upload_proofs = refuse  # type: ignore[method-assign]
    assert await service.handle_requests() == 3
    body = client.declared[0]
    assert body["raison_sociale"] == "SCI B1"
    assert "nom_titulaire" not in body
    assert body["perim_donnees_publiees"] == "Vrai"
    assert body["perim_donnees_informatives"] == "Faux"
    assert body["perim_donnees_conso_debut"] == "2026-01-01"
    assert body["perim_donnees_conso_fin"] == "2027-01-01"
    assert body["date_fin_droit_acces"] == "2027-06-01"
    assert repo.finished["q1"] == (True, None, None)
    assert repo.finished["q2"][0] is False
    assert repo.finished["q3"] == (False, "1000000018", "GRDF ne demande pas de preuve")
    client.upload_proofs = refused  # type: ignore[method-assign]

    async def unavailable(right_id: str) -> None:
        raise TransientError("ADICT 503")

    async def refuse_revoke(right_id: str) -> None:
        raise AdictRefusedError(404, "2000000003", "deja revoque")

    client.revoke = unavailable  # type: ignore[method-assign]
    await service.check_rights()
    repo.requests = [request("q4", "revoke")]
    assert await service.handle_requests() == 1
    assert "q4" not in repo.finished
    assert repo.deferred["q4"] == (30.0, "ADICT 503")  # first retry in 30 s
    repo.requests = [request("q4", "revoke", attempts=4)]
    await service.handle_requests()
    assert repo.deferred["q4"][0] == 240.0  # 30 s x 2^3
    repo.requests = [request("q4", "revoke", attempts=40)]
    await service.handle_requests()
    assert "q4" in repo.finished, "retried forever"
    assert repo.finished["q4"] == (False, "unavailable", "ADICT 503")

    async def cap_spent(right_id: str) -> None:
        raise TransientError("ADICT daily cap reached", retry_after=5000.0)

    client.revoke = cap_spent  # type: ignore[method-assign]
    repo.requests = [request("q5", "revoke", attempts=2)]
    await service.handle_requests()
    assert repo.deferred["q5"] == (5000.0, "ADICT daily cap reached")

    client.revoke = refuse_revoke  # type: ignore[method-assign]
    repo.requests = [request("q6", "revoke", attempts=3)]
    await service.handle_requests()
    assert "q6" not in repo.deferred, "a permanent refusal is not retried"
    assert repo.finished["q6"] == (False, "2000000003", "deja revoque")
