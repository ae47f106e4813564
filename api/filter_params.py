"""What the filter routes share: reading filter fields and `keywords_attributes`, owned rows, the stream event.

`keywords_attributes` arrives as a JSON list (or object) of objects, as indexed form fields
(`keywords_attributes[0][keyword]=`) or as Rails' unindexed ones (`keywords_attributes[][keyword]=`);
the unindexed kind is read by position, so each entry must give the same fields. Every write ends with
`filters_changed` on the caller's `user` streams, as Mastodon sends it, so clients re-fetch their filters.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from api.config import CLIENT
from api.errors import not_found, unprocessable
from api.lookups import parse_id
from api.params import Params
from api.streaming import HUB

RELATIONSHIPS = "relationships"
KEYWORD_FIELDS = ("id", "keyword", "whole_word", "_destroy")
MAX_KEYWORD_CHARS = 5_000  # the module gives the precise limit; this only bounds what we read
MAX_CONTEXTS = 10
MAX_ATTRIBUTES = 100


def filter_fields(params: Params) -> dict[str, Any]:
    """Return the filter fields given: title, context, filter_action, expires_in (the module validates them)."""
    fields: dict[str, Any] = {}
    if params.has("title"):
        fields["title"] = params.string("title", most=MAX_KEYWORD_CHARS)
    if params.has("context"):
        fields["context"] = params.strings("context", most=MAX_CONTEXTS)
    if params.has("filter_action"):
        fields["filter_action"] = params.string("filter_action", most=20)
    if params.has("expires_in"):
        fields["expires_in"] = expires_in(params)
    return fields


def expires_in(params: Params) -> int | None:
    """Return `expires_in` in seconds; empty or null means never."""
    text = params.string("expires_in", most=20)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise unprocessable("expires_in must be a number of seconds") from None


def keyword_attributes(params: Params) -> list[dict[str, Any]]:
    """Return the `keywords_attributes` entries as the module's keyword edits."""
    nested = params.nested("keywords_attributes")
    entries: list[Params] = []
    for name in nested.names():
        entries += _unindexed(nested.nested("")) if name == "" else [nested.nested(name)]
    if len(entries) > MAX_ATTRIBUTES:
        raise unprocessable(f"keywords_attributes has more than {MAX_ATTRIBUTES} entries")
    return [keyword_edit(entry) for entry in entries]


def keyword_edit(entry: Params) -> dict[str, Any]:
    """Return one keyword edit: new (no id), a change (id and fields) or a removal (id and `_destroy`)."""
    edit: dict[str, Any] = {}
    if entry.string("id", most=20):
        edit["id"] = parse_id(entry.required("id", most=20))
    if entry.has("keyword"):
        edit["keyword"] = entry.string("keyword", most=MAX_KEYWORD_CHARS)
    if entry.has("whole_word"):
        edit["whole_word"] = entry.boolean("whole_word")
    if entry.boolean("_destroy"):
        edit["_destroy"] = True
    return edit


async def owned_filter(request: web.Request, account: int, filter_id: int) -> dict[str, Any]:
    """Return `account`'s filter `filter_id` with its keywords and statuses; 404 if it has none such."""
    found: dict[str, Any] | None = await request.app[CLIENT].query(RELATIONSHIPS, "filter", account, filter_id)
    if found is None:
        raise not_found()
    return found


async def owned_row(request: web.Request, query: str, account: int, row_id: int) -> dict[str, Any]:
    """Return `account`'s filter keyword or filter status `row_id` (with its filter_id); 404 if none."""
    found: dict[str, Any] | None = await request.app[CLIENT].query(RELATIONSHIPS, query, account, row_id)
    if found is None:
        raise not_found()
    return found


async def change(request: web.Request, record: dict[str, Any]) -> Any:
    """Append a `*filters` record, tell the account's streams its filters changed, return the result."""
    result = (await request.app[CLIENT].append(RELATIONSHIPS, "*filters", record)).value
    request.app[HUB].push_to_account(record["account"], "filters_changed")
    return result


def _unindexed(inner: Params) -> list[Params]:
    """Split `[][field]=` parameters into entries by position."""
    columns = {field: inner.strings(field, most=MAX_ATTRIBUTES) for field in KEYWORD_FIELDS if inner.has(field)}
    sizes = {len(values) for values in columns.values()}
    if len(sizes) > 1:
        raise unprocessable("each keywords_attributes[] entry must give the same fields (or index them)")
    count = sizes.pop() if sizes else 0
    return [Params(MultiDict({field: values[n] for field, values in columns.items()})) for n in range(count)]
