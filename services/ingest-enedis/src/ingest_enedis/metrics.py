"""ingest-enedis' own metrics (``/metrics``), named ``ingest_enedis_<noun>_<unit>``.

What a newcomer or an operator asks of a collector: is it talking to Enedis and
what does Enedis answer (requests by outcome, 429s, quota use), how far is the
backfill (PRMs and windows pending, cursor lag), what left (readings published,
holes, dead letters, consents revoked) and when did a cycle last finish.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

REQUESTS = Counter(
    "ingest_enedis_requests_total",
    "Data Connect requests by resource and outcome (ok, no_data, rate_limited, "
    "unavailable, refused, consent_revoked, token_refused, transport_error)",
    ["resource", "outcome"],
)
RATE_LIMITED = Counter(
    "ingest_enedis_rate_limited_total",
    "429 answers of the gateway (every worker pauses after one)",
)
QUOTA_USED = Gauge(
    "ingest_enedis_quota_used_ratio",
    "Share of each quota window used (second: Q3 5/s, hour: Q4 10,000/h)",
    ["quota"],
)
TOKEN_RENEWALS = Counter(
    "ingest_enedis_token_renewals_total", "Client-credentials tokens obtained"
)
PRMS_PENDING = Gauge(
    "ingest_enedis_prms_pending",
    "PRMs of the current cycle not finished yet (0 between cycles)",
)
WINDOWS_PENDING = Gauge(
    "ingest_enedis_windows_pending",
    "Windows planned for the PRMs in progress and not asked yet",
)
WINDOWS = Counter(
    "ingest_enedis_windows_total",
    "Windows asked, by what they gave (published, holes, refused, stopped, floor)",
    ["outcome"],
)
READINGS = Counter(
    "ingest_enedis_readings_published_total",
    "Readings published to the readings topic (acknowledged by the broker)",
)
HOLES = Counter(
    "ingest_enedis_holes_recorded_total", "Missing days recorded to be asked again"
)
DEAD_LETTERS = Counter(
    "ingest_enedis_dead_letters_total", "Windows dead-lettered (refused or invalid)"
)
CONSENTS_REVOKED = Counter(
    "ingest_enedis_consents_revoked_total",
    "PRMs stopped because Enedis said the consent is gone (ADAM-DC-0008)",
)
CURSOR_LAG = Gauge(
    "ingest_enedis_cursor_lag_days",
    "Largest number of published days not yet collected, over the PRMs and "
    "streams seen in the current or last cycle (0 when every cursor is current)",
)
BACKFILL_DAYS = Gauge(
    "ingest_enedis_backfill_days_remaining",
    "Days still to collect over the PRMs and streams seen (history and increment)",
)
CYCLE_SECONDS = Gauge(
    "ingest_enedis_cycle_duration_seconds", "Duration of the last finished cycle"
)
CYCLE_END = Gauge(
    "ingest_enedis_last_cycle_end_timestamp_seconds",
    "When the last cycle finished (Unix time; stale = the loop is stuck)",
)
CYCLES = Counter(
    "ingest_enedis_cycles_total", "Cycles by result (done, failed)", ["result"]
)
