"""Pages whose cursor is not the id of what they list: favourites, bookmarks, reblogged_by, conversations.

Mastodon pages these by an internal id (the favourite's, the bookmark's, the boost's, the conversation's
last status) and says so only in the `Link` header, which clients follow as opaque URLs. Core answers
`[cursor, item]` pairs; the links carry the first and last cursors of the page as core returned it, so a
row that rendering leaves out (a status hidden from the viewer) cannot make the next page repeat or skip.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.responses import json_response

PAGING = ("max_id", "since_id", "min_id")


def cursor_page(request: web.Request, items: list[Any], cursors: list[int]) -> web.Response:
    """Return `items` with `Link` next (below the last cursor) and prev (above the first) headers."""
    headers = {}
    if cursors:
        older = _link(request, "max_id", cursors[-1], "next")
        newer = _link(request, "min_id", cursors[0], "prev")
        headers["Link"] = f"{older}, {newer}"
    return json_response(items, headers=headers)


def _link(request: web.Request, name: str, cursor: int, rel: str) -> str:
    query = [(k, v) for k, v in request.query.items() if k not in PAGING]
    return f'<{request.url.with_query([*query, (name, str(cursor))])}>; rel="{rel}"'
