"""What the emulator remembers: emulated date, subscriptions, orders, key version.

In memory only (a restart starts afresh, like a homologation platform reset);
the test hooks read and move it.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sge_emulator.catalogue import ASS_SERVICE_ID, Catalogue
from sge_emulator.settings import EmulatorSettings

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Subscription:
    """One subscribed service on a point, in either model.

    ``kind`` is what it publishes: ``CDC`` (R50 for C5, R4Q for C1-C4), ``IDX``
    (R151 / R171), or ``ENERGIE``/``PMAX`` (services d'accès, R151 too).
    ``recurrent`` False is collection only (F300CO2): nothing is published.
    """

    service_id: str
    affaire_id: str
    prm: str
    kind: str
    model: str  # "collecte" (old) | "acces" (services d'accès)
    start: date
    end: date | None
    recurrent: bool = True
    periodicity: str = "P1D"
    corrected: bool = False
    soutirage: bool = True
    injection: bool = False
    state: str = "ACTIF"
    stopped_on: date | None = None

    def active_on(self, day: date) -> bool:
        if self.state != "ACTIF":
            return False
        return self.start <= day and (self.end is None or day < self.end)


@dataclass
class Order:
    """An asynchronous order (M023, HDM, InfraJ): files are dropped at the next night."""

    affaire_id: str
    service: str  # MFI | MFA | ITC | HDM
    prms: list[str]
    type_code: str | None
    start: date | None
    end: date | None
    fmt: str = "JSON"
    delivered: bool = False


@dataclass
class EmulatorState:
    settings: EmulatorSettings
    catalogue: Catalogue
    today: date
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    key_version: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(1234))
    calls: int = 0
    nights: int = 0

    def new_affaire_id(self) -> str:
        """``[0-9A-Z]{4,8}``, shaped like the real ``M02SXITK``."""
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = "M0" + "".join(self.rng.choice(alphabet) for _ in range(6))
            if candidate not in self.orders and all(
                s.affaire_id != candidate for s in self.subscriptions.values()
            ):
                return candidate

    def new_service_id(self) -> str:
        while True:
            candidate = str(self.rng.randint(10_000_000, 99_999_999))
            if candidate not in self.subscriptions:
                return candidate

    def now(self) -> datetime:
        """Emulated wall clock: the emulated date at 03:00 Paris (publication time)."""
        return datetime(
            self.today.year, self.today.month, self.today.day, 3, 0, tzinfo=PARIS
        )

    def active(
        self, prm: str, kinds: tuple[str, ...] | None = None
    ) -> list[Subscription]:
        return [
            s
            for s in self.subscriptions.values()
            if s.prm == prm
            and s.state == "ACTIF"
            and (kinds is None or s.kind in kinds)
        ]

    def seed_homologation(self) -> None:
        """ASS-R1 stops service 47761068 on 25884515170669: it must exist."""
        self.subscriptions[ASS_SERVICE_ID] = Subscription(
            service_id=ASS_SERVICE_ID,
            affaire_id="M02SXITK",
            prm="25884515170669",
            kind="CDC",
            model="collecte",
            start=date(self.today.year, 1, 1),
            end=None,
        )
        # SAD family: service 666 on the C5 and C2-C4 points (ASAD-R1).
        for prm in ("24380318190106", "98800003605600"):
            sid = "666" if prm.startswith("2") else "667"
            self.subscriptions[sid] = Subscription(
                service_id=sid,
                affaire_id=self.new_affaire_id(),
                prm=prm,
                kind="CDC",
                model="acces",
                start=date(self.today.year, 1, 1),
                end=None,
            )
