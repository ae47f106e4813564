"""Status edits with history (Mastodon's `PUT /api/v1/statuses/:id`, `/history`, `/source`).

    {"op": "edit", "author", "id", "uuid", "text", "spoiler_text"?, "sensitive"?, "language"?, "media"?,
     "poll"?}   on `*statuses` (the author's task)

Like Mastodon's `UpdateStatusService`, an edit replaces the editable fields: text, spoiler text,
sensitivity, media (omitted: none) and poll (omitted: none); the language is kept unless given.
Visibility, mentions and the reply target do not change. Tags are read out of the new text.

Idempotency: an edit carries a client `uuid` (the API's `Idempotency-Key`, or one it makes per request);
`$$edit_by_uuid` (author -> uuid -> status id, on the author's task) makes a retried edit a no-op that
returns the status id. Revisions are numbered on the author's task (`$$status_state`), so the step that
applies revision n on the status' task can tell a retry (revision n already stored) from a new edit.

    $$status_state   author -> status id -> {"revision", "media"}   on the author's task, for statuses with
                                                                    media or edits
    $$status_edits   status id -> revision -> {"text", "spoiler_text", "sensitive", "media", "poll"
                     (None | {"options": [title]}), "language", "created_at"}   on the status' task

Revision 0 (the original, stamped with the status' `created_at`) is stored at the first edit, as Mastodon
snapshots the original before the first change; a status never edited has one history entry, itself.
After the edit, `{"op": "update", "id", "author", "revision", "status": Delivery, "text"}` goes to
`*statuses_with_id` (notifications tell boosters; the revision lets them keep the newest edit's
notification over a replayed older one), and once the new revision is stored on the status' task the
`status_updates` output carries `{"status", "revision", "author", "visibility", "tags", "mentions",
"local"}` (the streaming API sends `status.update`; a retried hop finds the revision stored and emits
nothing). The stored status carries `"revision"` (absent: never edited): `apply_edit` applies a revision
only over an older one, so an edit's hop arriving late only fills its place in the history.
"""

from __future__ import annotations

from typing import Any

from modules.core import media, polls
from modules.core.records import Limits, Record, check_content, check_id, check_uuid
from modules.core.text import hashtags
from modules.core.tombstones import is_live
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

# What a history entry keeps of a status, with the value a field absent from it stands for.
SNAPSHOT_FIELDS: tuple[tuple[str, Any], ...] = (
    ("text", ""),
    ("spoiler_text", ""),
    ("sensitive", False),
    ("language", None),
    ("media", []),
)


