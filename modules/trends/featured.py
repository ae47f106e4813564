"""The `featured_tags` stream topology: the hashtags an account features on its profile.

    *featured_tags   {"op": "feature", "account": id, "tag": name}  |  {"op": "unfeature", "account", "tag"}
                     partitioned by account
    $$featured_tags  account -> tag (normalized) -> {"name" (as given), "created_at"}

At most `limit` tags per account (Mastodon: 10). Featuring needs an existing account (core's `$$accounts`,
a mirror read); featuring a tag twice keeps the first, unfeaturing one that is not featured is refused.
"""

from __future__ import annotations

from typing import Any

from modules.core.records import check_id
from modules.core.text import normalize_tag
from modules.trends.text import is_tag_name
from topology.context import RecordRejected, StreamContext

DEFAULT_LIMIT = 10


def featured_key(record: object) -> object:
    """Return the key a `*featured_tags` record is partitioned by: its account."""
    return record.get("account") if isinstance(record, dict) else None


class FeaturedTags:
    """The stream handler, with the per-account `limit`."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit

    def on_record(self, ctx: StreamContext, record: dict[str, Any]) -> dict[str, Any]:
        """Feature or unfeature a tag; return {"account", "tag", "featured"}."""
        account = check_id(record.get("account"), "account")
        name = record.get("tag")
        if not isinstance(name, str) or not is_tag_name(name.removeprefix("#")):
            raise RecordRejected(f"tag must be a hashtag name, got {name!r}")
        tag = normalize_tag(name)
        featured = ctx.pstate("$$featured_tags")
        op = record.get("op")
        if op == "feature":
            if not featured.contains(account, tag):
                self.check_can_feature(ctx, account)
                featured.put(account, tag, {"name": name.removeprefix("#"), "created_at": ctx.time_ms})
            return {"account": account, "tag": tag, "featured": True}
        if op == "unfeature":
            if not featured.remove(account, tag):
                raise RecordRejected(f"account {account} does not feature #{tag}")
            return {"account": account, "tag": tag, "featured": False}
        raise RecordRejected(f"unknown op {op!r}: expected 'feature' or 'unfeature'")

    def check_can_feature(self, ctx: StreamContext, account: int) -> None:
        """Refuse an unknown account or one already featuring `limit` tags."""
        if not ctx.pstate("$$accounts", module="core").contains(account):
            raise RecordRejected(f"unknown account {account}")
        if ctx.pstate("$$featured_tags").size(account) >= self.limit:
            raise RecordRejected(f"an account features at most {self.limit} tags")
