"""The emulated flukso.net API and device messages follow the upstream contract."""

from __future__ import annotations

import json

import httpx

from flukso_emulator.api import make_app
from flukso_emulator.devices import Fleet, config_messages
from flukso_emulator.model import energy_between, minute_power
from flukso_emulator.publisher import fleet_devices
from flukso_emulator.settings import DEMO_TOKEN
from flukso_emulator.stack import processes as emulator_processes
from ingest_flukso.mapping import parse_config
from ingest_flukso.stack import processes as service_processes

NOW = 1_800_000_030  # 30 s into a minute
DEVICES = fleet_devices()
SENSOR = DEVICES[1].sensors[0]


def _client() -> httpx.AsyncClient:
    app = make_app(DEVICES, token=DEMO_TOKEN, now=lambda: NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://e")


async def _get(params: dict[str, str], **headers: str) -> httpx.Response:
    async with _client() as client:
        return await client.get(
            f"/sensor/{SENSOR.sensor_id}", params=params, headers=headers
        )


async def test_minute_history_is_end_stamped_rounded_and_nan_when_incomplete() -> None:
    start = NOW - 300
    response = await _get(
        {"start": str(start), "end": str(NOW + 60), "resolution": "minute"},
        **{"X-Token": DEMO_TOKEN, "X-Version": "1.0"},
    )
    assert response.status_code == 200
    points = response.json()
    assert [t for t, _ in points] == list(range(start // 60 * 60 + 60, NOW + 61, 60))
    assert points[-1][1] == "nan"  # the bucket still running
    end, watts = points[0]
    assert watts == round(minute_power(SENSOR, end // 60 - 1))
    assert isinstance(watts, int)


async def test_errors_follow_the_server() -> None:
    ok = {"X-Token": DEMO_TOKEN, "X-Version": "1.0"}
    both = await _get({"interval": "hour", "version": "1.0"}, **ok)
    assert both.status_code == 400  # version given twice
    exclusive = await _get({"interval": "hour", "start": "1"}, **ok)
    assert exclusive.status_code == 400
    wrong = await _get(
        {"interval": "hour"}, **{"X-Token": "f" * 32, "X-Version": "1.0"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Access refused"
    async with _client() as client:
        missing = await client.get(f"/sensor/{'0' * 32}?interval=hour", headers=ok)
    assert missing.status_code == 404


async def test_jsonp_csv_and_param_all() -> None:
    ok = {"X-Token": DEMO_TOKEN, "X-Version": "1.0"}
    jsonp = await _get({"interval": "hour", "callback": "cb"}, **ok)
    assert jsonp.text.startswith("cb([[")
    assert jsonp.text.endswith("])")
    csv = await _get({"interval": "hour"}, Accept="text/csv", **ok)
    assert csv.text.count("\r\n") == 60
    meta = await _get({"param": "all"}, **ok)
    assert meta.json()["type"] == "electricity"


def test_devices_publish_configs_gauges_and_changed_counters() -> None:
    device = DEVICES[0]  # the three-phase FLM03 home
    topics = [t for t, _ in config_messages(device)]
    assert f"/device/{device.device_id}/test/tap" in topics
    config = parse_config(device.device_id, config_messages(device)[0][1])
    assert config.phases == 3
    assert {s.meter for s in config.sensors if s.phase} == {device.device_id}
    fleet = Fleet([DEVICES[1]], start=NOW)
    first = fleet.tick(NOW + 1)
    gauge = json.loads(next(p for t, p in first if t.endswith("/gauge")))
    assert gauge[0] == NOW + 1
    assert gauge[2] == "W"
    assert isinstance(gauge[1], int)
    counters = [
        json.loads(p)[1]
        for s in range(2, 200)
        for t, p in fleet.tick(NOW + s)
        if t.endswith("/counter")
    ]
    assert counters == sorted(set(counters))  # only when it changed, increasing
    grown = counters[-1] - counters[0]
    assert abs(grown - energy_between(SENSOR, NOW + 2, NOW + 199)) <= 2


def test_stack_announces_the_emulator_before_the_service() -> None:
    ctx = {"python": "py", "host": "127.0.0.1", "var_dir": "/data"}
    specs = [*emulator_processes(ctx), *service_processes(ctx)]
    assert [(s["name"], s["order"]) for s in specs] == [
        ("flukso-emulator", 10),
        ("ingest-flukso", 20),
    ]
    assert specs[1]["env"]["INGEST_FLUKSO_HTTP_PORT"] == 8011
    assert specs[0]["env"]["FLUKSO_EMULATOR_HTTP_PORT"] == 8091
    # the service backfills from the emulator the stack starts
    assert specs[1]["env"]["INGEST_FLUKSO_API_URL"] == "http://127.0.0.1:8091"
    # first-contact history is remembered beside the stack's database
    state = specs[1]["env"]["INGEST_FLUKSO_HISTORY_STATE_FILE"]
    assert state == "/data/ingest-flukso/history.json"


async def test_a_pv_sensors_year_of_days_is_the_mean_of_its_minutes() -> None:
    pv = next(s for d in DEVICES for s in d.sensors if s.pv_kwp > 0)
    async with _client() as client:
        response = await client.get(
            f"/sensor/{pv.sensor_id}",
            params={"interval": "year", "resolution": "day"},
            headers={"X-Token": DEMO_TOKEN, "X-Version": "1.0"},
        )
    points = response.json()
    assert len(points) == 365
    assert points[-1][1] == "nan"
    assert all(t % 86_400 == 0 for t, _ in points)
    # a day across the spring DST change, then a summer and a winter day: the
    # mean of the very minutes live devices publish
    by_end = dict(points)
    for day_end in (1_774_828_800, 1_784_332_800, 1_797_811_200):
        minutes = range(day_end // 60 - 1440, day_end // 60)
        mean = sum(minute_power(pv, m) for m in minutes) / 1440
        assert by_end[day_end] == round(mean)
    summer, winter = by_end[1_784_332_800], by_end[1_797_811_200]
    assert summer > winter > 0  # believable: more sun in July than in December


async def test_a_reflash_leaves_its_minute_unknown_not_the_whole_day() -> None:
    device = next(d for d in DEVICES if "counter_reset" in d.behaviours)
    sensor = device.sensors[0]
    headers = {"X-Token": DEMO_TOKEN, "X-Version": "1.0"}
    reset = NOW // 1800 * 1800 - 1800 + 17 * 60  # a reflash, 17 min into a half hour
    async with _client() as client:
        minutes = await client.get(
            f"/sensor/{sensor.sensor_id}",
            params={"start": str(reset - 60), "end": str(reset + 60)},
            headers=headers,
        )
        days = await client.get(
            f"/sensor/{sensor.sensor_id}",
            params={"interval": "week", "resolution": "day"},
            headers=headers,
        )
    assert dict(minutes.json())[reset + 60] == "nan"  # the reflash minute
    assert isinstance(dict(minutes.json())[reset], int)
    end, watts = days.json()[-2]
    known = [m for m in range(end // 60 - 1440, end // 60) if m % 30 != 17]
    assert len(known) == 1440 - 48
    assert watts == round(sum(minute_power(sensor, m) for m in known) / len(known))
