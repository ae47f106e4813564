"""Filters v2: per-account rules that warn about, blur or hide statuses by keyword or by id.

The `filters` stream topology writes everything on the account's task (no hops):

    $$filters          account -> filter_id -> {"id", "title", "context", "filter_action", "expires_at"}
    $$filter_keywords  account -> keyword_id -> {"id", "filter_id", "keyword", "whole_word"}
    $$filter_statuses  account -> filter_status_id -> {"id", "filter_id", "status_id"}
    $$filter_uuids     account -> client uuid -> id   (idempotent creates)
    $$filter_id_clock  per-task id clock (see `ids`)

Keywords and statuses are keyed by their own id (Mastodon addresses them as /filters/keywords/:id) and
grouped by filter when read; an account's rows are bounded, so reading them all is cheap. Matching is the
pure `filtering` module's job. Record shapes and validation: `filter_records`.
"""

from __future__ import annotations

from typing import Any

from modules.relationships import filter_records as check
from modules.relationships.ids import issue_id
from topology.context import ReadContext, RecordRejected, StreamContext

Record = dict[str, Any]

FILTERS = "$$filters"
FILTER_KEYWORDS = "$$filter_keywords"
FILTER_STATUSES = "$$filter_statuses"
FILTER_UUIDS = "$$filter_uuids"
FILTER_ID_CLOCK = "$$filter_id_clock"


def on_filters(ctx: StreamContext, record: Record) -> int | None:
    """Apply a filter record on the account's task; creates return the new (or earlier) id."""
    op, account = check.op_and_account(record)
    if op == "create":
        return create_filter(ctx, account, record)
    result: int | None = _HANDLERS[op](ctx, account, record)
    return result


def create_filter(ctx: StreamContext, account: int, record: Record) -> int:
    """Create a filter with its keywords, or return the one created earlier with this uuid."""
    uuid_key = "filter:" + check.required_uuid(record)
    existing = ctx.pstate(FILTER_UUIDS).get(account, uuid_key)
    if existing is not None:
        return int(existing)
    filters = ctx.pstate(FILTERS)
    if filters.size(account) >= check.MAX_FILTERS:
        raise RecordRejected(f"account {account} already has {check.MAX_FILTERS} filters, the limit")
    settings = check.filter_settings(record, check.NEW_FILTER, ctx.time_ms)
    keywords = check.new_keywords(record.get("keywords", []))
    filter_id = issue_id(ctx, "filter", FILTER_ID_CLOCK)
    filters.put(account, filter_id, {"id": filter_id, **settings})
    for keyword in keywords:
        _put_keyword(ctx, account, filter_id, keyword)
    ctx.pstate(FILTER_UUIDS).put(account, uuid_key, filter_id)
    return filter_id


def update_filter(ctx: StreamContext, account: int, record: Record) -> None:
    """Change the given fields; `keywords` edits keywords the way Mastodon's keywords_attributes do."""
    current = _filter(ctx, account, record)
    updated = {"id": current["id"], **check.filter_settings(record, current, ctx.time_ms)}
    ctx.pstate(FILTERS).put(account, current["id"], updated)
    for edit in check.keyword_edits(record.get("keywords", [])):
        if "id" not in edit:
            _put_keyword(ctx, account, current["id"], edit)
        elif edit.get("_destroy"):
            _remove_keyword(ctx, account, {**edit, "filter_id": current["id"]})
        else:
            _update_keyword(ctx, account, {**edit, "filter_id": current["id"]})


def delete_filter(ctx: StreamContext, account: int, record: Record) -> None:
    """Delete a filter with its keywords and statuses (a missing one: nothing to do)."""
    filter_id = check.id_field(record, "filter_id")
    if not ctx.pstate(FILTERS).remove(account, filter_id):
        return
    for view_name in (FILTER_KEYWORDS, FILTER_STATUSES):
        view = ctx.pstate(view_name)
        for row_id, row in view.range(account):
            if row["filter_id"] == filter_id:
                view.remove(account, row_id)


def add_keyword(ctx: StreamContext, account: int, record: Record) -> int:
    """Add a keyword to a filter; with a uuid, a retry returns the first keyword's id."""
    filter_id = _filter(ctx, account, record)["id"]
    uuid = check.optional_uuid(record)
    uuids = ctx.pstate(FILTER_UUIDS)
    if uuid is not None and (existing := uuids.get(account, "keyword:" + uuid)) is not None:
        return int(existing)
    [keyword] = check.new_keywords([record])
    keyword_id = _put_keyword(ctx, account, filter_id, keyword)
    if uuid is not None:
        uuids.put(account, "keyword:" + uuid, keyword_id)
    return keyword_id


def update_keyword(ctx: StreamContext, account: int, record: Record) -> None:
    """Change a keyword's text or whole_word flag."""
    [edit] = check.keyword_edits([{**record, "id": check.id_field(record, "keyword_id")}])
    _update_keyword(ctx, account, edit)


