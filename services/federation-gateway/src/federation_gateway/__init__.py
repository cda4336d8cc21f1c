"""SEN1 federation gateway: one collective shares aggregates and consented series
with its peers, every message signed (HTTP Message Signatures, RFC 9421, Ed25519)
and every byte that leaves decided by one function (:func:`egress.decide`).

Bindings: HTTPS (``app``/``client``, the baseline) and Quoalise over XMPP
(``quoalise/``); both go through the same egress decision and the same peer registry.
"""
