"""GRDF ADICT v2 (and the bas/v6 sandbox), emulated over real HTTP (Starlette).

Both token endpoints (SOFIT/OpenAM and Okta paths), bearer checks, the shared
1 call/s and daily quotas, the access-rights API and its state machine, the
consumption NDJSON streams with functional errors inside HTTP 200, contractual
and technical data. Test hooks live under ``/_emulator/`` and are neither
authenticated nor counted in the quotas.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator_kit import oauth
from energy_core.domain import PARIS
from grdf_emulator import profiles, series, validation
from grdf_emulator.profiles import GasMeter
from grdf_emulator.rights import (
    ACTIVE,
    NO_DATA,
    NO_RIGHT,
    PARTIAL,
    PENDING,
    PROOF_CHECKING,
    PROOF_KO,
    PROOF_OK,
    PROOF_PENDING,
    SUCCESS,
    AccessRight,
    Refusal,
    Rights,
)
from grdf_emulator.settings import EmulatorSettings
from grdf_emulator.validation import Invalid

PRODUCTION = "/adict/v2"
SANDBOX = "/adict/bas/v6"
SOFIT_TOKEN_PATH = "/openam/oauth2/realms/externeGrdf/access_token"  # noqa: S105 - a path
OKTA_TOKEN_PATH = "/oauth2/aus5y2ta2uEHjCWIR417/v1/token"  # noqa: S105 - a path
NDJSON = "application/x-ndjson"
MAX_PROOFS = 3
MAX_PROOF_BYTES = 4 * 1024 * 1024
MAX_LIST_PCES = 1000
_BEARER = re.compile(r"Bearer [A-Za-z0-9\-._~+/]+=*")
_PROOF_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff")


def _status(status: int, code: str, message: str) -> JSONResponse:
    """ADICT's ``{code_statut_traitement, message_retour_traitement}`` bodies."""
    return JSONResponse(
        {"code_statut_traitement": code, "message_retour_traitement": message},
        status_code=status,
    )


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status
    )


_TOKEN_ERRORS = oauth.TokenErrors(
    body=_oauth_error,
    not_a_form_status=400,
    not_a_form_description="The request must be form-encoded.",
    invalid_client_status=401,
)
"""ADICT's token refusals: 400 for a body that is not a form, 401 for a wrong
client, bodies without ``error_uri``."""


@dataclass(slots=True)
class Token:
    client_id: str
    scope: str
    expires: float  # time.monotonic()


