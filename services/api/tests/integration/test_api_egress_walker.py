"""The egress walker: every route of the app, as an attacker, a foreign key, the public.

One test enumerates EVERY route the app serves (the OpenAPI schema, plus what it
hides from the schema: dashboard pages, ops routes, docs, static files), fills
each path and query parameter with the VICTIM's identifiers (meter, consent,
person, webhook, the victim's building/parcel/IRIS for aggregates) and calls it as

* an attacker resident (another person with a meter and readings of their own),
* a city API key scoped to another territory (an IRIS that is not the victim's),
* an anonymous caller,

then asserts on what came back (JSON, CSV, zip archives, SSE streams, redirects):

1. nothing the victim owns leaves: their ids, e-mail, name, session token,
   readings (distinctive values), the operator's webhook id/URL/secret, and the
   figures of under-threshold aggregates planted around the victim (a building of
   one home, a live load of three meters, an alert peak of three meters);
2. every aggregate that leaves covers >= the threshold of delivery points and,
   for rollups, passes the dominance rule on the stored rows
   (``SecrecyRule.check``, the rule of ``api.privacy``);
3. routes classified as individual or operator-only are refused to all three;
   the foreign key gets no aggregate of the victim's territory;
4. afterwards nothing changed for the victim (consent, readings, account, hook).

Webhook deliveries and SSE are walked too: alerts are pushed into the app's hub
while the streams are open, and a webhook dispatcher on the same hub records the
payloads an operator's endpoint would receive.

A route the walker cannot classify, or whose parameters or body it cannot fill,
is a failure: a new route must say what it is before it ships.
``test_walker_catches_an_ungated_route`` shows the walker failing on a route
added without a gate.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from api import auth
from api.deps import Resident
from api.main import create_app
from api.privacy import SecrecyRule
from api.settings import Settings
from api.webhooks import WebhookDispatcher
from energy_core.domain.time import PARIS
from energy_core.secrets import SecretBox

pytestmark = pytest.mark.integration

INDIVIDUAL = (
    "individual"  # one person's data behind the meter gate: refused to all three
)
SELF = "self"  # the caller's own account: no one else's data in it
OPERATOR = "operator"  # operators only: refused to all three
AGGREGATE = "aggregate"  # rollups: gated values; a key only over its territory
MAP = "map"  # choropleth of a commune: gated totals; a key gets its own IRIS only
LIVE = "live"  # live load, alerts, SSE: gated; a key only its territory
PUBLIC = "public"  # registry and pages, no personal data
SESSION = "session"  # sign in / out, who am I
CONSENT_FLOW = "consent-flow"  # the Enedis redirect and callback
CITY_ONLY = "city-only"  # a city key of that commune only: refused to all three

ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/auth/login"): SESSION,
    ("POST", "/v1/auth/logout"): SESSION,
    ("GET", "/v1/auth/me"): SESSION,
    ("GET", "/v1/territory/neighbourhoods"): PUBLIC,
    ("GET", "/v1/territory/neighbourhoods.geojson"): PUBLIC,
    ("GET", "/v1/territory/parcels.geojson"): PUBLIC,
    ("GET", "/v1/territory/buildings"): PUBLIC,
    ("GET", "/v1/meters"): SELF,
    ("GET", "/v1/meters/{meter_id}/readings"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/daily"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/monthly"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/daily.csv"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/cost"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/co2"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/comparison"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/gas-days"): INDIVIDUAL,
    ("GET", "/v1/meters/{meter_id}/self-consumption"): INDIVIDUAL,
    ("GET", "/v1/me/grdf/rights"): SELF,
    ("POST", "/v1/me/grdf/rights"): SELF,
    ("POST", "/v1/me/grdf/rights/{meter_id}/revoke"): SELF,
    ("POST", "/v1/me/grdf/rights/{meter_id}/proofs"): SELF,
    ("GET", "/v1/rollups/{scope}/{scope_id}"): AGGREGATE,
    ("GET", "/v1/rollups/{scope}/{scope_id}/export.csv"): AGGREGATE,
    ("GET", "/v1/map/{level}"): MAP,
    ("GET", "/v1/self-consumption"): MAP,
    ("GET", "/v1/city/{territory}/peers"): CITY_ONLY,
    ("GET", "/v1/live/load"): LIVE,
    ("GET", "/v1/alerts"): LIVE,
    ("GET", "/v1/stream/alerts"): LIVE,
    ("GET", "/v1/stream/load"): LIVE,
    ("GET", "/v1/webhooks"): OPERATOR,
    ("POST", "/v1/webhooks"): OPERATOR,
    ("DELETE", "/v1/webhooks/{webhook_id}"): OPERATOR,
    ("GET", "/v1/keys"): OPERATOR,
    ("POST", "/v1/keys"): OPERATOR,
    ("POST", "/v1/keys/{key_id}/rotate"): OPERATOR,
    ("DELETE", "/v1/keys/{key_id}"): OPERATOR,
    ("GET", "/v1/enedis/consent"): CONSENT_FLOW,
    ("GET", "/v1/enedis/callback"): CONSENT_FLOW,
    ("GET", "/v1/enedis/consents"): SELF,
    ("GET", "/v1/operator/consents"): OPERATOR,
    ("GET", "/v1/operator/consents/{consent_id}/audit"): OPERATOR,
    ("POST", "/v1/operator/consents/{consent_id}/decision"): OPERATOR,
    ("GET", "/v1/me/consents"): SELF,
    ("POST", "/v1/me/consents/{consent_id}/withdraw"): SELF,
    ("GET", "/v1/me/access-log"): SELF,
    ("GET", "/v1/me/export"): SELF,
    ("DELETE", "/v1/me"): SELF,
    ("GET", "/v1/ops/ingestion"): OPERATOR,
    ("GET", "/v1/me/portfolio"): SELF,
    ("GET", "/v1/me/sge-sites"): SELF,
    ("POST", "/v1/me/sge-sites"): SELF,
    ("DELETE", "/v1/me/sge-sites/{prm}"): SELF,
    ("GET", "/portfolio"): PUBLIC,
    ("GET", "/v1/reference/tempo-days"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/resident"): PUBLIC,
    ("GET", "/city"): PUBLIC,
    ("GET", "/operator"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("MOUNT", "/static"): PUBLIC,
}
"""Every route and what it is. A route missing here fails the walker."""

STATIC_FILES = ("/static/sen1.js", "/static/sen1.css")
REFUSED_TO_ALL = {INDIVIDUAL, OPERATOR, CITY_ONLY}
DAY = datetime(2026, 3, 2, tzinfo=UTC)  # the victim's readings and the rollups
HALF_HOUR_WH = 1234.5625  # exact in binary: 4 of them make 4938.25 Wh
UNDER_THRESHOLD_LOAD_KW = 351.25
UNDER_THRESHOLD_PEAK_KW = 481.5
STREAMED_PEAK_KW = 482.75
SMALL_BUILDING_WH = 9876.5  # 3 homes, none dominant: only the count protects it
DOMINATED_PARCEL_WH = 20001.5  # 12 homes, one of them 95 %: only dominance does


@dataclass
class Victim:
    person_id: str
    account_id: str
    email: str
    name: str
    token: str
    meter_id: str
    consent_id: str
    building: str
    parcel: str
    iris: str
    commune: str
    webhook_id: str
    webhook_url: str
    webhook_secret: str
    box: SecretBox  # seals the operator's webhook secret (the walker's dispatcher)
    key_id: str  # the city key of the victim's commune (what /v1/keys manages)
    city_key: str

    def secrets(self) -> dict[str, str]:
        """Strings that must never reach a caller who is not the victim."""
        return {
            "victim person id": self.person_id,
            "victim account id": self.account_id,
            "victim e-mail": self.email,
            "victim name": self.name,
            "victim session": self.token,
            "victim meter id": self.meter_id,
            "victim consent id": self.consent_id,
            "victim half-hour Wh": repr(HALF_HOUR_WH),
            "victim half-hour kWh": repr(HALF_HOUR_WH / 1000),
            "victim day Wh": repr(HALF_HOUR_WH * 4),
            "victim day kWh": repr(HALF_HOUR_WH * 4 / 1000),
            "operator webhook id": self.webhook_id,
            "operator webhook url": self.webhook_url,
            "operator webhook secret": self.webhook_secret,
            "city key id": self.key_id,
            "city key": self.city_key,
            "live load of 3 meters": repr(UNDER_THRESHOLD_LOAD_KW),
            "alert peak of 3 meters": repr(UNDER_THRESHOLD_PEAK_KW),
            "streamed alert load of 3 meters": repr(STREAMED_PEAK_KW),
            "building of 3 homes": repr(SMALL_BUILDING_WH),
            "parcel dominated by one home": repr(DOMINATED_PARCEL_WH),
        }


@dataclass
class Caller:
    name: str
    headers: Callable[[], Any]  # awaitable -> dict: a fresh credential per request
    foreign_key: bool = False


@dataclass
class Walk:
    findings: list[str] = field(default_factory=list)
    calls: int = 0
    published: int = 0  # aggregates that left and were checked on the stored rows
    sse_events: int = 0
    timeouts: list[str] = field(default_factory=list)  # streams that sent nothing
    webhook_payloads: list[bytes] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.findings.append(what)


# ---------------------------------------------------------------- enumeration


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of everything the app serves, schema or not."""
    found: set[tuple[str, str]] = set()
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            found.add((method.upper(), path))

    def methods(route: Any) -> Iterable[str]:
        return sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})

    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # an included router
            for ctx in route.effective_route_contexts():
                for method in methods(ctx.original_route):
                    found.add((method, ctx.path))
        elif isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        elif getattr(route, "methods", None):
            for method in methods(route):
                found.add((method, route.path))
        else:
            found.add(("ANY", getattr(route, "path", repr(route))))
    return found


