"""SEN1 as a Quoalise client: reads another proxy's series as an inbound source.

:class:`QuoaliseReader` sends the one-step ``get_history`` the reference client
sends (§2.1 of the protocol note) to a provider's full JID and reads the first
``quoalise/data`` of the reply. Failures map onto SEN1's error tree:

- ``not-authorized`` (no consent there), ``bad-request``, ``item-not-found`` (the
  provider has no such command) -> :class:`QuoaliseRefused` (permanent);
- ``undefined-condition`` + ``upstream-error`` -> :class:`QuoaliseUpstreamError`
  (transient, keeps ``issuer`` and ``code`` unchanged);
- ``service-unavailable`` (the provider's resource is offline), a timeout ->
  ``UpstreamUnavailableError`` (transient).

:func:`inbound_rows` turns a payload into the gateway's inbound rows
(``mapping.Received``) with the provider as provenance: Quoalise has no
signature, so the stored ``keyid`` is ``xmpp:<provider bare JID>`` and the
signature is empty — what was verified is the XMPP server's stamp, nothing more.
No Kafka and no SQL here.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import datetime

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

from energy_core.errors import PermanentError, UpstreamUnavailableError
from federation_gateway.mapping import Received
from federation_gateway.quoalise.payload import (
    Data,
    PayloadError,
    find_data,
    parse_data,
)

CMD_NS = "http://jabber.org/protocol/commands"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class QuoaliseRefused(PermanentError):
    """The provider refused (condition kept for the caller's log and metrics)."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(f"{condition}: {text}")
        self.condition = condition


class QuoaliseUpstreamError(UpstreamUnavailableError):
    """The provider's own upstream failed (``upstream-error issuer code``)."""

    def __init__(self, issuer: str, code: str, text: str) -> None:
        super().__init__(f"{issuer} {code}: {text}")
        self.issuer = issuer
        self.code = code


def _error(iq_error: IqError) -> Exception:
    err = iq_error.iq.xml.find("{jabber:client}error")
    condition, text = "undefined-condition", ""
    upstream = None
    if err is not None:
        for child in err:
            if child.tag == f"{{{STANZAS}}}text":
                text = child.text or ""
            elif child.tag.startswith(f"{{{STANZAS}}}"):
                condition = child.tag.split("}", 1)[1]
            elif child.tag == "{urn:quoalise:0}upstream-error":
                upstream = child
    if upstream is not None:
        return QuoaliseUpstreamError(
            upstream.get("issuer", ""), upstream.get("code", ""), text
        )
    if condition in (
        "service-unavailable",
        "remote-server-not-found",
        "recipient-unavailable",
    ):
        return UpstreamUnavailableError(f"{condition}: {text}")
    return QuoaliseRefused(condition, text)


class QuoaliseReader:
    """Reads history from Quoalise providers over an open slixmpp session."""

    def __init__(self, xmpp: slixmpp.ClientXMPP, *, wait_s: float = 30.0) -> None:
        self.xmpp = xmpp
        self.wait_s = wait_s

    async def get_history(
        self,
        provider: str,
        identifier: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Data:
        """One ``get_history``; ``start``/``end`` must be aware (sent with offset)."""
        for stamp in (start, end):
            if stamp is not None and stamp.tzinfo is None:
                raise ValueError("start and end must be aware")
        iq = self.xmpp.make_iq_set(ito=provider)
        cmd = ET.SubElement(
            iq.xml, f"{{{CMD_NS}}}command", {"node": "get_history", "action": "execute"}
        )
        form = ET.SubElement(cmd, "{jabber:x:data}x", {"type": "submit"})
        fields = {"identifier": identifier}
        if start is not None:
            fields["start_time"] = start.isoformat()
        if end is not None:
            fields["end_time"] = end.isoformat()
        for var, value in fields.items():
            f = ET.SubElement(
                form, "{jabber:x:data}field", {"var": var, "type": "text-single"}
            )
            ET.SubElement(f, "{jabber:x:data}value").text = value
        try:
            reply = await iq.send(timeout=self.wait_s)  # type: ignore[no-untyped-call]
        except IqError as exc:
            raise _error(exc) from exc
        except IqTimeout as exc:
            raise UpstreamUnavailableError(f"{provider} did not answer") from exc
        command = reply.xml.find(f"{{{CMD_NS}}}command")
        if command is None or command.get("status") != "completed":
            raise QuoaliseRefused("unexpected-reply", "the command did not complete")
        data = find_data(command)
        if data is None:
            raise QuoaliseRefused("unexpected-reply", "no quoalise/data in the reply")
        try:
            return parse_data(data)
        except PayloadError as exc:
            raise QuoaliseRefused("bad-payload", str(exc)) from exc


def inbound_rows(data: Data, identifier: str) -> list[Received]:
    """The records of ``identifier`` as inbound rows (other names are dropped:
    one series per ``<data>``, and a provider must not slip in another)."""
    return [
        Received(
            urn=r.name,
            start=r.time,
            value=r.value,
            unit=r.unit,
            points=None,
            max_share=None,
        )
        for r in data.records
        if r.name == identifier
    ]


def provenance(provider: str, rows: list[Received]) -> tuple[str, str]:
    """(keyid, idempotency key) to store rows read from ``provider`` with."""
    bare = provider.split("/", 1)[0]
    digest = hashlib.sha256(
        "|".join(f"{r.urn}|{r.start.isoformat()}|{r.value!r}" for r in rows).encode()
    ).hexdigest()
    return f"xmpp:{bare}", f"quoalise:{bare}:{digest}"
