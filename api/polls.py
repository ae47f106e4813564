"""Polls: show one, vote (`/api/v1/polls/:id`); a poll's id is its status' id.

A poll is visible to whoever may see its status. Votes follow Mastodon's validator and its messages,
decided by core (`modules.core.polls`): an option index that does not exist, a second vote (on a
single-choice poll, also several choices at once), and a poll that has ended are 422s. The vote carries
the request's `Idempotency-Key` as its uuid, so a client retrying the same request gets the poll back
while a second request with the same choices is refused.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import compose, render, status_entities
from api.config import CLIENT, Route
from api.errors import not_found, unprocessable
from api.lookups import path_id
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.statuses import viewer_of

CORE = "core"
NO_SUCH_OPTION = "The chosen vote option does not exist"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/polls/{id}", show),
        ("POST", "/api/v1/polls/{id}/votes", vote),
    ]


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/polls/:id."""
    viewer = await viewer_of(request)
    found = await poll_or_404(request, viewer, path_id(request))
    return json_response(status_entities.poll(found, signed_in=viewer is not None))


async def vote(request: web.Request) -> web.Response:
    """POST /api/v1/polls/:id/votes: vote for `choices[]` (option indexes)."""
    account = await require_user(request, "write:statuses")
    poll_id = path_id(request)
    found = await poll_or_404(request, account, poll_id)
    choices = parse_choices((await read_params(request)).strings("choices", most=20), found)
    uuid = compose.request_uuid(request, "vote")
    record = {"op": "vote", "account": account, "poll": poll_id, "choices": choices, "uuid": uuid}
    await request.app[CLIENT].append(CORE, "*poll_votes", record)
    return json_response(status_entities.poll(await poll_or_404(request, account, poll_id), signed_in=True))


def parse_choices(given: list[str], poll: dict[str, Any]) -> list[int]:
    """Return the chosen option indexes, or Mastodon's 422 for a choice that names no option."""
    if not given or not all(c.isdigit() and int(c) < len(poll["options"]) for c in given):
        raise unprocessable(NO_SUCH_OPTION)
    return sorted({int(c) for c in given})


async def poll_or_404(request: web.Request, viewer: int | None, poll_id: int) -> dict[str, Any]:
    """Return core's poll `poll_id` as `viewer` sees it, if they may see its status; 404 otherwise."""
    client = request.app[CLIENT]
    shown = await client.query(CORE, "statuses", viewer, [poll_id], render.now_ms(request))
    found = await render.poll(request, viewer, poll_id) if shown else None
    if found is None:
        raise not_found()
    return found
