"""The Quoalise binding (Consometers' XMPP + SenML protocol, ``urn:quoalise:0``).

SEN1 answers the Quoalise ad-hoc commands (``get_history``, ``get_records``,
``subscribe``, ``unsubscribe``) for the series :func:`federation_gateway.egress.decide`
lets leave, and reads other Quoalise proxies as an inbound source. Quoalise has no
message signatures: a requester is the bare JID its XMPP server stamped, mapped by
the operator to a registered peer (``quoalise_peer_jids``). The wire format follows
the protocol note of the project (mandatory ``<meta>``, holes left out, one series
per ``<data>``, period-start stamps, ``upstream-error`` with issuer and code).

- :mod:`.payload`: pure build and parse of ``<quoalise><data>`` (no XMPP, no I/O).
- :mod:`.responder`: the slixmpp provider (commands, pushes as ``<message>``).
- :mod:`.reader`: SEN1 as a Quoalise client of another proxy.
"""
