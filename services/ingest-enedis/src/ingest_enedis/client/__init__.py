"""Enedis Data Connect over HTTP: token, metering and customers, vendor errors.

Knows no Kafka and no SQL (import contract); the shared quota limiter is the
only state it keeps besides the token.
"""

from ingest_enedis.client.dataconnect import (
    ADDRESSES_PATH,
    CONTRACTS_PATH,
    BeforeActivationError,
    BeforeConsentError,
    DataConnectClient,
    HistoryLimitError,
    WrongDirectionError,
    outcome_of,
    raise_for_vendor,
)

__all__ = [
    "ADDRESSES_PATH",
    "CONTRACTS_PATH",
    "BeforeActivationError",
    "BeforeConsentError",
    "DataConnectClient",
    "HistoryLimitError",
    "WrongDirectionError",
    "outcome_of",
    "raise_for_vendor",
]