def _order(item: tuple[str, str]) -> tuple[int, str]:
    """Reads first, then writes; erasing one's own account last of all."""
    method, path = item
    rank = {"GET": 0, "MOUNT": 0, "POST": 1, "DELETE": 2}.get(method, 1)
    return (3 if (method, path) == ("DELETE", "/v1/me") else rank, path)


# ---------------------------------------------------------------- filling


def path_values(path: str, params: list[str], v: Victim, walk: Walk) -> list[dict]:
    """Every way to fill the path with the victim's ids ([] when impossible)."""
    if {"scope", "scope_id"} <= set(params):
        combos = [
            {"scope": "building", "scope_id": v.building},
            {"scope": "parcel", "scope_id": v.parcel},
            {"scope": "neighbourhood", "scope_id": v.iris},
            {"scope": "commune", "scope_id": v.commune},
        ]
        params = [p for p in params if p not in ("scope", "scope_id")]
    elif "level" in params:  # the map: every level under the victim's commune
        combos = [{"level": lv} for lv in ("neighbourhood", "parcel", "building")]
        params = [p for p in params if p != "level"]
    else:
        combos = [{}]
    known = {
        "meter_id": v.meter_id,
        "delivery_point_id": v.meter_id,
        "prm": v.meter_id,
        "consent_id": v.consent_id,
        "person_id": v.person_id,
        "account_id": v.account_id,
        "webhook_id": v.webhook_id,
        "key_id": v.key_id,
        "iris": v.iris,
        "building_id": v.building,
        "parcel_idu": v.parcel,
        "territory": v.commune,
    }
    for name in params:
        if name not in known:
            walk.fail(f"{path}: the walker cannot fill path parameter {name!r}")
            return []
        for combo in combos:
            combo[name] = known[name]
    return combos


