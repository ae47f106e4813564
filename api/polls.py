"""Polls: show one, vote (`/api/v1/polls/:id`); a poll's id is its status' id.

A poll is visible to whoever may see its status. Votes follow Mastodon's validator and its messages:
an option index that does not exist, a second vote (on a single-choice poll, also several choices at
once: Mastodon reports that as a second vote), and a poll that has ended are 422s. Core applies the same
rules; the checks here give a repeated vote Mastodon's error where core, built for retries, would accept
the same choices again as a no-op.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import render, status_entities
from api.config import CLIENT, Route
from api.errors import not_found, unprocessable
from api.lookups import path_id
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.statuses import viewer_of

CORE = "core"
ALREADY_VOTED = "You have already voted on this poll"
NO_SUCH_OPTION = "The chosen vote option does not exist"
ENDED = "The poll has already ended"


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
    record = {"op": "vote", "account": account, "poll": poll_id, "choices": choices}
    await request.app[CLIENT].append(CORE, "*poll_votes", record)
    return json_response(status_entities.poll(await poll_or_404(request, account, poll_id), signed_in=True))


def parse_choices(given: list[str], poll: dict[str, Any]) -> list[int]:
    """Return the chosen option indexes, or the 422 Mastodon answers for this vote."""
    if not given:
        raise unprocessable(NO_SUCH_OPTION)
    if not all(c.isdigit() and int(c) < len(poll["options"]) for c in given):
        raise unprocessable(NO_SUCH_OPTION)
    if poll["expired"]:
        raise unprocessable(ENDED)
    choices = sorted({int(c) for c in given})
    voted_again = poll["voted"] and (not poll["multiple"] or set(choices) & set(poll["own_votes"]))
    if voted_again or (not poll["multiple"] and len(choices) > 1):
        raise unprocessable(ALREADY_VOTED)
    return choices


async def poll_or_404(request: web.Request, viewer: int | None, poll_id: int) -> dict[str, Any]:
    """Return core's poll `poll_id` as `viewer` sees it, if they may see its status; 404 otherwise."""
    client = request.app[CLIENT]
    shown = await client.query(CORE, "statuses", viewer, [poll_id], render.now_ms(request))
    found = await render.poll(request, viewer, poll_id) if shown else None
    if found is None:
        raise not_found()
    return found
