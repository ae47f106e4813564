"""Filters v1 (`/api/v1/filters`), as Mastodon 4 maps them onto v2: one V1::Filter per filter keyword.

A V1::Filter's id is its keyword's id and its `phrase` the keyword; `irreversible` is the `hide` action.
Creating one makes a filter titled with the phrase, holding that one keyword. Updating changes the keyword
and, through it, its filter (title, context, action, expiry); a filter holding several keywords keeps
those filter fields, and asking to change them is a 422, as Mastodon answers. Deleting removes only the
keyword: the filter stays for the v2 API. `whole_word` defaults to true, Mastodon's stored default.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import ApiError
from api.filter_params import RELATIONSHIPS, change, expires_in, owned_filter, owned_row
from api.list_entities import v1_filter
from api.lookups import path_id
from api.params import Params, read_params
from api.request_keys import request_uuid
from api.responses import json_response
from api.scopes import require_user

READ, WRITE = "read:filters", "write:filters"
MAX_PHRASE_CHARS = 5_000  # the module gives the precise limit; this only bounds what we read
MULTIPLE_KEYWORDS = (
    "These parameters cannot be changed from this application because they apply to more than one filter "
    "keyword. Use a more recent application or the web interface."
)


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/filters", index),
        ("POST", "/api/v1/filters", create),
        ("GET", "/api/v1/filters/{id}", show),
        ("PUT", "/api/v1/filters/{id}", update),
        ("DELETE", "/api/v1/filters/{id}", delete),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/filters: every keyword of the caller's filters, as V1::Filters."""
    caller = await require_user(request, READ)
    found = await request.app[CLIENT].query(RELATIONSHIPS, "filters", caller)
    return json_response([v1_filter(f, keyword) for f in found for keyword in f["keywords"]])


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/filters (`phrase`, `context[]`, `irreversible`, `whole_word`, `expires_in`)."""
    caller = await require_user(request, WRITE)
    params = await read_params(request)
    phrase = params.required("phrase", most=MAX_PHRASE_CHARS)
    fields = {"title": phrase, "filter_action": "warn", **_filter_fields(params)}
    record = {"op": "create", "account": caller, "uuid": request_uuid(request, "filter"), **fields}
    filter_id = int(await change(request, {**record, "keywords": [_keyword(params, phrase)]}))
    found = await owned_filter(request, caller, filter_id)
    return json_response(v1_filter(found, found["keywords"][0]))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/filters/:id."""
    caller = await require_user(request, READ)
    found, keyword = await _keyword_and_filter(request, caller)
    return json_response(v1_filter(found, keyword))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v1/filters/:id: change the keyword, and its filter's fields where it is the only keyword."""
    caller = await require_user(request, WRITE)
    found, keyword = await _keyword_and_filter(request, caller)
    params = await read_params(request)
    phrase = params.string("phrase", most=MAX_PHRASE_CHARS)
    fields = _filter_fields(params) | ({"title": phrase} if phrase is not None else {})
    if len(found["keywords"]) > 1:
        if _changes_filter(found, fields):
            raise ApiError(422, MULTIPLE_KEYWORDS)
        fields = {}
    edit = {"id": keyword["id"], **_keyword(params, phrase if phrase is not None else keyword["keyword"])}
    await change(request, {"op": "update", "account": caller, "filter_id": found["id"], **fields, "keywords": [edit]})
    found, keyword = await _keyword_and_filter(request, caller)
    return json_response(v1_filter(found, keyword))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/filters/:id: the keyword only (its filter stays, as Mastodon)."""
    caller = await require_user(request, WRITE)
    keyword = await owned_row(request, "filter_keyword", caller, path_id(request))
    await change(request, {"op": "remove_keyword", "account": caller, "keyword_id": keyword["id"]})
    return json_response({})


def _filter_fields(params: Params) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if params.has("context"):
        fields["context"] = params.strings("context", most=10)
    if params.has("irreversible"):
        fields["filter_action"] = "hide" if params.boolean("irreversible") else "warn"
    if params.has("expires_in"):
        fields["expires_in"] = expires_in(params)
    return fields


def _keyword(params: Params, phrase: str) -> dict[str, Any]:
    keyword: dict[str, Any] = {"keyword": phrase}
    if params.has("whole_word"):
        keyword["whole_word"] = params.boolean("whole_word")
    return keyword


def _changes_filter(found: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Whether `fields` would change the filter itself (an expiry given always moves it, unless both never)."""
    if "expires_in" in fields and (fields["expires_in"] is not None or found["expires_at"] is not None):
        return True
    wanted = {**fields, "title": str(fields.get("title", found["title"])).strip()}
    if "context" in fields and set(fields["context"]) != set(found["context"]):
        return True
    return any(found[name] != wanted[name] for name in ("title", "filter_action") if name in wanted)


async def _keyword_and_filter(request: web.Request, caller: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the filter of the keyword the path names, and that keyword (as the filter lists it); 404 if none."""
    keyword = await owned_row(request, "filter_keyword", caller, path_id(request))
    found = await owned_filter(request, caller, keyword["filter_id"])
    return found, next(k for k in found["keywords"] if k["id"] == keyword["id"])
