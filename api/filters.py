"""Filters v2: filter groups with their keywords and filtered statuses (Mastodon 4.x's `/api/v2/filters`).

Filters live in the relationships module, on the account's task; another account's filter, keyword or
status id reads as missing (404). Creates carry a client uuid (from `Idempotency-Key` when given), so a
retried request makes one filter. Keywords and statuses are addressed by their own ids at Mastodon's
`/api/v2/filters/keywords/:id` and `/api/v2/filters/statuses/:id` (also at `/api/v2/filter_keywords/:id`
and `/api/v2/filter_statuses/:id`). Expired filters are still listed, with their `expires_at`, as Mastodon.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import not_found
from api.filter_params import change, filter_fields, keyword_attributes, keyword_edit, owned_filter, owned_row
from api.list_entities import filter_entity, filter_keyword, filter_status
from api.lookups import parse_id, path_id
from api.params import read_params
from api.request_keys import request_uuid
from api.responses import json_response
from api.scopes import require_user

CORE, RELATIONSHIPS = "core", "relationships"
READ, WRITE = "read:filters", "write:filters"
# Mastodon's paths of one keyword / one filtered status, then the spelling without the nesting.
ROW_PATHS = (
    ("/api/v2/filters/keywords/{id}", "/api/v2/filters/statuses/{id}"),
    ("/api/v2/filter_keywords/{id}", "/api/v2/filter_statuses/{id}"),
)


def routes() -> list[Route]:
    """The routes of this resource."""
    found: list[Route] = [
        ("GET", "/api/v2/filters", index),
        ("POST", "/api/v2/filters", create),
        ("GET", "/api/v2/filters/{id}", show),
        ("PUT", "/api/v2/filters/{id}", update),
        ("DELETE", "/api/v2/filters/{id}", delete),
        ("GET", "/api/v2/filters/{id}/keywords", keywords),
        ("POST", "/api/v2/filters/{id}/keywords", add_keyword),
        ("GET", "/api/v2/filters/{id}/statuses", statuses),
        ("POST", "/api/v2/filters/{id}/statuses", add_status),
    ]
    for keyword_path, status_path in ROW_PATHS:
        found += [
            ("GET", keyword_path, show_keyword),
            ("PUT", keyword_path, update_keyword),
            ("DELETE", keyword_path, delete_keyword),
            ("GET", status_path, show_status),
            ("DELETE", status_path, delete_status),
        ]
    return found


async def index(request: web.Request) -> web.Response:
    """GET /api/v2/filters: the caller's filters, oldest first."""
    caller = await require_user(request, READ)
    found = await request.app[CLIENT].query(RELATIONSHIPS, "filters", caller)
    return json_response([filter_entity(value) for value in found])


async def create(request: web.Request) -> web.Response:
    """POST /api/v2/filters (`title`, `context[]`, `filter_action`, `expires_in`, `keywords_attributes[]`)."""
    caller = await require_user(request, WRITE)
    params = await read_params(request)
    new_keywords = [edit for edit in keyword_attributes(params) if "id" not in edit and not edit.get("_destroy")]
    record = {"op": "create", "account": caller, "uuid": request_uuid(request, "filter"), **filter_fields(params)}
    filter_id = int(await change(request, {**record, "keywords": new_keywords}))
    return json_response(filter_entity(await owned_filter(request, caller, filter_id)))


async def show(request: web.Request) -> web.Response:
    """GET /api/v2/filters/:id."""
    caller = await require_user(request, READ)
    return json_response(filter_entity(await owned_filter(request, caller, path_id(request))))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v2/filters/:id: change the given fields; `keywords_attributes[]` adds, edits or destroys keywords."""
    caller = await require_user(request, WRITE)
    filter_id = (await owned_filter(request, caller, path_id(request)))["id"]
    params = await read_params(request)
    record = {"op": "update", "account": caller, "filter_id": filter_id, **filter_fields(params)}
    await change(request, {**record, "keywords": keyword_attributes(params)})
    return json_response(filter_entity(await owned_filter(request, caller, filter_id)))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v2/filters/:id: the filter with its keywords and statuses."""
    caller = await require_user(request, WRITE)
    filter_id = (await owned_filter(request, caller, path_id(request)))["id"]
    await change(request, {"op": "delete", "account": caller, "filter_id": filter_id})
    return json_response({})


