"""The ``<quoalise xmlns="urn:quoalise:0">`` stanza plugin.

xep_0050 only carries ``ElementBase`` payloads (a plain ElementTree element in a
command's payload crashes it), so the ``<data>`` tree built by :mod:`.payload` is
appended to this wrapper, for ad-hoc replies and pushed ``<message>`` stanzas alike.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import ClassVar

from slixmpp import Message
from slixmpp.plugins.xep_0050.stanza import Command
from slixmpp.xmlstream import ElementBase, register_stanza_plugin

from federation_gateway.quoalise.payload import NS


class Quoalise(ElementBase):
    """``<quoalise xmlns="urn:quoalise:0">`` holding one ``<data>``."""

    name = "quoalise"
    namespace = NS
    plugin_attrib = "quoalise"
    interfaces: ClassVar[set[str]] = set()


def register() -> None:
    """Lets commands and messages carry (and parse) the Quoalise element."""
    register_stanza_plugin(Command, Quoalise, iterable=True)
    register_stanza_plugin(Message, Quoalise)


def wrap(data: ET.Element) -> Quoalise:
    """A stanza plugin instance around ``data``."""
    q = Quoalise()
    q.xml.append(data)
    return q
