"""ingest-grdf: gas data from GRDF ADICT (access rights, daily informatives,
published readings, contract and technical data) onto the readings topic.

GRDF gives a third party a PCE's data only under an access right the holder has
accepted; this service declares those rights, follows their states, and collects
only inside an Active right's data window.
"""
