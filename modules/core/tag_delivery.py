"""Followed hashtags: who gets a public status in their home timeline because they follow one of its tags.

Mastodon 4.x (FanOutOnWriteService#deliver_to_hashtag_followers, FeedManager#filter_from_tags): public
statuses only, not boosts; every follower of each tag except the author, those who block or mute the author
and those the author blocks. Languages, reply rules and exclusive lists do not apply to this path.

Read on the tag's task (where fanout pages them): relationships' `$$tag_followers` (tag -> sorted set of
accounts). The author's blocks both ways are two sets on the author's task (`$$blocking`, `$$blocked_by`),
read once per page and only when not empty; mutes live on the muter's task, so they cost one routed read
per tag follower (`$$muting`), judged at the status' creation time (the time in its id), so a replay
decides the same way. A follower reached both ways gets the id once: timelines deduplicate.
"""

from __future__ import annotations

from typing import Any

from modules.core.delivery import Delivery
from modules.core.ids import time_of
from modules.relationships.records import mute_active
from topology.context import ReadContext

TAG_FOLLOWERS = "$$tag_followers"


def tags_to_follow(status: Delivery) -> list[str]:
    """Return the tags whose followers `status` goes to (none unless public and not a boost)."""
    tags: list[str] = status.get("tags") or []
    if not tags or status["visibility"] != "public" or status.get("reblog_of") is not None:
        return []
    return sorted(set(tags))


def tag_followers(ctx: ReadContext, tag: str, after: int | None, limit: int) -> list[int]:
    """Return up to `limit` followers of `tag` above `after`, in id order."""
    view = ctx.pstate(TAG_FOLLOWERS, module="relationships")
    if after is None and not view.size(tag):
        return []  # nobody follows the tag (most tags): a point read instead of a range read
    start = None if after is None else after + 1
    followers: list[int] = view.range(tag, start, limit=limit)
    return followers


def tag_recipients(ctx: ReadContext, status: Delivery, followers: list[int]) -> list[int]:
    """Return those of a tag's `followers` whose home timeline `status` goes to."""
    if not followers:
        return []
    author = status["author"]
    candidates = [f for f in followers if f != author]
    for name in ("$$blocking", "$$blocked_by"):  # the author blocks them, or they block the author
        view: Any = ctx.pstate(name, module="relationships")
        if candidates and view.size(author):
            candidates = [f for f in candidates if not view.contains(author, f)]
    muting = ctx.pstate("$$muting", module="relationships")
    created = time_of(status["id"])
    return [f for f in candidates if not mute_active(muting.get(f, author), created)]
