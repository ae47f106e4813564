"""Reads that feed the entities: accounts with their counts, statuses hydrated by core for a viewer.

These are the only places the API gathers more than one module read for a response; handlers call one of
them (or one module query) and serialize.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiohttp import web

from api import entities
from api.config import CLIENT, CONFIG
from api.entities import Entity

CORE = "core"
RELATIONSHIPS = "relationships"


class HasApp(Protocol):
    """What these reads need of a request: its application (the streaming hub, outside a request, has one too)."""

    @property
    def app(self) -> web.Application:
        """The application holding the cluster client and the config."""
        ...


async def account_counts(request: HasApp, account_id: int) -> dict[str, int]:
    """Return the account's followers, following and statuses counts."""
    client = request.app[CLIENT]
    counts, statuses = await asyncio.gather(
        client.query(RELATIONSHIPS, "counts", account_id),
        client.pstate(CORE, "$$author_statuses").size(account_id),
    )
    return {**counts, "statuses_count": statuses}


async def account(request: web.Request, account_id: int, *, credential: bool = False) -> Entity | None:
    """Return the rendered Account `account_id`, or None if there is no such account."""
    found = await request.app[CLIENT].query(CORE, "account", account_id)
    if found is None:
        return None
    counts = await account_counts(request, account_id)
    if not credential:
        return entities.account(request.app[CONFIG], found, counts)
    pending = await request.app[CLIENT].pstate(RELATIONSHIPS, "$$follow_requests").size(account_id)
    return entities.credential_account(request.app[CONFIG], found, {**counts, "follow_requests_count": pending})


async def accounts(request: HasApp, account_ids: list[int]) -> list[Entity]:
    """Return the Accounts among `account_ids` that exist, rendered in order."""
    if not account_ids:
        return []
    found: dict[int, dict[str, Any]] = await request.app[CLIENT].query(CORE, "accounts_here", account_ids)
    present = [i for i in dict.fromkeys(account_ids) if i in found]
    counts = await asyncio.gather(*(account_counts(request, i) for i in present))
    config = request.app[CONFIG]
    rendered = {i: entities.account(config, found[i], c) for i, c in zip(present, counts, strict=True)}
    return [rendered[i] for i in account_ids if i in rendered]


async def statuses(request: HasApp, viewer: int | None, status_ids: list[int]) -> list[Entity]:
    """Return the live statuses among `status_ids`, rendered in order."""
    if not status_ids:
        return []
    hydrated: list[dict[str, Any]] = await request.app[CLIENT].query(CORE, "statuses", viewer, status_ids)
    authors = {s["author"]: s["account"] for s in hydrated if s.get("account") is not None}
    counts = await asyncio.gather(*(account_counts(request, author) for author in authors))
    config = request.app[CONFIG]
    rendered = {a: entities.account(config, authors[a], c) for a, c in zip(authors, counts, strict=True)}
    return [entities.status(config, s, rendered[s["author"]]) for s in hydrated if s["author"] in rendered]
