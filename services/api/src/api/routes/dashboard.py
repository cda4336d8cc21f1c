"""The web dashboard (server-rendered shells; data drawn by static/sen1.js)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.i18n import MESSAGES, language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
PAGES = {
    "": "login.html",
    "resident": "resident.html",
    "city": "city.html",
    "operator": "operator.html",
    "portfolio": "portfolio.html",
}
Lang = Annotated[str | None, Query(pattern="^(fr|en)$")]


def _render(request: Request, page: str, lang: str | None) -> HTMLResponse:
    chosen = language(
        lang,
        request.headers.get("accept-language", ""),
        request.app.state.settings.default_language,
    )
    return templates.TemplateResponse(
        request,
        PAGES[page],
        {
            "t": MESSAGES[chosen],
            "lang": chosen,
            "page": page,
            "thresholds": request.app.state.settings.congestion.level_thresholds,
        },
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, lang: Lang = None) -> HTMLResponse:
    """Sign-in page (residents, operators) and city key entry."""
    return _render(request, "", lang)


@router.get("/resident", response_class=HTMLResponse)
async def resident(request: Request, lang: Lang = None) -> HTMLResponse:
    """Daily bars, load curve, month vs last and similar homes, euros, CO2."""
    return _render(request, "resident", lang)


@router.get("/city", response_class=HTMLResponse)
async def city(request: Request, lang: Lang = None) -> HTMLResponse:
    """Map (Leaflet, no tiles), period picker, drill-down, series, CSV of the screen."""
    return _render(request, "city", lang)


@router.get("/operator", response_class=HTMLResponse)
async def operator(request: Request, lang: Lang = None) -> HTMLResponse:
    """Live load vs capacity and thresholds, the alert feed (SSE) and history."""
    return _render(request, "operator", lang)


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio(request: Request, lang: Lang = None) -> HTMLResponse:
    """A manager's sites ranked by kWh/m² and change, anomalies, CSV."""
    return _render(request, "portfolio", lang)
