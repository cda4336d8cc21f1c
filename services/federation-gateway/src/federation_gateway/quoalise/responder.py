"""SEN1 as a Quoalise provider: the ad-hoc commands over XMPP, and pushes.

One slixmpp client connection (the provider's full JID, e.g.
``sen1@collective.example/proxy``) answers XEP-0050 commands in the one-step form
the reference client sends (the submitted form inside the first ``execute``, no
``sessionid``):

- ``get_history`` (and ``get_records``, its name before 2022): ``identifier``,
  ``start_time``, ``end_time`` (ISO 8601 with an offset; naive stamps are refused
  with ``bad-request``). The window is half-open ``[start_time, end_time)`` on
  period-start stamps; a missing ``end_time`` is now, a missing ``start_time`` one
  day before the end; at most 400 days and 5,000 records per answer.
- ``subscribe`` / ``unsubscribe``: ``identifier``; ``unsubscribe`` also takes a bare
  ``urn:dev:prm:<PRM>`` and drops every subscription of that PRM. Subscribing twice
  is a success.

Who asks is the bare JID the requester's XMPP server stamped; the peer registry
says whose it is (``federation_peers.jid``; the older ``quoalise_peer_jids``
setting is read when no registry row names the JID); an unknown JID, a revoked
peer or anything :func:`federation_gateway.egress.decide` refuses is
``not-authorized`` (the text names the identifier, never a count of points). A
storage failure is ``undefined-condition`` with
``<upstream-error issuer="sen1-federation-gateway" code="storage-unavailable"/>``.

Pushes are ``<message>`` stanzas without type or body, to the subscriber's bare
JID, each carrying one ``<quoalise><data>``; every pushed value passes
``egress.decide`` again at push time, so a revoked consent or peer stops the next
push. A push sends the values of the last :data:`LOOKBACK` newer than the newest
already known (values are period-start stamped and arrive after their period), and
a consented series' push is written to the access log when something is sent.
Subscriptions are kept in PostgreSQL (``quoalise_subscriptions``, with the newest
period start pushed) when a :class:`QuoaliseStore` is given, and restored at start:
a restart loses none and pushes nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import slixmpp
from prometheus_client import Counter
from slixmpp.exceptions import XMPPError

from energy_core.loops import sleep_or_stop
from energy_core.privacy import SecrecyRule
from federation_gateway.mapping import (
    AggregateUrn,
    IndividualUrn,
    UrnError,
    parse_urn,
)
from federation_gateway.quoalise import stanza
from federation_gateway.quoalise.payload import NS, PayloadError, build_data
from federation_gateway.quoalise.series import (
    Answer,
    Forbidden,
    Source,
    aggregate_answer,
    series_answer,
)
from federation_gateway.repository import Peer

logger = logging.getLogger(__name__)

ISSUER = "sen1-federation-gateway"
MAX_WINDOW = timedelta(days=400)
ROUTE = "xmpp:quoalise"
"""The route written to the resident's access log for a Quoalise read."""

COMMANDS = Counter(
    "federation_gateway_quoalise_commands_total",
    "Quoalise ad-hoc commands answered, by node and outcome",
    ["node", "outcome"],
)
PUSHED = Counter(
    "federation_gateway_quoalise_pushed_records_total",
    "SenML records pushed to Quoalise subscribers",
)

SAMPLE_IDENTIFIER = "urn:dev:prm:00000000000000_consumption/energy/active/daily"


LOOKBACK = timedelta(days=7)
"""Pushes look this far back for new values: a day's value is stamped at the day's
start but arrives later, so a cursor on the subscription time alone would skip it."""


class QuoaliseStore(Protocol):
    """Where subscriptions persist and JIDs are resolved (PgRepository)."""

    async def peer_by_jid(self, jid: str) -> Peer | None: ...

    async def quoalise_subscriptions(
        self,
    ) -> list[tuple[str, str, datetime | None]]: ...

    async def add_quoalise_subscription(
        self, jid: str, identifier: str, last_start: datetime | None
    ) -> None: ...

    async def remove_quoalise_subscriptions(
        self, jid: str, identifier: str
    ) -> None: ...

    async def advance_quoalise_subscription(
        self, jid: str, identifier: str, last_start: datetime
    ) -> None: ...


@dataclass
class _Subscription:
    jid: str
    identifier: str
    last_start: datetime | None
    """Newest period start known (existing at subscription, or pushed since)."""


@dataclass
class Subscriptions:
    """Who subscribed to what (in memory; idempotent per (jid, identifier))."""

    items: dict[tuple[str, str], _Subscription] = field(default_factory=dict)

    def add(self, jid: str, identifier: str, last_start: datetime | None) -> None:
        self.items.setdefault(
            (jid, identifier), _Subscription(jid, identifier, last_start)
        )

    def remove(self, jid: str, identifier: str) -> int:
        """Drops ``identifier`` or, for a bare ``urn:dev:prm:<PRM>``, all of it."""
        gone = [
            k
            for k in self.items
            if k[0] == jid and (k[1] == identifier or k[1].startswith(identifier + "_"))
        ]
        for k in gone:
            del self.items[k]
        return len(gone)


