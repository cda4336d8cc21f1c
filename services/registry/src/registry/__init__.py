"""SEN1 registry process: migrations, demo territory, territory outbox relay (``sen1-registry``)."""
