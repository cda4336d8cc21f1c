"""One collector at a time (ADICT's quotas are the application's, the limiter is
per process), and `make run` points the service at the emulator with the demo
quota on both sides while production keeps 1 call/s."""

from pathlib import Path

import yaml

from grdf_emulator.stack import processes as emulator_processes
from ingest_grdf.settings import EMULATOR_PORT, Settings
from ingest_grdf.stack import processes

CHARTS = Path(__file__).resolve().parents[4] / "charts"
DEFAULTS = yaml.safe_load((CHARTS / "energy-common/values.yaml").read_text())[
    "exports"
]["defaults"]
VALUES = {
    **DEFAULTS,
    **yaml.safe_load((CHARTS / "ingest-grdf/values.yaml").read_text()),
}


def test_one_collector_at_a_time() -> None:
    assert VALUES["replicaCount"] == 1
    assert VALUES["updateStrategy"]["type"] == "Recreate"
    assert VALUES["containerPorts"]["http"] == Settings().http_port


def test_make_run_uses_the_emulator_and_one_demo_quota_on_both_sides() -> None:
    ctx = {"host": "127.0.0.1", "python": "python"}
    (service,) = processes(ctx)
    (emulator,) = emulator_processes(ctx)
    env = service["env"]
    assert env["INGEST_GRDF_BASE_URL"] == f"http://127.0.0.1:{EMULATOR_PORT}/adict/v2"
    assert service["order"] > emulator["order"]
    demo_rate = float(emulator["env"]["GRDF_EMULATOR_REQUESTS_PER_SECOND"])
    assert (
        float(env["INGEST_GRDF_QUOTA_TIME_SCALE"]) * Settings().requests_per_second
        == demo_rate
    )
    assert env["INGEST_GRDF_DECLARE_DEMO"] == "true"
    production = Settings()
    assert production.requests_per_second == 1.0
    assert production.quota_time_scale == 1.0
    assert production.daily_cap == 6000
    assert not production.declare_demo
