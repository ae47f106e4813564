"""What an account does to a status: favourite, reblog, bookmark, pin, mute its conversation, and the undos.

Each appends one record to core (idempotent there: a repeat changes nothing) and answers with the Status
as the caller now sees it. A boost stands for its original, as in Mastodon. Mastodon's answers when core
refuses: 404 for a status the caller may not see (its existence is not revealed), 403 for a favourite or
boost the policy forbids (blocked, direct, someone else's private status), 422 for a pin the validator
refuses (someone else's, a boost, direct, over the limit).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import ApiError, forbidden, not_found
from api.lookups import path_id
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.statuses import status_or_404
from topology.context import RecordRejected

CORE = "core"
NOT_ALLOWED = "This action is not allowed"
Refusal = Callable[[str], ApiError]


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
    return await act(request, "write:favourites", "*favourites", "favourite", policy_refusal)


async def unfavourite(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unfavourite."""
    return await act(request, "write:favourites", "*favourites", "unfavourite", policy_refusal)


async def bookmark(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/bookmark."""
    return await act(request, "write:bookmarks", "*bookmarks", "bookmark", policy_refusal)


async def unbookmark(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unbookmark."""
    return await act(request, "write:bookmarks", "*bookmarks", "unbookmark", policy_refusal)


async def pin(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/pin: pin one of the caller's own statuses to their profile."""
    return await act(request, "write:accounts", "*pins", "pin", validation_refusal)


async def unpin(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unpin."""
    return await act(request, "write:accounts", "*pins", "unpin", validation_refusal)


async def mute(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/mute: no more notifications from this conversation."""
    return await act(request, "write:mutes", "*conversation_mutes", "mute", policy_refusal, same_status=True)


async def unmute(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unmute."""
    return await act(request, "write:mutes", "*conversation_mutes", "unmute", policy_refusal, same_status=True)


async def reblog(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/reblog: boost it (optionally `visibility`); the boost wraps the original."""
    account = await require_user(request, "write:statuses")
    status_id = path_id(request)
    visibility = (await read_params(request)).string("visibility", most=16) or "public"
    record = {"op": "reblog", "account": account, "status": status_id, "visibility": visibility}
    boost_id = await append(request, "*reblogs", record, policy_refusal)
    return json_response(await status_or_404(request, account, boost_id, just_written=True))


async def unreblog(request: web.Request) -> web.Response:
    """POST /api/v1/statuses/:id/unreblog: undo the caller's boost; answers with the original."""
    account = await require_user(request, "write:statuses")
    status_id = path_id(request)
    await append(request, "*reblogs", {"op": "unreblog", "account": account, "status": status_id}, policy_refusal)
    return json_response(await status_or_404(request, account, status_id))


async def act(
    request: web.Request, scope: str, depot: str, op: str, refusal: Refusal, *, same_status: bool = False
) -> web.Response:
    """Append `{op, account, status}` to `depot` and answer with the status acted on, as the caller sees it."""
    account = await require_user(request, scope)
    status_id = path_id(request)
    acted_on = await append(request, depot, {"op": op, "account": account, "status": status_id}, refusal)
    # Core answers with the status it acted on (a boost's original); a mute answers with the thread root.
    return json_response(await status_or_404(request, account, status_id if same_status else acted_on))


async def append(request: web.Request, depot: str, record: dict[str, object], refusal: Refusal) -> int:
    """Append `record` to core's `depot`; return the id core answers with, or the Mastodon error of a refusal."""
    try:
        result = await request.app[CLIENT].append(CORE, depot, record)
    except RecordRejected as rejected:
        raise refusal(str(rejected)) from None
    return int(result.value) if result.value is not None else int(str(record["status"]))


def hidden(reason: str) -> bool:
    """Whether core refused because the status is unknown, deleted or not visible to the caller."""
    return reason.startswith("unknown status") or reason.endswith("not found")


def policy_refusal(reason: str) -> ApiError:
    """404 for a status the caller may not see; 403 for what Mastodon's StatusPolicy forbids."""
    return not_found() if hidden(reason) else forbidden(NOT_ALLOWED)


def validation_refusal(reason: str) -> ApiError:
    """404 for a status the caller may not see; 422 with the validator's message otherwise."""
    if hidden(reason):
        return not_found()
    message = reason if reason.startswith("Validation failed: ") else f"Validation failed: {reason}"
    return ApiError(422, message)
