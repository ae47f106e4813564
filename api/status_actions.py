"""What an account does to a status: favourite, reblog, bookmark, pin, mute its conversation, and the undos.

Each appends one record to core (idempotent there: a repeat changes nothing) and answers with the Status
as the caller now sees it. A boost stands for its original, as in Mastodon. Mastodon's answers when core
refuses follow the rejection's kind (`api.errors.rejection`, in the app's error middleware): 404 for a
status the caller may not see (its existence is not revealed), 403 for a favourite or boost the policy
forbids (blocked, direct, someone else's private status), 422 for a pin the validator refuses (someone
else's, a boost, direct, over the limit).
"""

from __future__ import annotations

from aiohttp import web

from api.config import CLIENT, Route
from api.lookups import path_id
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.statuses import status_or_404

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    prefix = "/api/v1/statuses/{id}"
    return [
        ("POST", f"{prefix}/favourite", favourite),
        ("POST", f"{prefix}/unfavourite", unfavourite),
        ("POST", f"{prefix}/reblog", reblog),
        ("POST", f"{prefix}/unreblog", unreblog),
        ("POST", f"{prefix}/bookmark", bookmark),
        ("POST", f"{prefix}/unbookmark", unbookmark),
        ("POST", f"{prefix}/pin", pin),
        ("POST", f"{prefix}/unpin", unpin),
        ("POST", f"{prefix}/mute", mute),
        ("POST", f"{prefix}/unmute", unmute),
    ]


async def favourite(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/favourite."""
    return await act(request, "write:favourites", "*favourites", "favourite")


async def unfavourite(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unfavourite."""
    return await act(request, "write:favourites", "*favourites", "unfavourite")


async def bookmark(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/bookmark."""
    return await act(request, "write:bookmarks", "*bookmarks", "bookmark")


async def unbookmark(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unbookmark."""
    return await act(request, "write:bookmarks", "*bookmarks", "unbookmark")


async def pin(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/pin: pin one of the caller's own statuses to their profile."""
    return await act(request, "write:accounts", "*pins", "pin")


async def unpin(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unpin."""
    return await act(request, "write:accounts", "*pins", "unpin")


async def mute(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/mute: no more notifications from this conversation."""
    return await act(request, "write:mutes", "*conversation_mutes", "mute", same_status=True)


async def unmute(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unmute."""
    return await act(request, "write:mutes", "*conversation_mutes", "unmute", same_status=True)


async def reblog(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/reblog: boost it (optionally `visibility`); the boost wraps the original."""
    account = await require_user(request, "write:statuses")
    status_id = path_id(request)
    visibility = (await read_params(request)).string("visibility", most=16) or "public"
    record = {"op": "reblog", "account": account, "status": status_id, "visibility": visibility}
    boost_id = await append(request, "*reblogs", record)
    return json_response(await status_or_404(request, account, boost_id, just_written=True))


async def unreblog(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unreblog: undo the caller's boost; answers with the original."""
    account = await require_user(request, "write:statuses")
    status_id = path_id(request)
    await append(request, "*reblogs", {"op": "unreblog", "account": account, "status": status_id})
    return json_response(await status_or_404(request, account, status_id))


async def act(request: web.Request, scope: str, depot: str, op: str, *, same_status: bool = False) -> web.Response:
    """Append `{op, account, status}` to `depot` and answer with the status acted on, as the caller sees it."""
    account = await require_user(request, scope)
    status_id = path_id(request)
    acted_on = await append(request, depot, {"op": op, "account": account, "status": status_id})
    # Core answers with the status it acted on (a boost's original); a mute answers with the thread root.
    return json_response(await status_or_404(request, account, status_id if same_status else acted_on))


async def append(request: web.Request, depot: str, record: dict[str, object]) -> int:
    """Append `record` to core's `depot`; return the id core answers with (a refusal maps by its kind)."""
    result = await request.app[CLIENT].append(CORE, depot, record)
    return int(result.value) if result.value is not None else int(str(record["status"]))
