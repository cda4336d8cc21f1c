"""A faithful FluksoMeter emulator: devices on MQTT plus the flukso.net REST API.

Live messages and REST history come from one deterministic generator
(:mod:`flukso_emulator.model`), so both agree on every minute.
"""