class EmulatorState:
    """PCEs, rights, tokens, quotas and injected faults of one emulator."""

    def __init__(
        self,
        settings: EmulatorSettings,
        meters: list[GasMeter],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.meters = {m.pce: m for m in meters}
        self.clock = clock
        self.rights = Rights()
        self.tokens: dict[str, Token] = {}
        self.faults: list[int] = []
        self.partial: dict[str, set[date]] = {}
        self.pending_since: dict[str, float] = {}
        self.calls = 0
        self.throttled = 0
        self._second: deque[float] = deque()
        self.retry_after_s = 0.0
        self._day: tuple[date, int] | None = None

    def now(self) -> datetime:
        return self.clock().astimezone(PARIS)

    def today(self) -> date:
        return self.now().date()

    def over_quota(self) -> str | None:
        """Counts this call; the quota's name when over (then not counted).

        One rolling second and one Paris calendar day, shared by every client
        and both API bases, as the contract's "across all APIs" says. After a
        refusal ``retry_after_s`` says how long until a call would pass.
        """
        if not self.settings.enforce_quotas:
            return None
        now = time.monotonic()
        per_second = self.settings.requests_per_second
        limit = max(1, math.floor(per_second))
        window = 1.0 if per_second >= 1 else 1.0 / per_second
        while self._second and self._second[0] <= now - window:
            self._second.popleft()
        today = self.today()
        used = self._day[1] if self._day and self._day[0] == today else 0
        if len(self._second) >= limit:
            self.throttled += 1
            self.retry_after_s = self._second[0] + window - now
            return "second"
        if used >= self.settings.daily_cap:
            self.throttled += 1
            tomorrow = datetime.combine(
                today + timedelta(days=1), datetime.min.time(), PARIS
            )
            self.retry_after_s = (tomorrow - self.now()).total_seconds()
            return "day"
        self._second.append(now)
        self._day = (today, used + 1)
        return None

    def settle(self) -> None:
        """Holders answer pending declarations after ``holder_auto_accept_s``:
        they accept when the declared identity is theirs, refuse otherwise."""
        delay = self.settings.holder_auto_accept_s
        if delay is None:
            return
        cutoff = time.monotonic() - delay
        for right_id, since in list(self.pending_since.items()):
            if since > cutoff:
                continue
            del self.pending_since[right_id]
            right = self.rights.by_id[right_id]
            if right.state(self.today()) != PENDING:
                continue
            meter = self.meters[right.id_pce]
            if self.rights.holder_matches(right, meter):
                self.rights.accept(right, self.today())
            else:
                self.rights.refuse(right, self.now())

    def grant(
        self, meter: GasMeter, client_id: str, state: str = "Active"
    ) -> AccessRight:
        """A pre-existing right (sandbox PCEs, benchmark PCEs), as GRDF's data set has."""
        today = self.today()
        holder = meter.holder
        decl = validation.Declaration(
            role_tiers="AUTORISE_CONTRAT_INJECTION"
            if meter.injection
            else "AUTORISE_CONTRAT_FOURNITURE",
            code_postal=meter.address.code_postal,
            nom_titulaire=holder.nom,
            raison_sociale=None if holder.nom else holder.raison_sociale,
            courriel_titulaire=holder.courriel,
            numero_telephone_mobile_titulaire=None,
            date_debut_droit_acces=date(2022, 1, 1),
            date_fin_droit_acces=today + timedelta(days=3 * 365),
            perim_conso=None
            if meter.injection
            else (date(2018, 1, 1), today + timedelta(days=3 * 365)),
            perim_inj=(date(2018, 1, 1), today + timedelta(days=3 * 365))
            if meter.injection
            else None,
            perims=dict.fromkeys(validation.PERIMS, True),
        )
        right = AccessRight(
            id_droit_acces=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"grdf:{meter.pce}:{client_id}")
            ),
            client_id=client_id,
            id_pce=meter.pce,
            role_tiers=decl.role_tiers,
            code_postal=decl.code_postal,
            nom_titulaire=decl.nom_titulaire,
            raison_sociale_du_titulaire=decl.raison_sociale,
            courriel_titulaire=decl.courriel_titulaire,
            numero_telephone_mobile_titulaire=None,
            date_debut_droit_acces=decl.date_debut_droit_acces,
            date_fin_droit_acces=decl.date_fin_droit_acces,
            perim_conso=decl.perim_conso,
            perim_inj=decl.perim_inj,
            perims=decl.perims,
            date_creation=datetime(2022, 1, 3, 10, 33, 11, tzinfo=PARIS),
            etat=state,
        )
        if state == "Obsolète":
            right.etat = "Active"
            right.date_fin_droit_acces = date(2024, 12, 31)
        elif state == "Révoquée":
            right.date_revocation = datetime(2024, 2, 1, 9, 0, tzinfo=PARIS)
            right.source_revocation = "Titulaire"
        self.rights.by_id[right.id_droit_acces] = right
        return right


# -- helpers -----------------------------------------------------------------


def _ndjson(objects: list[dict[str, Any]], sandbox_multiline: bool) -> Response:
    """One object per line, no wrapping array; the sandbox pretty-prints them
    and writes them back to back (``}{``) when its quirk flag is on."""
    if sandbox_multiline:
        text = "".join(json.dumps(o, ensure_ascii=False, indent=2) for o in objects)
    else:
        text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
    return Response(text.encode(), media_type=NDJSON)


