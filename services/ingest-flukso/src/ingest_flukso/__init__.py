"""ingest-flukso: FluksoMeters over MQTT into SEN1 readings, with backfill."""
