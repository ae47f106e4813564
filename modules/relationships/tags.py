"""Followed hashtags: a user's home timeline also receives public statuses carrying the tags they follow.

The `tags` stream topology keeps both directions, each on its owner's task:

    account's task   $$followed_tags   account -> tag -> followed-at time (ms)
    tag's task       $$tag_followers   tag -> sorted set of accounts   (the fanout reads this)

Tags are stored normalized (`normalize_tag`): no leading '#', Unicode NFKC, casefolded (as core's
`text.normalize_tag`). A name is Mastodon's hashtag shape: word characters (letters, combining marks,
digits, '_') and inner '·', with at least one that is not a digit. Queries route on their raw argument,
so callers pass normalized names.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

FOLLOWED_TAGS = "$$followed_tags"
TAG_FOLLOWERS = "$$tag_followers"
TAG_OPS = frozenset({"follow", "unfollow"})
MAX_TAG_CHARS = 100
MAX_FOLLOWED_TAGS = 1_000  # bounds what a home fanout must consider per account
DEFAULT_PAGE = 100  # Mastodon's GET /api/v1/followed_tags default
MAX_PAGE = 200
MAX_FOLLOWERS_PAGE = 10_000
MIDDLE_DOT = "\u00b7"


def normalize_tag(name: object) -> str:
    """Return the stored form of hashtag `name`, or raise RecordRejected saying why it is not one."""
    if not isinstance(name, str):
        raise RecordRejected(f"a tag must be a string, got {type(name).__name__}")
    tag = unicodedata.normalize("NFKC", name.removeprefix("#")).casefold()  # as core's text.normalize_tag
    if not tag or len(tag) > MAX_TAG_CHARS:
        raise RecordRejected(f"a tag has 1 to {MAX_TAG_CHARS} characters, got {len(tag)}")
    if not all(_is_word(char) or (char == MIDDLE_DOT and 0 < i < len(tag) - 1) for i, char in enumerate(tag)):
        raise RecordRejected(f"tag {name!r} may hold only letters, digits, '_' and an inner '·'")
    if all(unicodedata.category(char) == "Nd" for char in tag):
        raise RecordRejected(f"tag {name!r} needs a character that is not a digit")
    return tag


def on_followed_tags(ctx: StreamContext, record: dict[str, Any]) -> None:
    """Follow or unfollow a hashtag (on the account's task), then mirror it on the tag's task."""
    op, account = record.get("op"), record.get("account")
    if op not in TAG_OPS:
        raise RecordRejected(f"unknown op {op!r}: expected one of {sorted(TAG_OPS)}")
    if type(account) is not int:
        raise RecordRejected(f"account must be an id (int), got {account!r}")
    tag = normalize_tag(record.get("tag"))
    view = ctx.pstate(FOLLOWED_TAGS)
    if op == "unfollow":
        view.remove(account, tag)
        ctx.hop(tag, "tag_follower_remove", [tag, account])
        return
    if not view.contains(account, tag):
        if view.size(account) >= MAX_FOLLOWED_TAGS:
            raise RecordRejected(f"account {account} already follows {MAX_FOLLOWED_TAGS} tags, the limit")
        view.put(account, tag, ctx.time_ms)
    ctx.hop(tag, "tag_follower_add", [tag, account])


def tag_follower_add(ctx: TopologyContext, payload: list[Any]) -> None:
    """Record a follower of `tag` (on the tag's task)."""
    tag, account = payload
    ctx.pstate(TAG_FOLLOWERS).add(tag, account)


def tag_follower_remove(ctx: TopologyContext, payload: list[Any]) -> None:
    """Forget a follower of `tag` (on the tag's task)."""
    tag, account = payload
    ctx.pstate(TAG_FOLLOWERS).remove(tag, account)


STEPS = (tag_follower_add, tag_follower_remove)

# -- queries -------------------------------------------------------------------------------------------


def followed_tags(ctx: ReadContext, account: int, after: str | None = None, limit: int = DEFAULT_PAGE) -> list[str]:
    """Return a page of the tags `account` follows, in name order, after `after` (exclusive)."""
    start = None if after is None else after + "\x00"  # the smallest string above `after`
    rows = ctx.pstate(FOLLOWED_TAGS).range(account, start, limit=_clamp(limit, MAX_PAGE))
    return [tag for tag, _ in rows]


def follows_tag(ctx: ReadContext, account: int, tag: str) -> bool:
    """Whether `account` follows `tag` (Mastodon's Tag.following)."""
    return bool(ctx.pstate(FOLLOWED_TAGS).contains(account, tag))


def tag_followers(ctx: ReadContext, tag: str, after: int | None = None, limit: int = 1_000) -> list[int]:
    """Return a page of the accounts following `tag`, in id order, after `after`: a fanout reads these."""
    start = None if after is None else after + 1
    return list(ctx.pstate(TAG_FOLLOWERS).range(tag, start, limit=_clamp(limit, MAX_FOLLOWERS_PAGE)))


def _is_word(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category in ("Nd", "Pc")


def _clamp(limit: int, most: int) -> int:
    return max(1, min(int(limit), most))