def remove_keyword(ctx: StreamContext, account: int, record: Record) -> None:
    """Remove a keyword (a missing one: nothing to do)."""
    ctx.pstate(FILTER_KEYWORDS).remove(account, check.id_field(record, "keyword_id"))


def add_status(ctx: StreamContext, account: int, record: Record) -> int:
    """Filter one status; adding a status the filter already holds returns its existing id."""
    filter_id = _filter(ctx, account, record)["id"]
    status_id = check.id_field(record, "status_id")
    view = ctx.pstate(FILTER_STATUSES)
    rows = view.range(account)
    for row_id, row in rows:
        if row["filter_id"] == filter_id and row["status_id"] == status_id:
            return int(row_id)
    if len(rows) >= check.MAX_STATUSES:
        raise RecordRejected(f"account {account} already filters {check.MAX_STATUSES} statuses, the limit")
    row_id = issue_id(ctx, "filter_status", FILTER_ID_CLOCK)
    view.put(account, row_id, {"id": row_id, "filter_id": filter_id, "status_id": status_id})
    return row_id


def remove_status(ctx: StreamContext, account: int, record: Record) -> None:
    """Stop filtering a status (a missing one: nothing to do)."""
    ctx.pstate(FILTER_STATUSES).remove(account, check.id_field(record, "filter_status_id"))


_HANDLERS: dict[str, Any] = {
    "update": update_filter,
    "delete": delete_filter,
    "add_keyword": add_keyword,
    "update_keyword": update_keyword,
    "remove_keyword": remove_keyword,
    "add_status": add_status,
    "remove_status": remove_status,
}

# -- queries -------------------------------------------------------------------------------------------


def filters(ctx: ReadContext, account: int) -> list[Record]:
    """Return every filter of `account`, oldest first, each with its keywords and statuses."""
    keywords = _grouped(ctx.pstate(FILTER_KEYWORDS).range(account), ("id", "keyword", "whole_word"))
    statuses = _grouped(ctx.pstate(FILTER_STATUSES).range(account), ("id", "status_id"))
    return [
        {**value, "keywords": keywords.get(filter_id, []), "statuses": statuses.get(filter_id, [])}
        for filter_id, value in ctx.pstate(FILTERS).range(account)
    ]


def get_filter(ctx: ReadContext, account: int, filter_id: int) -> Record | None:
    """Return one filter of `account` with its keywords and statuses, or None."""
    return next((found for found in filters(ctx, account) if found["id"] == filter_id), None)


def filter_keyword(ctx: ReadContext, account: int, keyword_id: int) -> Record | None:
    """Return one keyword (with its filter_id), or None."""
    row: Record | None = ctx.pstate(FILTER_KEYWORDS).get(account, keyword_id)
    return row


def filter_status(ctx: ReadContext, account: int, filter_status_id: int) -> Record | None:
    """Return one filtered status entry (with its filter_id), or None."""
    row: Record | None = ctx.pstate(FILTER_STATUSES).get(account, filter_status_id)
    return row


# -- helpers -------------------------------------------------------------------------------------------


def _filter(ctx: StreamContext, account: int, record: Record) -> Record:
    filter_id = check.id_field(record, "filter_id")
    current: Record | None = ctx.pstate(FILTERS).get(account, filter_id)
    if current is None:
        raise RecordRejected(f"account {account} has no filter {filter_id}")
    return current


def _put_keyword(ctx: StreamContext, account: int, filter_id: int, keyword: Record) -> int:
    view = ctx.pstate(FILTER_KEYWORDS)
    if view.size(account) >= check.MAX_KEYWORDS:
        raise RecordRejected(f"account {account} already has {check.MAX_KEYWORDS} filter keywords, the limit")
    keyword_id = issue_id(ctx, "filter_keyword", FILTER_ID_CLOCK)
    view.put(account, keyword_id, {"id": keyword_id, "filter_id": filter_id, **keyword})
    return keyword_id


def _update_keyword(ctx: StreamContext, account: int, edit: Record) -> None:
    view = ctx.pstate(FILTER_KEYWORDS)
    current = view.get(account, edit["id"])
    if current is None or current["filter_id"] != edit.get("filter_id", current["filter_id"]):
        raise RecordRejected(f"account {account} has no filter keyword {edit['id']}")
    changes = {name: edit[name] for name in ("keyword", "whole_word") if name in edit}
    view.put(account, edit["id"], {**current, **changes})


def _remove_keyword(ctx: StreamContext, account: int, edit: Record) -> None:
    view = ctx.pstate(FILTER_KEYWORDS)
    current = view.get(account, edit["id"])
    if current is not None and current["filter_id"] == edit["filter_id"]:
        view.remove(account, edit["id"])


def _grouped(rows: list[tuple[Any, Record]], fields: tuple[str, ...]) -> dict[int, list[Record]]:
    groups: dict[int, list[Record]] = {}
    for _, row in rows:
        groups.setdefault(row["filter_id"], []).append({name: row[name] for name in fields})
    return groups
