"""Media attachment metadata: create (ids issued by core), update while unattached, attach to statuses.

The API stores the bytes elsewhere and appends the metadata to `*media` (partitioned by account, so media
records run on the same task as the account's statuses, where attachments are decided):

    $$media_by_uuid   account -> uuid -> media id              on the account's task: retried creates
    $$account_media   account -> media id -> status id | None  on the account's task: ownership, attachment
    $$media           media id -> {"id", "account", "type", "url", "preview_url", "remote_url",
                                   "description", "focus", "meta", "blurhash", "status", "created_at"}
                                                               on the media id's task (hops), for reads

A media attachment belongs to its uploader; it can be attached to one status of theirs (at create or edit,
at most `Limits.media_per_status`); its description and focus can change only while it is unattached (as
Mastodon's `PUT /api/v1/media/:id`). Deleting a status detaches its media, so delete-and-redraft can reuse
them (Mastodon nullifies `status_id`). Media an edit drops stay attached to the status: its history shows them.
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import STATUS_CLOCK, issue_id
from modules.core.records import Limits, Record, check_id, check_text, check_uuid
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

MEDIA_TYPES = ("image", "video", "gifv", "audio", "unknown")
URL_CHARS = 2_048
BLURHASH_CHARS = 100


def on_media(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply a create or update record; return the media id."""
    op = record.get("op")
    if op == "create":
        return create(ctx, record, limits)
    if op == "update":
        return update(ctx, record, limits)
    raise RecordRejected(f"unknown op {op!r}: expected 'create' or 'update'")


def create(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Store new media metadata, or return the id a retry of the same request got."""
    account = check_id(record.get("account"), "account")
    uuid = check_uuid(record.get("uuid"), limits)
    existing = ctx.pstate("$$media_by_uuid").get(account, uuid)
    if existing is not None:
        return int(existing)
    fields = check_metadata(record, limits)
    if not ctx.pstate("$$accounts").contains(account):  # the account lives on this task
        raise RecordRejected(f"unknown account {account}", "not_found")
    media_id = issue_id(ctx, "media", STATUS_CLOCK)
    ctx.pstate("$$media_by_uuid").put(account, uuid, media_id)
    ctx.pstate("$$account_media").put(account, media_id, None)
    media = {"id": media_id, "account": account, **fields, "status": None, "created_at": ctx.time_ms}
    ctx.hop(media_id, "store_media", media)
    return media_id


def update(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Change the description and / or focus of the account's unattached media."""
    account = check_id(record.get("account"), "account")
    media_id = check_id(record.get("id"), "id")
    owned = ctx.pstate("$$account_media")
    if not owned.contains(account, media_id):
        raise RecordRejected(f"account {account} has no media {media_id}", "not_found")
    if owned.get(account, media_id) is not None:
        raise RecordRejected(f"media {media_id} is attached to a status and cannot change")
    changes: Record = {}
    if "description" in record:
        changes["description"] = _optional_text(record, "description", limits.media_description_chars)
    if "focus" in record:
        changes["focus"] = check_focus(record["focus"])
    ctx.hop(media_id, "change_media", {"id": media_id, "changes": changes})
    return media_id


def check_metadata(record: Record, limits: Limits) -> Record:
    """Return the metadata fields of a media record, validated, with Mastodon's defaults."""
    kind = record.get("type")
    if kind not in MEDIA_TYPES:
        raise RecordRejected(f"type must be one of {list(MEDIA_TYPES)}, got {kind!r}")
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise RecordRejected("meta must be a dict (dimensions, duration...)")
    blurhash = record.get("blurhash")
    return {
        "type": kind,
        "url": _optional_text(record, "url", URL_CHARS),
        "preview_url": _optional_text(record, "preview_url", URL_CHARS),
        "remote_url": _optional_text(record, "remote_url", URL_CHARS),
        "description": _optional_text(record, "description", limits.media_description_chars),
        "focus": check_focus(record.get("focus")),
        "meta": meta,
        "blurhash": None if blurhash is None else check_text(blurhash, "blurhash", BLURHASH_CHARS),
    }


def check_focus(value: object) -> dict[str, float] | None:
    """Return a focal point {"x", "y"}, each within -1.0..1.0, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"x", "y"}:
        raise RecordRejected(f"focus must be {{'x', 'y'}}, got {value!r}")
    point = {}
    for axis in ("x", "y"):
        coordinate = value[axis]
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float) or not -1 <= coordinate <= 1:
            raise RecordRejected(f"focus {axis} must be a number within -1.0..1.0, got {coordinate!r}")
        point[axis] = float(coordinate)
    return point


def check_attachable(ctx: StreamContext, author: int, media_ids: list[int], status_id: int | None) -> None:
    """Reject media that `author` does not own or that is attached to another status than `status_id`."""
    owned = ctx.pstate("$$account_media")
    for media_id in media_ids:
        if not owned.contains(author, media_id):
            raise RecordRejected(f"account {author} has no media {media_id}")  # 422 in Mastodon, not 404
        attached = owned.get(author, media_id)
        if attached is not None and attached != status_id:
            raise RecordRejected(f"media {media_id} is already attached to status {attached}")


def attach(ctx: TopologyContext, author: int, status_id: int | None, media_ids: list[int]) -> None:
    """Mark media as attached to `status_id` (None: detach), here and on each media's task."""
    owned = ctx.pstate("$$account_media")
    for media_id in media_ids:
        if owned.get(author, media_id) != status_id and owned.contains(author, media_id):
            owned.put(author, media_id, status_id)
            ctx.hop(media_id, "change_media", {"id": media_id, "changes": {"status": status_id}})


def store_media(ctx: TopologyContext, media: dict[str, Any]) -> None:
    """Store new metadata on the media id's task (a retry finds it there and writes nothing)."""
    stored = ctx.pstate("$$media")
    if not stored.contains(media["id"]):
        stored.put(media["id"], media)


def change_media(ctx: TopologyContext, payload: dict[str, Any]) -> None:
    """Merge changes into stored metadata (idempotent: the same fields again)."""
    stored = ctx.pstate("$$media")
    media = stored.get(payload["id"])
    if media is not None:
        stored.put(payload["id"], {**media, **payload["changes"]})


def media(ctx: ReadContext, viewer: int | None, media_ids: list[int]) -> list[dict[str, Any]]:
    """Return the metadata of `media_ids` that exist, in order (routed by viewer, reads routed by id)."""
    found = ctx.pstate("$$media", module="core").multi_get(media_ids) if media_ids else []
    return [m for m in found if m is not None]


def _optional_text(record: Record, name: str, most: int) -> str | None:
    value = record.get(name)
    return None if value is None else check_text(value, name, most)