async def keywords(request: web.Request) -> web.Response:
    """GET /api/v2/filters/:id/keywords."""
    caller = await require_user(request, READ)
    found = await owned_filter(request, caller, path_id(request))
    return json_response([filter_keyword(k) for k in found["keywords"]])


async def add_keyword(request: web.Request) -> web.Response:
    """POST /api/v2/filters/:id/keywords (`keyword`, `whole_word`)."""
    caller = await require_user(request, WRITE)
    filter_id = (await owned_filter(request, caller, path_id(request)))["id"]
    params = await read_params(request)
    params.required("keyword")
    edit = keyword_edit(params)
    record = {"op": "add_keyword", "account": caller, "filter_id": filter_id, "uuid": request_uuid(request, "keyword")}
    keyword_id = int(await change(request, {**record, **_keyword_changes(edit)}))
    return json_response(filter_keyword(await owned_row(request, "filter_keyword", caller, keyword_id)))


async def show_keyword(request: web.Request) -> web.Response:
    """GET /api/v2/filters/keywords/:id."""
    caller = await require_user(request, READ)
    return json_response(filter_keyword(await owned_row(request, "filter_keyword", caller, path_id(request))))


async def update_keyword(request: web.Request) -> web.Response:
    """PUT /api/v2/filters/keywords/:id (`keyword`, `whole_word`)."""
    caller = await require_user(request, WRITE)
    keyword_id = (await owned_row(request, "filter_keyword", caller, path_id(request)))["id"]
    edit = keyword_edit(await read_params(request))
    record = {"op": "update_keyword", "account": caller, "keyword_id": keyword_id}
    await change(request, {**record, **_keyword_changes(edit)})
    return json_response(filter_keyword(await owned_row(request, "filter_keyword", caller, keyword_id)))


async def delete_keyword(request: web.Request) -> web.Response:
    """DELETE /api/v2/filters/keywords/:id."""
    caller = await require_user(request, WRITE)
    keyword_id = (await owned_row(request, "filter_keyword", caller, path_id(request)))["id"]
    await change(request, {"op": "remove_keyword", "account": caller, "keyword_id": keyword_id})
    return json_response({})


async def statuses(request: web.Request) -> web.Response:
    """GET /api/v2/filters/:id/statuses."""
    caller = await require_user(request, READ)
    found = await owned_filter(request, caller, path_id(request))
    return json_response([filter_status(s) for s in found["statuses"]])


async def add_status(request: web.Request) -> web.Response:
    """POST /api/v2/filters/:id/statuses (`status_id`): filter one status (again: the same FilterStatus)."""
    caller = await require_user(request, WRITE)
    filter_id = (await owned_filter(request, caller, path_id(request)))["id"]
    status_id = parse_id((await read_params(request)).required("status_id", most=20))
    if await request.app[CLIENT].query(CORE, "status", status_id) is None:
        raise not_found()
    record = {"op": "add_status", "account": caller, "filter_id": filter_id, "status_id": status_id}
    row_id = int(await change(request, record))
    return json_response(filter_status(await owned_row(request, "filter_status", caller, row_id)))


async def show_status(request: web.Request) -> web.Response:
    """GET /api/v2/filters/statuses/:id."""
    caller = await require_user(request, READ)
    return json_response(filter_status(await owned_row(request, "filter_status", caller, path_id(request))))


async def delete_status(request: web.Request) -> web.Response:
    """DELETE /api/v2/filters/statuses/:id."""
    caller = await require_user(request, WRITE)
    row_id = (await owned_row(request, "filter_status", caller, path_id(request)))["id"]
    await change(request, {"op": "remove_status", "account": caller, "filter_status_id": row_id})
    return json_response({})


def _keyword_changes(edit: dict[str, Any]) -> dict[str, Any]:
    return {name: edit[name] for name in ("keyword", "whole_word") if name in edit}