def _form_values(session: dict[str, Any]) -> dict[str, str] | None:
    payload = session.get("payload")
    forms = payload if isinstance(payload, list) else [payload]
    for form in forms:
        if form is not None and getattr(form, "plugin_attrib", "") == "form":
            return {
                str(k): str(v.get("value") or "") for k, v in form.get_fields().items()
            }
    return None


def _stamp(values: dict[str, str], key: str) -> datetime | None:
    text = values.get(key, "").strip()
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise XMPPError("bad-request", text=f"{key} is not ISO 8601") from exc
    if stamp.tzinfo is None:
        raise XMPPError(
            "bad-request", text=f"{key} must carry a UTC offset (e.g. +01:00)"
        )
    return stamp


def upstream_error(code: str, text: str) -> XMPPError:
    """``undefined-condition`` with Quoalise's ``upstream-error`` (issuer and code
    both set: the reference client reads both attributes)."""
    return XMPPError(
        "undefined-condition",
        text=text,
        etype="cancel",
        extension="upstream-error",
        extension_ns=NS,
        extension_args={"issuer": ISSUER, "code": code},
    )


class Responder:
    """Answers Quoalise commands and pushes to subscribers (given its collaborators)."""

    def __init__(
        self,
        xmpp: slixmpp.ClientXMPP,
        source: Source,
        rule: SecrecyRule,
        peer_jids: dict[str, str],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        store: QuoaliseStore | None = None,
    ) -> None:
        self.xmpp = xmpp
        self.source = source
        self.rule = rule
        self.peer_jids = {k.lower(): v for k, v in peer_jids.items()}
        self.clock = clock
        self.store = store
        self.subscriptions = Subscriptions()
        stanza.register()

    async def restore(self) -> int:
        """Loads the persisted subscriptions (at start); returns how many."""
        if self.store is None:
            return 0
        for jid, identifier, last_start in await self.store.quoalise_subscriptions():
            self.subscriptions.add(jid, identifier, last_start)
        return len(self.subscriptions.items)

    def _form(self, *, ftype: str, title: str) -> Any:
        make = self.xmpp.plugin["xep_0004"].make_form
        return make(ftype=ftype, title=title)  # type: ignore[no-untyped-call]

    def register_commands(self) -> None:
        """Called once the session started (commands are keyed by our full JID)."""
        adhoc = self.xmpp.plugin["xep_0050"]
        for node, name in (
            ("get_history", "Get history"),
            ("get_records", "Get records"),
            ("subscribe", "Subscribe"),
            ("unsubscribe", "Unsubscribe"),
        ):
            adhoc.add_command(node=node, name=name, handler=self._handler(node, name))

    def _handler(self, node: str, title: str) -> Callable[..., Any]:
        async def handle(first: Any, session: dict[str, Any]) -> dict[str, Any]:
            # First step: (iq, session) with the submitted form in the session's
            # payload. A later ``complete`` (people filling the blank form in an
            # XMPP client): (submitted form, session).
            if getattr(first, "plugin_attrib", "") == "form":
                values = _form_values({"payload": first})
            else:
                values = _form_values(session)
            if values is None:
                return self._blank_form(session, node, title)
            try:
                result = await self._run(node, session["from"].bare, values)
            except XMPPError as exc:
                COMMANDS.labels(node, exc.condition).inc()
                raise
            except Exception as exc:
                # No traceback text to the peer: "Slixmpp got into trouble" tells
                # nobody anything; an upstream-error says it is ours and transient.
                logger.exception("quoalise %s failed (%s)", node, type(exc).__name__)
                COMMANDS.labels(node, "upstream-error").inc()
                raise upstream_error("storage-unavailable", "try again later") from exc
            COMMANDS.labels(node, "ok").inc()
            form = self._form(ftype="result", title=title)
            form.add_field(
                var="result",
                ftype="fixed",
                label=f"{title.split()[0]} {values.get('identifier', '')}",
                value="Success",
            )
            session["payload"] = [form, *result]
            session["next"] = None
            session["has_next"] = False
            return session

        return handle

    def _blank_form(
        self, session: dict[str, Any], node: str, title: str
    ) -> dict[str, Any]:
        """For people in an XMPP client (Gajim): ``execute`` without a form gets the
        form to fill; the Quoalise client never takes this path."""
        form = self._form(ftype="form", title=title)
        form.add_field(
            var="identifier",
            ftype="text-single",
            required=True,
            value=SAMPLE_IDENTIFIER,
        )
        if node in ("get_history", "get_records"):
            end = self.clock().replace(hour=0, minute=0, second=0, microsecond=0)
            form.add_field(
                var="start_time",
                ftype="text-single",
                value=(end - timedelta(days=1)).isoformat(),
            )
            form.add_field(var="end_time", ftype="text-single", value=end.isoformat())
        session["payload"] = form
        session["next"] = self._handler(node, title)
        session["has_next"] = False
        return session

    async def _peer(self, bare_jid: str) -> Peer:
        peer = await self.store.peer_by_jid(bare_jid) if self.store else None
        if peer is None:
            domain = self.peer_jids.get(bare_jid.lower())
            peer = await self.source.peer(domain) if domain else None
        now = self.clock()
        if peer is None or (peer.revoked_at is not None and peer.revoked_at <= now):
            raise XMPPError(
                "not-authorized", text=f"{bare_jid} is not a peer of this collective"
            )
        return peer

    async def _run(
        self, node: str, bare_jid: str, values: dict[str, str]
    ) -> list[stanza.Quoalise]:
        identifier = values.get("identifier", "").strip()
        peer = await self._peer(bare_jid)
        now = self.clock()
        if node == "unsubscribe":
            if not identifier.startswith(("urn:dev:", "urn:sen1:")):
                raise XMPPError(
                    "bad-request", text=f"unexpected identifier {identifier!r}"
                )
            self.subscriptions.remove(bare_jid, identifier)
            if self.store is not None:
                await self.store.remove_quoalise_subscriptions(bare_jid, identifier)
            return []
        urn = self._urn(identifier)
        if node == "subscribe":
            # Checked now, and again at every push; what exists already is not
            # pushed (get_history reads it), what arrives after is.
            known = await self._answer(peer, urn, now - LOOKBACK, now, now, push=True)
            newest = max((s.start for s in known.samples), default=None)
            if (bare_jid, identifier) not in self.subscriptions.items:
                self.subscriptions.add(bare_jid, identifier, newest)
                if self.store is not None:
                    await self.store.add_quoalise_subscription(
                        bare_jid, identifier, newest
                    )
            return []
        end = _stamp(values, "end_time") or now
        start = _stamp(values, "start_time") or end - timedelta(days=1)
        if end <= start or end - start > MAX_WINDOW:
            raise XMPPError(
                "bad-request",
                text="start_time must be before end_time, at most 400 days",
            )
        answer = await self._answer(peer, urn, start, end, now)
        try:
            data = build_data(identifier, answer.meta, answer.samples)
        except PayloadError as exc:
            raise XMPPError("bad-request", text=str(exc)) from exc
        return [stanza.wrap(data)]

    @staticmethod
    def _urn(identifier: str) -> AggregateUrn | IndividualUrn:
        try:
            return parse_urn(identifier)
        except UrnError as exc:
            raise XMPPError(
                "bad-request",
                text=f"unexpected identifier {identifier!r}, should be like "
                "'urn:dev:prm:00000000000000_consumption/energy/active/daily' or "
                "'urn:sen1:iris:381510101_consumption/energy/active/P1D'",
            ) from exc

    async def _answer(
        self,
        peer: Peer,
        urn: AggregateUrn | IndividualUrn,
        start: datetime,
        end: datetime,
        now: datetime,
        *,
        push: bool = False,
    ) -> Answer:
        try:
            if isinstance(urn, AggregateUrn):
                return await aggregate_answer(
                    self.source, peer, urn, start, end, rule=self.rule, now=now
                )
            return await series_answer(
                self.source,
                peer,
                urn,
                start,
                end,
                rule=self.rule,
                now=now,
                route=ROUTE,
                log=not push,
                clamp=push,
            )
        except Forbidden as exc:
            raise XMPPError("not-authorized", text=str(exc)) from exc

    async def push_round(self) -> int:
        """Pushes, per subscription, the values newer than the newest known that may
        leave now; returns how many records went out."""
        sent = 0
        now = self.clock()
        for sub in list(self.subscriptions.items.values()):
            try:
                peer = await self._peer(sub.jid)
                urn = self._urn(sub.identifier)
                answer = await self._answer(
                    peer, urn, now - LOOKBACK, now, now, push=True
                )
            except XMPPError as exc:
                logger.info("quoalise push skipped (%s)", exc.condition)
                continue
            last = sub.last_start
            fresh = [s for s in answer.samples if last is None or s.start > last]
            for i in range(0, len(fresh), 1000):
                chunk = fresh[i : i + 1000]
                msg = self.xmpp.make_message(mto=sub.jid)
                msg.append(stanza.wrap(build_data(sub.identifier, answer.meta, chunk)))
                msg.send()
                sent += len(chunk)
            if fresh:
                sub.last_start = max(s.start for s in fresh)
                if self.store is not None:
                    await self.store.advance_quoalise_subscription(
                        sub.jid, sub.identifier, sub.last_start
                    )
                if answer.consent is not None:
                    await self.source.log_access(answer.consent, ROUTE)
        PUSHED.inc(sent)
        return sent

    async def run_pushes(self, stop: asyncio.Event, interval: float) -> None:
        """The push loop (stop-aware)."""
        while not stop.is_set():
            try:
                await self.push_round()
            except Exception as exc:
                logger.warning("quoalise push round failed (%s)", type(exc).__name__)
            await sleep_or_stop(stop, interval)