def _multiline(request: Request) -> bool:
    state: EmulatorState = request.app.state.emulator
    return (
        request.url.path.startswith(SANDBOX) and state.settings.sandbox_multiline_json
    )


def _gate(request: Request) -> Response | str:
    """Bearer, quota and injected faults common to every API call; the client id."""
    state: EmulatorState = request.app.state.emulator
    header = request.headers.get("authorization")
    if header is None:
        return _status(401, "1000000001", "Jeton d'accès absent.")
    if not _BEARER.fullmatch(header):
        return _status(400, "1000000000", "L'en-tête Authorization est mal formé.")
    token = state.tokens.get(header.removeprefix("Bearer "))
    if token is None or token.expires <= time.monotonic():
        return _status(401, "1000000001", "Jeton d'accès invalide ou expiré.")
    base = SANDBOX if request.url.path.startswith(SANDBOX) else PRODUCTION
    if token.scope != base:
        return _status(
            401, "1000000001", "Le jeton d'accès n'est pas valide pour cette API."
        )
    if state.over_quota():
        refused = _status(429, "1000000429", "Le quota d'appels est dépassé.")
        if state.settings.retry_after:
            # HTTP's Retry-After is whole seconds: rounded up, never 0
            refused.headers["Retry-After"] = str(max(1, math.ceil(state.retry_after_s)))
        return refused
    state.calls += 1
    if state.faults:
        status = state.faults.pop(0)
        if status == 503:
            return _status(503, "2000000001", "Service indisponible pour maintenance.")
        return _status(status, "2000000001", "Une erreur technique est survenue.")
    state.settle()
    return token.client_id


def _bad_pce(pce: str) -> JSONResponse:
    return JSONResponse(
        series.error_object(
            pce, None, Refusal("1000005", "Le format du PCE est incorrect.")
        ),
        status_code=400,
    )


# -- token -------------------------------------------------------------------


