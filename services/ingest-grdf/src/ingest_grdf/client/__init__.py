"""The ADICT protocol: token, quotas, retries, NDJSON. No Kafka, no SQL."""

from ingest_grdf.client.adict import AdictClient, AdictRefusedError, TokenProvider
from ingest_grdf.client.limiter import (
    DailyCapReachedError,
    QuotaLimiter,
    QuotaStore,
)
from ingest_grdf.client.ndjson import Parsed, parse

__all__ = [
    "AdictClient",
    "AdictRefusedError",
    "DailyCapReachedError",
    "Parsed",
    "QuotaLimiter",
    "QuotaStore",
    "TokenProvider",
    "parse",
]
