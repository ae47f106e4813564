"""Who sees a status in their home timeline: one rule for fanout and for the rebuild after a restart.

Mastodon's rules (FanOutOnWriteService, FeedManager#filter_from_home): the author always; followers for
public, unlisted and private statuses; for direct ones only mentioned accounts that follow the author; a
follow limited to languages skips statuses in other languages; a reply to someone else reaches a follower
only if they follow the replied-to account too, or are that account; a boost (`reblog_of`) skips the
original's author and followers who follow the booster with `reblogs: false`.

List timelines (FanOutOnWriteService#deliver_to_lists, FeedManager#filter_from_list), `reaches_list`: no
direct statuses; the owner must still follow the author, and the home rules above apply to the owner; a
reply to someone else than the author and the owner goes by the list's `replies_policy`: `followed` (the
owner follows the replied-to account, which the home rule already demands), `list` (it is a member of the
list) or `none` (never). Blocks and mutes are applied when a timeline is read (`queries.visible_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Delivery = dict[str, Any]


def delivery_of(status: dict[str, Any], reply_to: int | None) -> Delivery:
    """Return the fields of `status` that decide who sees it."""
    return {
        "id": status["id"],
        "author": status["author"],
        "visibility": status["visibility"],
        "reply_to": reply_to,
        "mentions": status["mentions"],
        "language": status["language"],
        "tags": status["tags"],
        "reblog_of": status.get("reblog_of"),
        "reblog_author": status.get("reblog_author"),
    }


def reaches(
    status: Delivery, account: int, follow_options: dict[str, Any] | None, follows: Callable[[int, int], bool]
) -> bool:
    """Whether `status` belongs in `account`'s home timeline; `follow_options` is None if not a follower."""
    if account == status["author"]:
        return True
    if follow_options is None:
        return False
    if status["visibility"] == "direct" and account not in status["mentions"]:
        return False
    if status.get("reblog_of") is not None:
        return account != status.get("reblog_author") and bool(follow_options.get("reblogs", True))
    languages = follow_options.get("languages")
    if languages and status["language"] and status["language"] not in languages:
        return False
    reply_to = status["reply_to"]
    if reply_to is not None and reply_to != status["author"] and account != reply_to:
        return follows(account, reply_to)
    return True


def reaches_list(
    status: Delivery,
    owner: int,
    follow_options: dict[str, Any] | None,
    replies_policy: str,
    follows: Callable[[int, int], bool],
    in_list: Callable[[int], bool],
) -> bool:
    """Whether `status` belongs in a list of `owner`; `follow_options` is None if the owner does not follow."""
    if follow_options is None or status["visibility"] == "direct":
        return False
    reply_to = status["reply_to"]
    to_someone_else = reply_to is not None and reply_to != status["author"] and reply_to != owner
    if to_someone_else and (replies_policy == "none" or (replies_policy == "list" and not in_list(reply_to))):
        return False
    return reaches(status, owner, follow_options, follows)