async def token(request: Request) -> Response:
    """Client credentials with ``scope`` (the secret in the body, or Basic)."""
    state: EmulatorState = request.app.state.emulator
    grant = await oauth.client_credentials(request, state.settings, _TOKEN_ERRORS)
    if isinstance(grant, Response):
        return grant
    client_id, form = grant.client_id, grant.form
    scope = form.get("scope", "")
    if scope not in (PRODUCTION, SANDBOX):
        return _oauth_error(400, "invalid_scope", "The requested scope is invalid.")
    value = secrets.token_urlsafe(32)
    lifetime = state.settings.token_lifetime_s
    state.tokens[value] = Token(client_id, scope, time.monotonic() + lifetime)
    return JSONResponse(
        {
            "access_token": value,
            "scope": f"{scope} {client_id} {state.settings.third_party_name}",
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
    )


# -- access rights -----------------------------------------------------------


def _declared(right: AccessRight) -> dict[str, Any]:
    conso = right.perim_conso or (None, None)
    inj = right.perim_inj or (None, None)
    return {
        "code_statut_traitement": "0000000002",
        "message_retour_traitement": "La demande d'accès est en attente de la "
        "validation du titulaire du PCE.",
        "id_pce": right.id_pce,
        "role_tiers": right.role_tiers,
        "id_droit_acces": right.id_droit_acces,
        "etat_droit_acces": right.etat,
        "date_creation_droit_acces": right.date_creation.strftime("%Y-%m-%d %H:%M:%S"),
        "date_debut_droit_acces": right.date_debut_droit_acces.isoformat(),
        "date_fin_droit_acces": right.date_fin_droit_acces.isoformat(),
        "nom_titulaire": right.nom_titulaire,
        "raison_sociale_du_titulaire": right.raison_sociale_du_titulaire,
        "courriel_titulaire": right.courriel_titulaire,
        "numero_telephone_mobile_titulaire": right.numero_telephone_mobile_titulaire,
        "code_postal": right.code_postal,
        "perim_donnees_conso_debut": conso[0] and conso[0].isoformat(),
        "perim_donnees_conso_fin": conso[1] and conso[1].isoformat(),
        "perim_donnees_inj_debut": inj[0] and inj[0].isoformat(),
        "perim_donnees_inj_fin": inj[1] and inj[1].isoformat(),
        **{k: validation.bool_text(v) for k, v in right.perims.items()},
        "parcours": right.parcours,
    }


async def declare(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    gate = _gate(request)
    if isinstance(gate, Response):
        return gate
    pce = request.path_params["id_pce"]
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return _status(400, "1000000000", "La forme de la requête est incorrecte.")
    try:
        if not validation.PCE_RE.match(pce):
            raise Invalid("Le format du PCE est incorrect.", validation.DECLARE_CODE)
        decl = validation.declaration(body, state.today())
        right = state.rights.declare(
            gate, state.meters.get(pce), pce, decl, state.now()
        )
    except Invalid as refused:
        return _status(refused.status, refused.code, refused.message)
    state.pending_since[right.id_droit_acces] = time.monotonic()
    return JSONResponse(_declared(right), status_code=201)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


async def list_rights(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    gate = _gate(request)
    if isinstance(gate, Response):
        return gate
    filters: dict[str, list[str]] | None = None
    if request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _status(400, "1000000000", "La forme de la requête est incorrecte.")
        if not isinstance(body, dict):
            return _status(400, "1000000000", "La forme de la requête est incorrecte.")
        filters = {
            key: _as_list(body.get(key))
            for key in (
                "id_pce",
                "role_tiers",
                "etat_droit_acces",
                "statut_controle_preuve",
            )
        }
        if len(filters["id_pce"]) > MAX_LIST_PCES:
            return _status(
                400,
                "2000000009",
                f"Le nombre de PCE demandés dépasse la limite de {MAX_LIST_PCES}.",
            )
    today = state.today()
    found = state.rights.listing(gate, today, filters)
    objects = [
        r.to_json(today, state.settings.third_party_name, lower_bools=True)
        for r in found
    ]
    trailer = dict(SUCCESS)
    if not objects:
        trailer["message_retour_traitement"] = "Aucun droit d'accès trouvé."
    return _ndjson([*objects, trailer], _multiline(request))


async def revoke(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    gate = _gate(request)
    if isinstance(gate, Response):
        return gate
    right = state.rights.get(gate, request.path_params["id_droit_acces"])
    if right is None:
        return _status(404, "1000000001", "Aucun droit d'accès trouvé.")
    try:
        state.rights.revoke(right, state.now(), "Tiers")
    except Invalid as refused:
        return _status(refused.status, refused.code, refused.message)
    return JSONResponse(SUCCESS)


async def proofs(request: Request) -> Response:
    """Multipart ``preuves``: at most 3 files of at most 4 MB, PDF/PNG/JPEG."""
    state: EmulatorState = request.app.state.emulator
    gate = _gate(request)
    if isinstance(gate, Response):
        return gate
    right = state.rights.get(gate, request.path_params["id_droit_acces"])
    if right is None:
        return _status(404, "1000000001", "Aucun droit d'accès trouvé.")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _status(400, "1000000000", "La forme de la requête est incorrecte.")
    try:
        async with request.form(
            max_files=16, max_fields=16, max_part_size=64 * 1024 * 1024
        ) as form:
            files = [f for f in form.getlist("preuves") if isinstance(f, UploadFile)]
            contents = [(f.filename or "", await f.read()) for f in files]
    except Exception:  # malformed multipart: a client error, whatever the parser says
        return _status(400, "1000000000", "La forme de la requête est incorrecte.")
    if not contents:
        return _status(400, "1000000000", "La forme de la requête est incorrecte.")
    meter = state.meters.get(right.id_pce)
    if meter and meter.out_of_service and meter.out_of_service <= state.today():
        return _status(
            409, "1000000004", "Le contrat de fourniture de gaz est résilié."
        )
    if right.statut_controle_preuve not in (PROOF_PENDING, PROOF_KO) or right.state(
        state.today()
    ) not in (ACTIVE, PENDING):  # a right revoked once its deadline passed
        return _status(
            409, "1000000018", "GRDF ne demande pas de preuve sur ce droit d'accès."
        )
    if len(contents) > MAX_PROOFS:
        return _status(
            409, "1000000019", "Le nombre maximal de fichiers (3) est dépassé."
        )
    for name, data in contents:
        if len(data) > MAX_PROOF_BYTES:
            return _status(409, "1000000020", f"Le fichier {name} dépasse 4 Mo.")
        if not data:
            return _status(409, "1000000021", f"Le fichier {name} est corrompu.")
        if not data.startswith(_PROOF_MAGIC):
            return _status(
                409,
                "1000000023",
                f"Le format du fichier {name} n'est pas accepté (PDF, PNG, JPEG).",
            )
    right.proofs.extend((name, len(data)) for name, data in contents)
    right.statut_controle_preuve = PROOF_CHECKING
    return JSONResponse(SUCCESS)


# -- data --------------------------------------------------------------------

_PERIM = {
    "informatives": "perim_donnees_informatives",
    "publiees": "perim_donnees_publiees",
    "injections": "perim_donnees_publiees",
}
_NO_CONTRACT = Refusal(
    "1000002", "Le périmètre du droit d'accès n'inclut pas les données contractuelles."
)
_NO_TECHNICAL = Refusal(
    "1000002", "Le périmètre du droit d'accès n'inclut pas les données techniques."
)


def _clamp(
    window: validation.Window, right: AccessRight, injection: bool
) -> tuple[date, date]:
    """The query's gas days within the right's data window (``perim_*``, inclusive)."""
    perim = right.perim_inj if injection else right.perim_conso
    if perim is None:
        return window.start, window.start
    return max(window.start, perim[0]), min(window.end, perim[1] + timedelta(days=1))


def consumption(kind: str) -> Callable[[Request], Awaitable[Response]]:
    injection = kind == "injections"
    history = (
        validation.INFORMATIVE_YEARS
        if kind == "informatives"
        else validation.PUBLISHED_YEARS
    )

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        gate = _gate(request)
        if isinstance(gate, Response):
            return gate
        pce = request.path_params["id_pce"]
        if not validation.PCE_RE.match(pce):
            return _bad_pce(pce)
        today = state.today()
        try:
            window = validation.consumption_window(
                dict(request.query_params), today, history
            )
        except Invalid as refused:
            body = series.error_object(
                pce, None, Refusal(refused.code, refused.message)
            )
            return JSONResponse(body, status_code=400)
        multiline = _multiline(request)
        meter = state.meters.get(pce)
        if meter is None:
            return _ndjson([series.error_object(pce, window, NO_RIGHT)], multiline)
        allowed = state.rights.data_right(gate, pce, _PERIM[kind], today, injection)
        if isinstance(allowed, Refusal):
            return _ndjson([series.error_object(pce, window, allowed)], multiline)
        first, after = _clamp(window, allowed, injection)

        def build() -> Response:
            objects = (
                _informatives(state, meter, window, first, after)
                if kind == "informatives"
                else _published(state, meter, window, first, after, injection)
            )
            if not any(o["statut_restitution"] is None for o in objects):
                objects = [series.error_object(pce, window, NO_DATA)]
            return _ndjson(objects, multiline)

        # three years of gas days take a few hundred ms to build: off the event
        # loop, so the gateway (bearer, quota) stamps the next calls when they
        # arrive, as GRDF's gateway does, not when this stream is done
        return await asyncio.to_thread(build)

    return endpoint


def _informatives(
    state: EmulatorState,
    meter: GasMeter,
    window: validation.Window,
    first: date,
    after: date,
) -> list[dict[str, Any]]:
    if meter.frequency in ("6M", "1M") or meter.injection:
        return []  # no daily reading on non-communicating meters
    settings = state.settings
    today = state.today()
    broken = state.partial.get(meter.pce, set())
    out = []
    day = first
    while day < after:
        visible = series.published_until(
            meter,
            day,
            today,
            settings.lag_days,
            settings.missing_day_rate,
            settings.catch_up_days,
        )
        in_service = meter.out_of_service is None or day < meter.out_of_service
        if visible and in_service and day >= profiles.EPOCH:
            if day in broken:
                one_day = validation.Window(day, day + timedelta(days=1), None)
                out.append(series.error_object(meter.pce, one_day, PARTIAL))
            else:
                definitive = (
                    day + timedelta(days=settings.definitive_after_days) <= today
                )
                out.append(series.informative(meter, day, window, definitive))
        day += timedelta(days=1)
    return out


def _published(
    state: EmulatorState,
    meter: GasMeter,
    window: validation.Window,
    first: date,
    after: date,
    injection: bool,
) -> list[dict[str, Any]]:
    if injection != meter.injection or first >= after:
        return []
    today = state.today()
    lag = timedelta(days=state.settings.published_lag_days)
    return [
        series.published(meter, period, window, injection)
        for period in profiles.reading_periods(meter, first, after)
        if period[1] + lag <= today
        and period[0] >= profiles.EPOCH
        and (meter.out_of_service is None or period[1] <= meter.out_of_service)
    ]


def single(kind: str) -> Callable[[Request], Awaitable[Response]]:
    """``donnees_contractuelles`` / ``donnees_techniques``: one JSON object."""

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        gate = _gate(request)
        if isinstance(gate, Response):
            return gate
        pce = request.path_params["id_pce"]
        if not validation.PCE_RE.match(pce):
            return _bad_pce(pce)
        block = f"donnees_{kind}"
        filters = request.query_params.getlist("filtre")
        unknown = [f for f in filters if f not in series.CONTRACT_FILTERS]
        if kind == "contractuelles" and unknown:
            body = series.error_object(
                pce, None, Refusal("1000005", f"Le filtre {unknown[0]} est inconnu.")
            )
            return JSONResponse(body, status_code=400)
        meter = state.meters.get(pce)
        today = state.today()
        refusal: Refusal | None = None
        if meter is None:
            refusal = NO_RIGHT
        else:
            allowed = state.rights.data_right(
                gate, pce, f"perim_{block}", today, injection=meter.injection
            )
            if isinstance(allowed, Refusal):
                refusal = allowed
                if refusal.code == "1000010" or refusal.code == "1000009":
                    refusal = (
                        _NO_CONTRACT if kind == "contractuelles" else _NO_TECHNICAL
                    )
        if refusal is not None or meter is None:
            refused = refusal or NO_RIGHT
            body = {
                "pce": {"id_pce": pce},
                block: None,
                "statut_restitution": {
                    "code": refused.code,
                    "message": refused.message,
                },
            }
        elif kind == "contractuelles":
            body = series.contractual(
                meter, today, state.settings.contract_shape, filters
            )
        else:
            body = series.technical(meter, state.settings.contract_shape)
        return JSONResponse(body)

    return endpoint


# -- hooks and health --------------------------------------------------------


async def right_hook(request: Request) -> Response:
    """``POST /_emulator/rights/{id}/{action}``: what the holder or GRDF does.

    accept, refuse, revoke (by the holder), expire (``date_fin`` yesterday),
    request_proof, proof_ok, proof_ko.
    """
    state: EmulatorState = request.app.state.emulator
    right = state.rights.by_id.get(request.path_params["id_droit_acces"])
    if right is None:
        return _status(404, "1000000001", "Aucun droit d'accès trouvé.")
    action = request.path_params["action"]
    today = state.today()
    try:
        if action == "accept":
            state.rights.accept(right, today)
        elif action == "refuse":
            state.rights.refuse(right, state.now())
        elif action == "revoke":
            state.rights.revoke(right, state.now(), "Titulaire")
        elif action == "expire":
            right.date_fin_droit_acces = today - timedelta(days=1)
        elif action == "request_proof":
            right.statut_controle_preuve = PROOF_PENDING
            right.date_limite_transmission_preuve = today + timedelta(
                days=state.settings.proof_deadline_days
            )
        elif action in ("proof_ok", "proof_ko"):
            right.statut_controle_preuve = (
                PROOF_OK if action == "proof_ok" else PROOF_KO
            )
        else:
            return _status(404, "1000000000", f"Action inconnue : {action}")
    except Invalid as refused:
        return _status(refused.status, refused.code, refused.message)
    state.pending_since.pop(right.id_droit_acces, None)
    return JSONResponse(right.to_json(today, state.settings.third_party_name, False))


async def hooks(request: Request) -> Response:
    """``POST /_emulator/tokens_expire``: every token expires now;
    ``POST /_emulator/faults`` ``{"status": 503, "count": n}``: the next n API
    calls answer that status; ``POST /_emulator/partial`` ``{"pce", "day"}``:
    that gas day comes back as a 2000100 object inside the stream;
    ``GET /_emulator/stats``: calls, throttled, faults left;
    ``GET /_emulator/holders``: who holds each PCE (what a resident would type)."""
    state: EmulatorState = request.app.state.emulator
    action = request.path_params["action"]
    if action == "tokens_expire":
        for value in state.tokens.values():
            value.expires = 0.0
    elif action == "faults":
        body = await request.json()
        state.faults.extend([int(body["status"])] * int(body["count"]))
    elif action == "partial":
        body = await request.json()
        state.partial.setdefault(body["pce"], set()).add(
            date.fromisoformat(body["day"])
        )
    elif action == "holders":
        return JSONResponse(
            {
                pce: {
                    "nom_titulaire": m.holder.nom,
                    "raison_sociale": m.holder.raison_sociale,
                    "courriel_titulaire": m.holder.courriel,
                    "code_postal": m.address.code_postal,
                }
                for pce, m in state.meters.items()
            }
        )
    elif action != "stats":
        return _status(404, "1000000000", f"Action inconnue : {action}")
    return JSONResponse(
        {
            "calls": state.calls,
            "throttled": state.throttled,
            "faults": len(state.faults),
        }
    )


async def healthz(_: Request) -> Response:
    return JSONResponse({"live": True})


def build_app(state: EmulatorState) -> Starlette:
    """The ASGI app of one emulator state: both token paths, both API bases."""
    routes = [
        Route(SOFIT_TOKEN_PATH, token, methods=["POST"]),
        Route(OKTA_TOKEN_PATH, token, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", healthz),
        Route(
            "/_emulator/rights/{id_droit_acces}/{action}", right_hook, methods=["POST"]
        ),
        Route("/_emulator/{action}", hooks, methods=["POST", "GET"]),
    ]
    for base in (PRODUCTION, SANDBOX):
        injections = "donnees_injections_publiees"
        if base == SANDBOX and state.settings.sandbox_injection_typo:
            injections = "donnees_injection_publiees"
        routes += [
            Route(f"{base}/pce/{{id_pce}}/droit_acces", declare, methods=["PUT"]),
            Route(f"{base}/droits_acces", list_rights, methods=["GET", "POST"]),
            Route(f"{base}/droit_acces/{{id_droit_acces}}", revoke, methods=["PATCH"]),
            Route(
                f"{base}/droit_acces/{{id_droit_acces}}/preuves",
                proofs,
                methods=["PUT"],
            ),
            Route(
                f"{base}/pce/{{id_pce}}/donnees_consos_informatives",
                consumption("informatives"),
            ),
            Route(
                f"{base}/pce/{{id_pce}}/donnees_consos_publiees",
                consumption("publiees"),
            ),
            Route(f"{base}/pce/{{id_pce}}/{injections}", consumption("injections")),
            Route(
                f"{base}/pce/{{id_pce}}/donnees_contractuelles",
                single("contractuelles"),
            ),
            Route(f"{base}/pce/{{id_pce}}/donnees_techniques", single("techniques")),
        ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
