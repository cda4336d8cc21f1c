"""Webhook subscriptions to alerts (operators), for the neighbourhood alert system."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Request

from api.deps import Operator, PoolDep
from api.netguard import check_target
from api.problems import Problem
from api.schemas import WebhookIn, WebhookPage, WebhookPublic

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201)
async def create(
    body: WebhookIn, user: Operator, pool: PoolDep, request: Request
) -> WebhookPublic:
    """Subscribes a URL; the HMAC secret is returned once and stored sealed.

    422 ``webhook-target-refused`` when the host resolves to a loopback, private,
    link-local or otherwise non-public address outside ``API_WEBHOOK_ALLOW_NETWORKS``
    (``api.netguard``; checked again on every connection).
    """
    box = request.app.state.box
    if box is None:
        raise Problem(
            503,
            "SEN1_SECRET_KEY is not set; webhooks are disabled",
            kind="webhooks-disabled",
        )
    refused = await check_target(
        str(body.url), request.app.state.webhook_allow, request.app.state.resolve
    )
    if refused:
        raise Problem(422, refused, kind="webhook-target-refused")
    secret = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        if body.iris and not await conn.fetchval(
            "SELECT 1 FROM neighbourhoods WHERE iris = $1", body.iris
        ):
            raise Problem(422, "unknown neighbourhood", kind="validation")
        webhook_id = await conn.fetchval(
            """INSERT INTO api_webhooks (account_id, url, iris, secret_sealed)
               VALUES ($1, $2, $3, $4) RETURNING webhook_id""",
            user.account_id,
            str(body.url),
            body.iris,
            box.seal(secret),
        )
    return WebhookPublic(
        webhook_id=webhook_id,
        url=str(body.url),
        iris=body.iris,
        active=True,
        secret=secret,
    )


@router.get("")
async def list_hooks(user: Operator, pool: PoolDep) -> WebhookPage:
    """Your subscriptions (secrets never shown again)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT webhook_id, url, iris, active FROM api_webhooks "
            "WHERE account_id = $1 ORDER BY created_at",
            user.account_id,
        )
    return WebhookPage(items=[WebhookPublic(**dict(r)) for r in rows])


@router.delete("/{webhook_id}", status_code=204)
async def delete(webhook_id: uuid.UUID, user: Operator, pool: PoolDep) -> None:
    """Unsubscribes."""
    async with pool.acquire() as conn:
        done = await conn.execute(
            "DELETE FROM api_webhooks WHERE webhook_id = $1 AND account_id = $2",
            webhook_id,
            user.account_id,
        )
    if done.endswith(" 0"):
        raise Problem(404, "no such webhook", kind="not-found")
