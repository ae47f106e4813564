"""Lists: create, read, rename and delete a caller's lists, and manage their members.

Lists live in the relationships module, on the owner's task (`list_*` records of `*follows`); a list of
another account reads as missing, so its id answers 404 as Mastodon does. Members must be accounts the
owner follows: the route says so with Mastodon's message before appending, and the module checks it
again in the same commit as the add. Members page by account id (the module's order), newest first,
with `Link` headers; `limit=0` returns every member at once, without them.

The list timeline (`GET /api/v1/timelines/list/:id`) needs core's fanout to lists and is not here yet.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import render
from api.account_lists import list_page
from api.config import CLIENT, Route
from api.errors import ApiError, bad_request, not_found
from api.list_entities import list_entity
from api.lookups import existing, now_ms, parse_id, path_id
from api.pagination import collect, paged
from api.params import Params, read_params
from api.request_keys import request_uuid
from api.responses import json_response
from api.scopes import require_user

CORE, RELATIONSHIPS = "core", "relationships"
DEFAULT_LIMIT, MAX_LIMIT = 40, 80
MAX_ACCOUNT_IDS = 250  # the module's bound per record
MAX_ALL_MEMBERS = 10_000  # `limit=0` walks at most this many members
MAX_TITLE_CHARS = 1_000  # the module gives the precise limit; this only bounds what we read


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/lists", index),
        ("POST", "/api/v1/lists", create),
        ("GET", "/api/v1/lists/{id}", show),
        ("PUT", "/api/v1/lists/{id}", update),
        ("DELETE", "/api/v1/lists/{id}", delete),
        ("GET", "/api/v1/lists/{id}/accounts", members),
        ("POST", "/api/v1/lists/{id}/accounts", add_members),
        ("DELETE", "/api/v1/lists/{id}/accounts", remove_members),
        ("GET", "/api/v1/accounts/{id}/lists", with_account),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/lists: the caller's lists, oldest first."""
    caller = await require_user(request, "read:lists")
    found = await request.app[CLIENT].query(RELATIONSHIPS, "lists", caller)
    return json_response([list_entity(value) for value in found])


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/lists (`title`, `replies_policy`, `exclusive`): a new list."""
    caller = await require_user(request, "write:lists")
    settings = list_settings(await read_params(request))
    record = {"op": "list_create", "owner": caller, "uuid": request_uuid(request, "list"), **settings}
    list_id = int((await request.app[CLIENT].append(RELATIONSHIPS, "*follows", record)).value)
    return json_response(list_entity(await owned_list(request, caller, list_id)))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/lists/:id."""
    caller = await require_user(request, "read:lists")
    return json_response(list_entity(await owned_list(request, caller, path_id(request))))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v1/lists/:id: change the given fields (title, replies_policy, exclusive)."""
    caller = await require_user(request, "write:lists")
    list_id = (await owned_list(request, caller, path_id(request)))["id"]
    settings = list_settings(await read_params(request))
    record = {"op": "list_update", "owner": caller, "list_id": list_id, **settings}
    await request.app[CLIENT].append(RELATIONSHIPS, "*follows", record)
    return json_response(list_entity(await owned_list(request, caller, list_id)))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/lists/:id: the list and its memberships."""
    caller = await require_user(request, "write:lists")
    list_id = (await owned_list(request, caller, path_id(request)))["id"]
    await request.app[CLIENT].append(
        RELATIONSHIPS, "*follows", {"op": "list_delete", "owner": caller, "list_id": list_id}
    )
    return json_response({})


async def members(request: web.Request) -> web.Response:
    """GET /api/v1/lists/:id/accounts: a page of members (`limit=0`: all of them, unpaged)."""
    caller = await require_user(request, "read:lists")
    list_id = (await owned_list(request, caller, path_id(request)))["id"]
    params = await read_params(request)
    if params.integer("limit", DEFAULT_LIMIT, 0, MAX_LIMIT) == 0:
        return json_response(await render.accounts(request, await _all_members(request, caller, list_id)))
    page = list_page(params)

    async def fetch(max_id: int | None, limit: int) -> list[int]:
        ids: list[int] = await request.app[CLIENT].query(RELATIONSHIPS, "list_members", caller, list_id, max_id, limit)
        return ids

    return await paged(request, await render.accounts(request, await collect(fetch, page)))


