"""ingest-enedis: Enedis Data Connect v5 collection (consent, history, daily cycle)."""
