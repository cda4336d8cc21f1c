"""ingest-grdf's own metrics (``/metrics``), named ``ingest_grdf_<noun>_<unit>``.

What an operator asks of a gas collector: what does ADICT answer (requests by
outcome, 429s, quota use, token renewals), which rights are in which state, how
far the backfill is (PCEs pending, days done), and what left (readings
published, dead letters).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

REQUESTS = Counter(
    "ingest_grdf_requests_total",
    "ADICT requests by resource and outcome (ok, refused, rate_limited, "
    "unavailable, token_refused, transport_error)",
    ["resource", "outcome"],
)
RATE_LIMITED = Counter(
    "ingest_grdf_rate_limited_total", "429 answers (every worker pauses after one)"
)
QUOTA_USED = Gauge(
    "ingest_grdf_quota_used_ratio", "Share of today's ADICT daily cap used"
)
TOKEN_RENEWALS = Counter(
    "ingest_grdf_token_renewals_total",
    "Tokens obtained, by reason (first, expiring, rejected)",
    ["reason"],
)
FUNCTIONAL_ERRORS = Counter(
    "ingest_grdf_functional_errors_total",
    "Objects of an HTTP 200 stream carrying statut_restitution, by code",
    ["code"],
)
RIGHTS = Gauge(
    "ingest_grdf_rights_count", "Access rights known, by SEN1 state", ["state"]
)
BACKFILL_PCES_PENDING = Gauge(
    "ingest_grdf_backfill_pces_pending",
    "PCEs with an Active right whose first-contact backfill is not finished",
)
BACKFILL_DAYS = Counter(
    "ingest_grdf_backfill_days_total", "Gas days asked during first-contact backfills"
)
READINGS = Counter(
    "ingest_grdf_readings_published_total",
    "Readings published to the readings topic (acknowledged by the broker)",
)
DEAD_LETTERS = Counter(
    "ingest_grdf_dead_letters_total", "Records dead-lettered (invalid or refused)"
)
CYCLES = Counter(
    "ingest_grdf_cycles_total", "Collection cycles by result (done, failed)", ["result"]
)

REQUESTS_HANDLED = Counter(
    "ingest_grdf_dashboard_requests_total",
    "Dashboard requests handled (declare, revoke, proofs) by outcome",
    ["kind", "outcome"],
)
PROOFS = Gauge(
    "ingest_grdf_proofs_count",
    "Live rights by GRDF's proof check (requested: the holder's files are awaited)",
    ["status"],
)