def edit(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply an edit of the author's live status; return its id (a retried edit changes nothing)."""
    author = check_id(record.get("author"), "author")
    status_id = check_id(record.get("id"), "id")
    uuid = check_uuid(record.get("uuid"), limits)
    content = check_content(record, limits)
    language = record.get("language")
    if language is not None and (not isinstance(language, str) or not 0 < len(language) <= 16):
        raise RecordRejected(f"language must be a language code or None, got {language!r}")
    delivery = ctx.pstate("$$author_statuses").get(author, status_id)
    if delivery is None:  # not theirs, or deleted
        raise RecordRejected(f"account {author} has no status {status_id}", "not_found")
    done = ctx.pstate("$$edit_by_uuid").get(author, uuid)
    if done is not None:
        if done != status_id:
            raise RecordRejected(f"edit uuid {uuid!r} was used for status {done}", "duplicate")
        return status_id
    poll = polls.check_poll(record.get("poll"), limits)
    media.check_attachable(ctx, author, content["media"], status_id)
    state = ctx.pstate("$$status_state").get(author, status_id) or {"revision": 0, "media": []}
    revision = state["revision"] + 1
    tags = hashtags(content["text"])
    updated = {**delivery, "tags": tags, "language": language or delivery["language"]}
    kept_media = state["media"] + [m for m in content["media"] if m not in state["media"]]
    ctx.pstate("$$edit_by_uuid").put(author, uuid, status_id)
    ctx.pstate("$$status_state").put(author, status_id, {"revision": revision, "media": kept_media})
    ctx.pstate("$$author_statuses").put(author, status_id, updated)
    media.attach(ctx, author, status_id, content["media"])
    poll_spec = None if poll is None else polls.poll_payload(status_id, author, poll, ctx.time_ms, revision)
    change = {**content, "language": updated["language"], "tags": tags, "poll": poll_spec}
    ctx.hop(status_id, "apply_edit", {"id": status_id, "revision": revision, "at": ctx.time_ms, "change": change})
    update = {
        "op": "update",
        "id": status_id,
        "author": author,
        "revision": revision,
        "status": updated,
        "text": content["text"],
    }
    ctx.append("*statuses_with_id", update)
    return status_id


def apply_edit(ctx: TopologyContext, payload: dict[str, Any]) -> None:
    """Store revision `payload["revision"]` of a status on its task; an older or repeated one changes nothing.

    The status keeps the revision it shows (`"revision"`, absent: 0), so a hop that arrives late (a retry,
    or a runtime that delivers hops out of order) never puts an older edit over a newer one: it only fills
    its own place in the history.
    """
    status_id, revision, change = payload["id"], payload["revision"], payload["change"]
    edits, statuses = ctx.pstate("$$status_edits"), ctx.pstate("$$statuses")
    status = statuses.get(status_id)
    if not is_live(status) or edits.contains(status_id, revision):
        return
    if not edits.contains(status_id, 0):
        edits.put(status_id, 0, snapshot(ctx, status, status["created_at"]))
    edited = {**status, **{k: v for k, v in change.items() if k != "poll"}}
    edited.update(poll=None if change["poll"] is None else status_id, edited_at=payload["at"], revision=revision)
    if revision <= status.get("revision", 0):
        edits.put(status_id, revision, _late_snapshot(edited, change, payload["at"]))
        return
    if change["poll"] is None:
        polls.drop_poll(ctx, status_id)
    else:
        polls.store_poll(ctx, change["poll"])
    statuses.put(status_id, edited)
    edits.put(status_id, revision, snapshot(ctx, edited, payload["at"]))
    ctx.emit("status_updates", status_update(edited))


def _late_snapshot(edited: dict[str, Any], change: dict[str, Any], at: int) -> dict[str, Any]:
    """Return the history entry of a revision older than the one shown (its poll read from the change)."""
    poll = change["poll"]
    entry = {name: edited.get(name, default) for name, default in SNAPSHOT_FIELDS}
    return {**entry, "poll": None if poll is None else {"options": poll["options"]}, "created_at": at}


def status_update(status: dict[str, Any]) -> dict[str, Any]:
    """Return the `status_updates` event of an edited status: what the streams that got it route by."""
    return {
        "status": status["id"],
        "revision": status.get("revision", 0),
        "author": status["author"],
        "visibility": status["visibility"],
        "tags": status.get("tags", []),
        "mentions": status.get("mentions", []),
        "local": status.get("local", True),  # every status is local until federation brings remote ones
    }


def snapshot(ctx: ReadContext, status: dict[str, Any], at: int) -> dict[str, Any]:
    """Return the history entry of `status` as it reads at time `at`."""
    found = ctx.pstate("$$polls").get(status["id"]) if status.get("poll") else None
    entry = {name: status.get(name, default) for name, default in SNAPSHOT_FIELDS}
    return {**entry, "poll": None if found is None else {"options": found["options"]}, "created_at": at}


def history(ctx: ReadContext, status_id: int) -> list[dict[str, Any]] | None:
    """Return the revisions of a live status, oldest first (one entry if never edited), or None."""
    status = ctx.pstate("$$statuses").get(status_id)
    if not is_live(status):
        return None
    entries = [entry for _, entry in ctx.pstate("$$status_edits").range(status_id)]
    if not entries:  # never edited: the status itself is its only version
        entries = [snapshot(ctx, status, status["created_at"])]
    return [{**entry, "account": status["author"]} for entry in entries]


def source(ctx: ReadContext, status_id: int) -> dict[str, Any] | None:
    """Return {"id", "text", "spoiler_text"}: the plain source for the edit form, or None."""
    status = ctx.pstate("$$statuses").get(status_id)
    if not is_live(status):
        return None
    return {"id": status_id, "text": status["text"], "spoiler_text": status.get("spoiler_text", "")}