def query_value(name: str, schema: dict[str, Any], v: Victim) -> Any:
    """A value for a query parameter, pointed at the victim where it can be."""
    fmt = schema.get("format") or next(
        (s.get("format") for s in schema.get("anyOf", []) if s.get("format")), None
    )
    table: dict[str, Any] = {
        "start": "2026-03-01T00:00:00Z" if fmt == "date-time" else "2026-03-01",
        "end": "2026-03-05T00:00:00Z" if fmt == "date-time" else "2026-03-05",
        "month": "2026-03",
        "iris": v.iris,
        "commune": v.commune,
        "meter_id": v.meter_id,
        "consent_id": v.consent_id,
        "person_id": v.person_id,
        "usage_point_id": v.meter_id,
        "state": "forged-state",
        "code": "forged-code",
        "max_events": 1,
        "every_s": 0.2,
        "confirm": "erase",
        "bucket": "P1D",
    }
    return table.get(name, _MISSING)


_MISSING = object()
SENT = {"iris", "commune", "meter_id", "consent_id", "person_id", "usage_point_id",
        "max_events", "every_s"}  # fmt: skip
"""Optional query parameters always sent: those pointing at the victim, and the
bounds of a stream (so that it ends and its events can be read)."""


def bodies(v: Victim) -> dict[tuple[str, str], Any]:
    return {
        ("POST", "/v1/auth/login"): {"email": v.email, "password": "guess"},
        ("POST", "/v1/webhooks"): {"url": "https://attacker.example/h", "iris": v.iris},
        ("POST", "/v1/keys"): {
            "label": "attacker",
            "scope": "commune",
            "scope_id": v.commune,
        },
        ("POST", "/v1/keys/{key_id}/rotate"): {"expires_in_days": 1},
        ("POST", "/v1/me/consents/{consent_id}/withdraw"): {"delete_readings": True},
        # a GRDF declaration on the victim's point, as its holder (name, e-mail)
        ("POST", "/v1/me/grdf/rights"): {
            "meter_id": v.meter_id,
            "holder_name": v.name,
            "email": v.email,
            "postcode": "38130",
            "data_from": (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
            "data_until": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            "right_end": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        },
        # multipart expected: a JSON body is refused before any lookup
        ("POST", "/v1/me/grdf/rights/{meter_id}/proofs"): {"files": ["%PDF-1.4"]},
        ("POST", "/v1/me/sge-sites"): {  # the attacker declares the victim's PRM
            "sites": [{"name": "forged", "prms": [v.meter_id]}],
            "authorisation": {
                "authorised_by": "Attacker SA",
                "authoriser_kind": "legal",
                "valid_from": (datetime.now(UTC) - timedelta(days=1))
                .date()
                .isoformat(),
                "valid_until": (datetime.now(UTC) + timedelta(days=300))
                .date()
                .isoformat(),
                "proof_reference": "forged-mandate",
            },
        },
        ("POST", "/v1/operator/consents/{consent_id}/decision"): {
            "decision": "verified",
            "reason": "the attacker says so",
            "move_in": "2019-01-01",
            "previous_holder_moved_out": True,
        },
    }


# ---------------------------------------------------------------- checking


def _strip_echo(data: Any) -> Any:
    """A problem's ``instance`` and validation ``input`` echo the caller's own
    request (which holds the victim's ids the walker put there): not a leak."""
    if isinstance(data, dict):
        return {
            k: _strip_echo(x)
            for k, x in data.items()
            if k not in ("instance", "input") or not isinstance(x, (str, int, float))
        }
    if isinstance(data, list):
        return [_strip_echo(x) for x in data]
    return data


def texts_of(response: httpx.Response) -> tuple[str, list[Any]]:
    """The response as text to search, and the JSON documents it carries."""
    kind = response.headers.get("content-type", "")
    docs: list[Any] = []
    if "zip" in kind:
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        text = "\n".join(
            archive.read(n).decode(errors="replace") for n in archive.namelist()
        )
        for n in archive.namelist():
            if n.endswith(".json"):
                docs.append(json.loads(archive.read(n)))
        return text, docs
    text = response.text
    if "json" in kind and text:
        doc = _strip_echo(response.json())
        docs.append(doc)
        text = json.dumps(doc, ensure_ascii=False)
    elif "event-stream" in kind:
        for line in text.splitlines():
            if line.startswith("data:"):
                docs.append(json.loads(line[5:]))
    headers = " ".join(
        response.headers.get(h, "") for h in ("location", "content-disposition")
    )
    return text + "\n" + headers, docs


def aggregates_in(doc: Any) -> Iterable[dict[str, Any]]:
    if isinstance(doc, dict):
        yield doc
        for x in doc.values():
            yield from aggregates_in(x)
    elif isinstance(doc, list):
        for x in doc:
            yield from aggregates_in(x)


async def check_rollup(
    world: Any,
    rule: SecrecyRule,
    scope: str,
    scope_id: str,
    bucket: str,
    start: str,
    value: float,
    points: int,
    where: str,
    walk: Walk,
) -> None:
    """A published rollup: >= threshold, and the stored rows pass dominance."""
    walk.published += 1
    if points < rule.min_points:
        walk.fail(f"{where}: published with {points} delivery points")
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT sum(value) AS v, max(delivery_points) AS n,
                      sum(max_point_value) AS mx FROM rollups
               WHERE scope = $1 AND scope_id = $2 AND bucket = $3
                 AND bucket_start = $4 AND direction = 'consumption'""",
            scope,
            scope_id,
            bucket,
            datetime.fromisoformat(start),
        )
    if row is None or row["n"] is None:
        walk.fail(f"{where}: published a bucket that is not stored")
        return
    # The rule restated here on purpose (not SecrecyRule.check): a bug in the
    # app's rule must not be shared by the test that looks for it.
    if row["n"] < rule.min_points:
        walk.fail(f"{where}: stored rows have {row['n']} delivery points")
    if rule.max_share is not None and row["mx"] > 0:
        share = row["mx"] / row["v"] if row["v"] > 0 else 1.0
        if share > rule.max_share:
            walk.fail(f"{where}: one delivery point is {share:.0%} of the total")
    if abs(row["v"] - value) > 1e-6 * max(1.0, abs(value)):
        walk.fail(f"{where}: value {value} is not the stored {row['v']}")


async def check_map(
    world: Any, rule: SecrecyRule, doc: dict[str, Any], where: str, walk: Walk
) -> None:
    """A published map feature: every stored bucket it sums passes the rule, and
    its value is their sum."""
    for f in doc["features"]:
        props = f["properties"]
        if props.get("value") is None:
            continue
        if not isinstance(props.get("delivery_points"), int):
            walk.fail(f"{where}: a map value without its point count")
            continue
        starts = []
        for seg in doc["segments"]:
            t0 = datetime.fromisoformat(seg["start"]).replace(tzinfo=PARIS)
            t1 = datetime.fromisoformat(seg["end"]).replace(tzinfo=PARIS)
            async with world.pool.acquire() as conn:
                starts += await conn.fetch(
                    """SELECT $3::text AS bucket, bucket_start, sum(value) AS v FROM rollups
                       WHERE scope = $1 AND scope_id = $2 AND bucket = $3
                         AND bucket_start >= $4 AND bucket_start < $5
                         AND energy = $6 AND direction = $7
                       GROUP BY bucket_start""",
                    doc["level"], f["id"], seg["bucket"], t0, t1, doc["energy"],
                    doc["direction"],
                )  # fmt: skip
        for row in starts:
            await check_rollup(
                world, rule, doc["level"], f["id"], row["bucket"],
                row["bucket_start"].isoformat(), row["v"],
                props["delivery_points"], where, walk,
            )  # fmt: skip
        if abs(sum(r["v"] for r in starts) - props["value"]) > 1e-6 * max(
            1.0, abs(props["value"])
        ):
            walk.fail(f"{where}: map value {props['value']} is not its buckets' sum")


async def check_response(
    world: Any,
    rule: SecrecyRule,
    v: Victim,
    caller: Caller,
    kind: str,
    method: str,
    path: str,
    filled: dict[str, Any],
    response: httpx.Response,
    walk: Walk,
) -> None:
    where = f"{method} {path} {filled} as {caller.name} -> {response.status_code}"
    walk.calls += 1
    if response.status_code >= 500:
        walk.fail(f"{where}: server error")
    if kind in REFUSED_TO_ALL and response.status_code < 400:
        walk.fail(f"{where}: not refused")
    if caller.foreign_key and kind == AGGREGATE and response.status_code < 400:
        walk.fail(f"{where}: a key read an aggregate outside its territory")
    text, docs = texts_of(response)
    for label, secret in v.secrets().items():
        if secret and secret in text:
            walk.fail(f"{where}: leaks the {label}")
    if caller.foreign_key and kind == MAP and response.status_code < 400:
        for label, own in (
            ("IRIS", v.iris),
            ("parcel", v.parcel),
            ("building", v.building),
        ):
            if own in text:
                walk.fail(f"{where}: a key saw the victim's {label} on the map")
    if caller.foreign_key and kind == LIVE and v.iris in text:
        walk.fail(f"{where}: a key saw the victim's neighbourhood live data")
    for doc in docs:
        if "event-stream" in response.headers.get("content-type", ""):
            walk.sse_events += 1
        for d in aggregates_in(doc):
            if (
                isinstance(d.get("value"), (int, float))
                and "delivery_points" in d
                and not isinstance(d["delivery_points"], int)
            ):
                walk.fail(f"{where}: a value without its point count")
            reporting = d.get("meters_reporting")
            if isinstance(reporting, int) and reporting < rule.min_points:
                walk.fail(f"{where}: live load of {d['meters_reporting']} meters")
        if isinstance(doc, dict) and {"scope", "scope_id", "items"} <= doc.keys():
            for item in doc["items"]:
                if item.get("value") is not None:
                    await check_rollup(
                        world, rule, doc["scope"], doc["scope_id"], doc["bucket"],
                        item["bucket_start"], item["value"],
                        item["delivery_points"] or 0, where, walk,
                    )  # fmt: skip
        if (
            isinstance(doc, dict)
            and doc.get("type") == "FeatureCollection"
            and "level" in doc
        ):
            await check_map(world, rule, doc, where, walk)
    if path.endswith(".csv") and response.status_code == 200 and "scope" in filled:
        for row in csv.DictReader(io.StringIO(response.text)):
            if row.get("value"):
                await check_rollup(
                    world, rule, filled["scope"], filled["scope_id"], "P1D",
                    row["bucket_start"], float(row["value"]),
                    int(row["delivery_points"] or 0), where, walk,
                )  # fmt: skip


# ---------------------------------------------------------------- the world


async def _session(conn: Any, account_id: Any) -> str:
    token = auth.SESSION_PREFIX + secrets.token_urlsafe(24)
    await conn.execute(
        "INSERT INTO api_sessions (token_sha256, account_id, expires_at) "
        "VALUES ($1, $2, now() + interval '1 hour')",
        auth.digest(token),
        account_id,
    )
    return token


async def plant(world: Any, put_readings: Any) -> tuple[Victim, Caller, Caller, Caller]:
    """The victim (resident B) and around them data an attacker would want."""
    victim = world.territory.residents[1]
    async with world.pool.acquire() as conn:
        place = await conn.fetchrow(
            """SELECT m.building_id, b.parcel_idu, b.iris, n.commune_insee
               FROM meters m JOIN buildings b USING (building_id)
               JOIN neighbourhoods n USING (iris) WHERE m.meter_id = $1""",
            world.meter_b,
        )
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", victim.email
        )
        account = await conn.fetchval(
            "SELECT account_id FROM api_accounts WHERE person_id = $1", person
        )
        consent = await conn.fetchval(
            "SELECT consent_id FROM consents WHERE meter_id = $1", world.meter_b
        )
        await put_readings(conn, world.meter_b, DAY, [HALF_HOUR_WH] * 4)
        await put_readings(conn, world.meter_a, DAY, [200.0] * 4)  # the attacker's own
        # rollups, day 1: published commune and IRIS, a parcel dominated by one
        # home, the victim's one-home building; day 2: a parcel that passes and a
        # building of 3 homes that only the point count protects
        day2 = DAY + timedelta(days=1)
        rows = [
            (DAY, "commune", place["commune_insee"], 100_000.0, 40, 5_000.0),
            (DAY, "neighbourhood", place["iris"], 50_000.0, 15, 2_000.0),
            (DAY, "parcel", place["parcel_idu"], DOMINATED_PARCEL_WH, 12, 19_000.0),
            (
                DAY,
                "building",
                place["building_id"],
                HALF_HOUR_WH * 4,
                1,
                HALF_HOUR_WH * 4,
            ),
            (day2, "commune", place["commune_insee"], 100_000.0, 40, 5_000.0),
            (day2, "neighbourhood", place["iris"], 50_000.0, 15, 2_000.0),
            (day2, "parcel", place["parcel_idu"], 30_000.0, 12, 3_000.0),
            (day2, "building", place["building_id"], SMALL_BUILDING_WH, 3, 3_400.0),
        ]
        for day, scope, scope_id, value, points, top in rows:
            await conn.execute(
                """INSERT INTO rollups (scope, scope_id, bucket, bucket_start,
                       bucket_end, energy, direction, quality, unit, value,
                       delivery_points, max_point_value)
                   VALUES ($1, $2, 'P1D', $3, $4, 'electricity', 'consumption',
                           'raw', 'Wh', $5, $6, $7)""",
                scope, scope_id, day, day + timedelta(days=1), value, points, top,
            )  # fmt: skip
        # live load and an alert of the victim's IRIS measured on 3 meters only
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO neighbourhood_load VALUES ($1, $2, $3, 0, 400, 3, 0)",
            place["iris"],
            now - timedelta(minutes=5),
            UNDER_THRESHOLD_LOAD_KW,
        )
        await conn.execute(
            """INSERT INTO alerts VALUES ($1, $2, 2, 'active', $3, $3, NULL, $4, 400)""",
            uuid.uuid4(),
            place["iris"],
            now - timedelta(minutes=5),
            UNDER_THRESHOLD_PEAK_KW,
        )
        operator = await conn.fetchval(
            "SELECT account_id FROM api_accounts WHERE role = 'operator'"
        )
        hook_url = "https://ops.example/hook-" + secrets.token_hex(8)
        hook_secret = "whsec-" + secrets.token_hex(16)
        box = SecretBox([SecretBox.generate_key()])
        hook = await conn.fetchval(
            """INSERT INTO api_webhooks (account_id, url, secret_sealed)
               VALUES ($1, $2, $3) RETURNING webhook_id""",
            operator,
            hook_url,
            box.seal(hook_secret),
        )
        foreign_iris = await conn.fetchval(
            "SELECT iris FROM neighbourhoods WHERE iris <> $1 ORDER BY iris LIMIT 1",
            place["iris"],
        )
        foreign_key = await auth.create_api_key(
            conn, label="foreign", scope="neighbourhood", scope_id=foreign_iris
        )
        attacker_account = await conn.fetchval(
            "SELECT account_id FROM api_accounts WHERE email = $1",
            world.territory.residents[0].email,
        )
        city_key_id = await conn.fetchval(
            "SELECT key_id FROM api_keys WHERE key_sha256 = $1",
            auth.digest(world.commune_key),
        )
    v = Victim(
        person_id=str(person),
        account_id=str(account),
        email=victim.email,
        name=victim.display_name,
        token=world.resident_b,
        meter_id=world.meter_b,
        consent_id=str(consent),
        building=place["building_id"],
        parcel=place["parcel_idu"],
        iris=place["iris"],
        commune=place["commune_insee"],
        webhook_id=str(hook),
        webhook_url=hook_url,
        webhook_secret=hook_secret,
        box=box,
        key_id=str(city_key_id),
        city_key=world.commune_key,
    )

    async def attacker() -> dict[str, str]:
        # a fresh session per request: the walk itself signs out (logout route)
        async with world.pool.acquire() as conn:
            token = await _session(conn, attacker_account)
        return {"authorization": f"Bearer {token}"}

    async def key() -> dict[str, str]:
        return {"x-api-key": foreign_key}

    async def anonymous() -> dict[str, str]:
        return {}

    return (
        v,
        Caller("attacker resident", attacker),
        Caller("city key of another territory", key, foreign_key=True),
        Caller("anonymous", anonymous),
    )


async def _snapshot(world: Any, v: Victim) -> dict[str, Any]:
    async with world.pool.acquire() as conn:
        return {
            "consents": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT consent_id, person_id, revoked_at FROM consents "
                    "WHERE meter_id = $1 ORDER BY consent_id",
                    v.meter_id,
                )
            ],
            "readings": await conn.fetchval(
                "SELECT count(*) FROM readings r JOIN series s USING (series_id) "
                "WHERE s.meter_id = $1",
                v.meter_id,
            ),
            "account": await conn.fetchval(
                "SELECT count(*) FROM api_accounts WHERE person_id = $1::uuid",
                v.person_id,
            ),
            "hook": await conn.fetchval(
                "SELECT count(*) FROM api_webhooks WHERE webhook_id = $1::uuid AND active",
                v.webhook_id,
            ),
            "keys": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT key_id, expires_at, revoked_at, replaced_by FROM api_keys "
                    "ORDER BY key_id"
                )
            ],
        }


# ---------------------------------------------------------------- the walk


async def _request(
    app: FastAPI,
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    params: dict[str, Any],
    body: Any,
    v: Victim,
) -> httpx.Response | None:
    """One call; for SSE, alerts are pushed into the hub until the stream ends."""
    call = client.request(
        method,
        url,
        headers=headers,
        params=params,
        json=body,
        follow_redirects=False,
    )
    if not url.startswith("/v1/stream/"):
        return await call
    task = asyncio.ensure_future(call)
    at = datetime.now(UTC)
    try:
        async with asyncio.timeout(8):
            while not task.done():
                for iris in (v.iris, *app.state.walker_other_iris):
                    await app.state.hub.publish(
                        {
                            "alert_id": "walker",
                            "iris": iris,
                            "change": "raised",
                            "level": 2,
                            "load_kw": STREAMED_PEAK_KW,
                            "capacity_kw": 400.0,
                            "occurred_at": at.isoformat(),
                        }
                    )
                await asyncio.sleep(0.1)
            return task.result()
    except TimeoutError:
        task.cancel()
        return None  # nothing left the stream in 8 s: nothing to inspect


async def walk_app(
    app: FastAPI,
    world: Any,
    v: Victim,
    callers: list[Caller],
    classification: dict[tuple[str, str], str],
) -> Walk:
    """Walks every route of ``app``; returns what was found wrong."""
    walk = Walk()
    rule: SecrecyRule = app.state.secrecy
    served = routes_of(app)
    for item in sorted(served - classification.keys()):
        walk.fail(f"{item[0]} {item[1]}: route not classified by the egress walker")
    for item in sorted(classification.keys() - served):
        walk.fail(f"{item[0]} {item[1]}: classified but no longer served")
    schema = app.openapi()["paths"]
    body_of = bodies(v)
    async with world.pool.acquire() as conn:
        app.state.walker_other_iris = [
            r["iris"] for r in await conn.fetch("SELECT iris FROM neighbourhoods")
        ]
    received: list[bytes] = []

    def hook_handler(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(204)

    hook_client = httpx.AsyncClient(transport=httpx.MockTransport(hook_handler))
    app.state.hub.add_listener(
        WebhookDispatcher(world.pool, v.box, hook_client, attempts=1, backoff_s=0)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, path in sorted(served & classification.keys(), key=_order):
            kind = classification[(method, path)]
            if method == "MOUNT":
                targets = [("GET", p, {}, {}, None) for p in STATIC_FILES]
            else:
                op = schema.get(path, {}).get(method.lower(), {})
                params = op.get("parameters", [])
                names = [p["name"] for p in params if p["in"] == "path"]
                names += [
                    n.strip("{}")
                    for n in path.split("/")
                    if n.startswith("{") and n.strip("{}") not in names
                ]
                query: dict[str, Any] = {}
                for p in params:
                    if p["in"] != "query":
                        continue
                    value = query_value(p["name"], p.get("schema", {}), v)
                    if value is _MISSING and p.get("required"):
                        walk.fail(f"{method} {path}: cannot fill query {p['name']!r}")
                    elif value is not _MISSING and (
                        p.get("required") or p["name"] in SENT
                    ):
                        query[p["name"]] = value
                body = None
                if "requestBody" in op:
                    if (method, path) not in body_of:
                        walk.fail(f"{method} {path}: the walker has no body for it")
                        continue
                    body = body_of[(method, path)]
                targets = [
                    (method, path.format(**filled), filled, query, body)
                    for filled in path_values(path, names, v, walk)
                ]
            for caller in callers:
                for verb, url, filled, query, body in targets:
                    response = await _request(
                        app, client, verb, url, await caller.headers(), query, body, v
                    )
                    if response is None:
                        walk.calls += 1
                        walk.timeouts.append(f"{verb} {url} as {caller.name}")
                        continue
                    await check_response(
                        world, rule, v, caller, kind, method, path,
                        {**filled, **query}, response, walk,
                    )  # fmt: skip
    await app.state.hub.drain()
    await hook_client.aclose()
    walk.webhook_payloads = received
    for payload in received:
        text = payload.decode()
        for label, secret in v.secrets().items():
            if secret in text and label != "operator webhook secret":
                walk.fail(f"webhook delivery leaks the {label}")
        event = json.loads(payload)
        if event["iris"] == v.iris and event.get("load_kw") is not None:
            walk.fail("webhook delivery carries a load of 3 meters")
    return walk


def _settings(postgres_settings: Any) -> Settings:
    # No secret key: the app's own webhook dispatcher stays idle; the walker's
    # dispatcher (its own key) is the one that delivers, to a recording transport.
    return Settings(postgres=postgres_settings, subscribe_alerts=False)


async def test_egress_walker_every_route(
    world, postgres_settings, put_readings
) -> None:
    v, *callers = await plant(world, put_readings)
    before = await _snapshot(world, v)
    app = create_app(_settings(postgres_settings), pool=world.pool)
    async with app.router.lifespan_context(app):
        walk = await walk_app(app, world, v, callers, ROUTES)
    assert walk.findings == [], "\n".join(walk.findings)
    # the walk did reach the routes, the aggregates and the streams
    assert walk.calls >= 3 * len(ROUTES)
    assert walk.published >= 2  # the commune and the IRIS, checked on stored rows
    assert walk.timeouts == []  # every stream sent what it had, and ended
    assert (
        walk.sse_events >= 4
    )  # load and alerts, to the attacker and the key  # streamed load and alerts to the attacker at least
    assert walk.webhook_payloads, "no webhook delivery was walked"
    assert before == await _snapshot(world, v)
    # and the victim still reads their own data (the walk broke nothing for them)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        own = await client.get(
            f"/v1/meters/{v.meter_id}/daily",
            params={"start": "2026-03-01", "end": "2026-03-05"},
            headers={"authorization": f"Bearer {v.token}"},
        )
    assert own.status_code == 200
    assert own.json()["items"][0]["kwh"] == pytest.approx(HALF_HOUR_WH * 4 / 1000)


async def test_walker_catches_an_ungated_route(
    world, postgres_settings, put_readings
) -> None:
    """Two routes added to a fresh app: one with no gate at all, one behind the
    resident check but reading any meter. Both are caught; so is a route left
    unclassified."""
    v, *callers = await plant(world, put_readings)
    app = create_app(_settings(postgres_settings), pool=world.pool)

    async def _daily(meter_id: str) -> dict[str, Any]:
        async with world.pool.acquire() as conn:
            total = await conn.fetchval(
                "SELECT sum(value) FROM readings r JOIN series s USING (series_id) "
                "WHERE s.meter_id = $1",
                meter_id,
            )
        return {"meter_id": meter_id, "wh": total}

    @app.get("/v1/debug/meters/{meter_id}/total")
    async def ungated(meter_id: str) -> dict[str, Any]:
        return await _daily(meter_id)

    @app.get("/v1/me/neighbour")
    async def wrong_gate(user: Resident) -> dict[str, Any]:
        return await _daily(v.meter_id)  # signed in, but not the victim

    @app.get("/v1/unclassified")
    async def unclassified() -> dict[str, str]:
        return {"ok": "yes"}

    routes = {
        **ROUTES,
        ("GET", "/v1/debug/meters/{meter_id}/total"): INDIVIDUAL,
        ("GET", "/v1/me/neighbour"): SELF,
    }
    async with app.router.lifespan_context(app):
        walk = await walk_app(app, world, v, callers, routes)
    found = "\n".join(walk.findings)
    assert "GET /v1/unclassified: route not classified by the egress walker" in found
    ungated_findings = [f for f in walk.findings if "/v1/debug/meters" in f]
    assert any("as anonymous -> 200: not refused" in f for f in ungated_findings)
    assert any("leaks the victim day Wh" in f for f in ungated_findings)
    assert any(
        "/v1/me/neighbour" in f and "as attacker resident" in f and "victim day Wh" in f
        for f in walk.findings
    ), found
    # nothing else: the rest of the app still passes
    others = [
        f
        for f in walk.findings
        if not any(
            p in f for p in ("/v1/debug/", "/v1/me/neighbour", "/v1/unclassified")
        )
    ]
    assert others == []


# Homes like the attacker's (same IRIS, building type, surface band, energy), by
# delivery point: a device counts as the PRM/PCE it measures, named by
# meters.delivery_point_id or, when unattached, by the only delivery point of its
# building (a conservative lower bound, independent of the app's own query).
_PEER_POINTS = """
WITH me AS (
    SELECT b.iris, b.building_type, m.energy,
           width_bucket(b.surface_m2, ARRAY[50, 100, 150, 250]::float8[]) AS band
    FROM meters m JOIN buildings b USING (building_id) WHERE m.meter_id = $1
), peers AS (
    SELECT m.meter_id,
           coalesce(m.delivery_point_id,
                    CASE WHEN m.scheme IN ('prm', 'pce') THEN m.meter_id END,
                    (SELECT min(p.meter_id) FROM meters p
                     WHERE p.building_id = m.building_id AND p.energy = m.energy
                       AND p.scheme IN ('prm', 'pce')),
                    m.meter_id) AS point
    FROM meters m JOIN buildings b USING (building_id), me
    WHERE b.iris = me.iris AND b.building_type = me.building_type
      AND width_bucket(b.surface_m2, ARRAY[50, 100, 150, 250]::float8[]) = me.band
      AND m.energy = me.energy AND m.direction = 'consumption'
), per_meter AS (
    SELECT p.point, p.meter_id, sum(r.value) AS wh
    FROM peers p JOIN series s USING (meter_id) JOIN readings r USING (series_id)
    WHERE s.kind = 'interval' AND s.dimension = 'energy' AND s.channel = ''
      AND s.direction = 'consumption' AND r.start_ts >= $2 AND r.start_ts < $3
    GROUP BY 1, 2
), per_point AS (  -- one source per point: never a PRM plus its own sensor
    SELECT point, max(wh) AS wh FROM per_meter GROUP BY point
)
SELECT count(*)::int AS points, coalesce(sum(wh), 0) AS total,
       coalesce(max(wh), 0) AS top
FROM per_point
"""


class SimilarHomesLeakError(AssertionError):
    """The similar-homes mean left with fewer delivery points than the threshold."""


async def test_walker_own_data_similar_homes_count_delivery_points(
    world, postgres_settings, put_readings
) -> None:
    """The attacker's own individual routes, walked with their own meter: the only
    aggregate in them (the similar-homes mean) must cover >= the threshold of
    delivery points. Five demo homes with a PRM and a FluksoMeter each make ten
    meters but five points: the mean must stay withheld."""
    v, attacker, *_ = await plant(world, put_readings)
    march = datetime(2026, 3, 1, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        peers = await conn.fetch(
            """SELECT m.meter_id FROM meters m JOIN buildings b USING (building_id)
               WHERE b.building_type = (SELECT building_type FROM buildings
                                        WHERE building_id = $1)
                 AND b.iris = $2 AND m.direction = 'consumption'
                 AND m.meter_id NOT IN ($3, $4)""",
            v.building,
            v.iris,
            world.meter_a,
            v.meter_id,
        )
        for i, peer in enumerate(peers):  # a month of curves for every look-alike
            await put_readings(conn, peer["meter_id"], march, [100.0 + i] * 48)
        await put_readings(conn, world.meter_a, march, [120.0] * 48)
    app = create_app(_settings(postgres_settings), pool=world.pool)
    rule: SecrecyRule = app.state.secrecy
    walk = Walk()
    leaks: list[str] = []
    checked = 0
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client,
    ):
        schema = app.openapi()["paths"]
        for (method, path), kind in sorted(ROUTES.items()):
            if kind != INDIVIDUAL or "{meter_id}" not in path:
                continue
            op = schema[path][method.lower()]
            query = {
                p["name"]: query_value(p["name"], p.get("schema", {}), v)
                for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            url = path.format(meter_id=world.meter_a)
            response = await client.request(
                method, url, params=query, headers=await attacker.headers()
            )
            if response.status_code == 404 and (
                response.json().get("type") == "/problems/not-found"
            ):  # the gate itself refused the owner (a 404 "no contract" is fine)
                walk.fail(f"{method} {url}: the gate refused the owner")
                continue
            await check_response(
                world, rule, v, attacker, SELF, method, path, query, response, walk
            )
            doc = response.json() if "json" in response.headers["content-type"] else {}
            if isinstance(doc, dict) and "similar_mean_kwh" in doc:
                checked += 1
                async with world.pool.acquire() as conn:
                    row = await conn.fetchrow(
                        _PEER_POINTS,
                        world.meter_a,
                        march,
                        datetime(2026, 4, 1, tzinfo=UTC),
                    )
                if doc["similar_mean_kwh"] is not None and (
                    row["points"] < rule.min_points
                    or (
                        rule.max_share is not None
                        and row["top"] > rule.max_share * row["total"]
                    )
                ):
                    leaks.append(
                        f"{method} {url}: similar-homes mean published from "
                        f"{row['points']} delivery points"
                    )
    assert checked == 1
    assert walk.findings == [], "\n".join(walk.findings)
    if leaks:
        raise SimilarHomesLeakError("\n".join(leaks))