async def add_members(request: web.Request) -> web.Response:
    """POST /api/v1/lists/:id/accounts (`account_ids[]`): add accounts the caller follows."""
    caller = await require_user(request, "write:lists")
    list_id = (await owned_list(request, caller, path_id(request)))["id"]
    accounts = await _existing_accounts(request, await _account_ids(request))
    following = await request.app[CLIENT].query(RELATIONSHIPS, "relationships", caller, list(accounts), now_ms(request))
    strangers = [r["id"] for r in following if not r["following"]]
    if strangers:
        username = accounts[strangers[0]]["username"]
        raise ApiError(422, f"You must follow @{username} before adding this account to a list.")
    record = {"op": "list_add", "owner": caller, "list_id": list_id, "accounts": list(accounts)}
    await request.app[CLIENT].append(RELATIONSHIPS, "*follows", record)
    return json_response({})


async def remove_members(request: web.Request) -> web.Response:
    """DELETE /api/v1/lists/:id/accounts (`account_ids[]`): remove accounts (ones not listed are ignored)."""
    caller = await require_user(request, "write:lists")
    list_id = (await owned_list(request, caller, path_id(request)))["id"]
    record = {"op": "list_remove", "owner": caller, "list_id": list_id, "accounts": await _account_ids(request)}
    await request.app[CLIENT].append(RELATIONSHIPS, "*follows", record)
    return json_response({})


async def with_account(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/lists: the caller's lists that include the account."""
    caller = await require_user(request, "read:lists")
    found = await request.app[CLIENT].query(RELATIONSHIPS, "lists_with_member", caller, await existing(request))
    return json_response([list_entity(value) for value in found])


async def owned_list(request: web.Request, owner: int, list_id: int) -> dict[str, Any]:
    """Return the module's list `list_id` of `owner`; 404 if `owner` has no such list."""
    found: dict[str, Any] | None = await request.app[CLIENT].query(RELATIONSHIPS, "list", owner, list_id)
    if found is None:
        raise not_found()
    return found


def list_settings(params: Params) -> dict[str, Any]:
    """Return the list fields given (the module validates them and keeps the others)."""
    settings: dict[str, Any] = {}
    title = params.string("title", most=MAX_TITLE_CHARS)
    if title is not None:
        settings["title"] = title
    policy = params.string("replies_policy", most=20)
    if policy:
        settings["replies_policy"] = policy
    if params.has("exclusive"):
        settings["exclusive"] = params.boolean("exclusive")
    return settings


async def _all_members(request: web.Request, owner: int, list_id: int) -> list[int]:
    out: list[int] = []
    cursor: int | None = None
    while len(out) < MAX_ALL_MEMBERS:
        ids: list[int] = await request.app[CLIENT].query(
            RELATIONSHIPS, "list_members", owner, list_id, cursor, MAX_LIMIT
        )
        out += ids
        if len(ids) < MAX_LIMIT:
            break
        cursor = ids[-1]
    return out[:MAX_ALL_MEMBERS]


async def _account_ids(request: web.Request) -> list[int]:
    texts = (await read_params(request)).strings("account_ids", most=MAX_ACCOUNT_IDS)
    if not texts:
        raise bad_request("Missing required parameter: account_ids")
    return list(dict.fromkeys(parse_id(text) for text in texts))


async def _existing_accounts(request: web.Request, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return the accounts `ids` name, in order; 404 if one does not exist (Mastodon finds each)."""
    found: dict[int, dict[str, Any]] = await request.app[CLIENT].query(CORE, "accounts_here", ids)
    if any(i not in found for i in ids):
        raise not_found()
    return {i: found[i] for i in ids}
