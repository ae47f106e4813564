"""The `fanout` microbatch topology: statuses with ids -> in-memory home and list timelines, throttled per task.

    sources  *statuses_with_id   (on the author's task)  start each new status's fanout
             *fanout_tick        (every task)            continue throttled fanouts
    steps    fan_out_buckets     on the task owning follower bucket keys `(followee, salt)`: a batch's first
                                 pages of every bucket on that task, in one hop
             fan_out_tag         on the task owning a followed tag
             deliver_batch       on the task owning recipients: a step's home deliveries (`home_outbox`)
             deliver_lists       on the task owning a batch of list ids (list timelines)
    PStates  $$fanout_continuations  ("fanout", salt) -> (status id, followee, salt) -> {"status", "after",
                                     "batch"}: follower buckets, one key per task (`ids.task_key`)
             $$fanout_cursors        ("fanout", salt) -> (status id, "lists" | "tag", tag or "") -> {"status",
                                     "after", "batch"}: the author's list memberships, a tag's followers

A status goes to its author, then (direct statuses: to mentioned followers only, `delivery.reaches`):

- **lists**: the lists the author is a member of (relationships' `$$list_memberships`, read on the author's
  task, where this runs: one local read, all an author in no list costs), filtered by each list's rules
  (`delivery.reaches_list`, `list_delivery`), grouped by the task owning each list id (`deliver_lists`).
- **followed tags**: a public status that is not a boost goes to the followers of each of its tags
  (`tag_delivery`), paged on the tag's task.
- **followers**: each follower bucket of the author (relationships' `$$follower_buckets`, read for every
  author of the batch in one routed multi-get); the first pages
  a batch owes are grouped by the task owning each bucket key, one `fan_out_buckets` hop per task. There,
  each page reads up to `limit` followers from `$$partitioned_followers` (a routed mirror read: with equal
  task counts the bucket lives on this very task) as an id array with the options as codes into their
  distinct encodings, from the bucket's page cache when it holds it (`follower_pages`), filters them
  (`recipients`: vectorized for ordinary statuses) and drops owners of an exclusive list with the author
  (`list_delivery.exclusive_owners`, only for a flagged author).

Home deliveries (the author, mentioned followers, a step's follower pages, a tag's followers) are gathered
per step in a `home_outbox.Outbox` and sent as one `deliver_batch` hop per owning task, the recipients of
every status of the step grouped with numpy: no Python work per recipient, and hops per task, not per status.

Throttle: every paged source (a bucket, the author's memberships, a tag's followers) delivers at most
`limit` per status per task per microbatch. If it has more, its cursor is kept in `$$fanout_continuations`
or `$$fanout_cursors`, committed with the batch, and every following microbatch (kept running by the tick
depot) delivers the next `limit` of each pending status on that task. So a celebrity's status, or one with
a tag followed by many, costs at most `limit` deliveries per task per microbatch and ordinary statuses in the
same microbatch go through whole. A cursor created or advanced in this batch (`"batch"`) is not advanced
again by the tick in the same batch.

Blocks and mutes (Mastodon's FeedManager filters them at delivery) are applied when a home or list
timeline is read (`queries.visible_page`), not here, for follower deliveries. Why: a block ends the follow
(relationships drops it both ways), so the only case left is a follower who mutes the author, and mutes
are kept on the muter's task with no index on the author's, so filtering here would cost a routed read per
follower on the hottest path, for a case that is rare. At read time it costs three reads per page when the
reader blocks and mutes nobody (the common case), a mute that expires or is lifted takes effect at once,
and a mute made after the delivery hides what was already delivered (Mastodon scrubs feeds when muting for
that). Followed-tag deliveries are filtered here too (`tag_delivery`): their recipients are strangers to the
author, so blocks and mutes are likelier there, and that path is not the hot one.

Deliveries are in-memory side effects: they run in `ctx.after_commit`, once per committed batch, never for
an aborted attempt, all of a batch's deliveries to one task's timelines in one vectorized call; a status
delivered twice (a retried record upstream, a rebuild, a follower who also follows one of its tags) is
deduplicated by id. Deletes need no fanout: timeline reads drop tombstoned statuses.

Outputs (the streaming API's source, published after the batch commits): `home_updates` once per status,
step and task (`{"status", "accounts"}`, never per follower; an account reached both as a
follower and through a tag may get two), `list_updates` once per task (`{"status", "lists": [[owner,
list_id], ...]}`), `public_updates` per public status, `status_deletes` per delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from modules.core import boosts, follower_pages, home_outbox
from modules.core.delivery import Delivery, reaches
from modules.core.home_outbox import Outbox
from modules.core.ids import task_key
from modules.core.list_delivery import EXCLUSIVE_FLAG, exclusive_owners, flagged, list_targets, memberships
from modules.core.tag_delivery import TAG_FOLLOWERS, tag_followers, tag_recipients, tags_to_follow
from pstates.page_cache import IntPage
from topology.context import Batch, BatchContext, TopologyContext

CONTINUATIONS = "$$fanout_continuations"
CURSORS = "$$fanout_cursors"
LISTS = "lists"  # the kinds of paged sources in `$$fanout_cursors`
TAG = "tag"


class Fanout:
    """The fanout handlers, with the per-status per-task per-microbatch `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._pending_ctx: object = None  # the attempt whose deliveries `_pending` gathers
        self._pending: dict[tuple[int, str], list[tuple[np.ndarray, np.ndarray]]] = {}  # (task, global) -> pairs
        self._tags_ctx: object = None  # the attempt `_tags` memoizes for
        self._tags: dict[str, bool] = {}  # tag -> whether anyone follows it

    # -- sources ---------------------------------------------------------------------------------------

    def on_statuses(self, ctx: BatchContext, batch: Batch) -> None:
        """Start the fanout of every created status in the batch; announce public ones and deletes.

        The batch's home deliveries from here (authors, mentioned followers) go out in one hop per owning
        task, and its follower buckets in one `fan_out_buckets` hop per bucket task (`home_outbox`).
        """
        outbox, buckets = Outbox(), BucketPages()
        buckets_of = follower_buckets(ctx, batch.values)
        for record in batch.values:
            if record.get("op") == "create":
                self.start(ctx, record["status"], outbox, buckets, buckets_of)
                if record["status"]["visibility"] == "public":
                    ctx.emit("public_updates", public_update(record["status"]))
            elif record.get("op") == "delete":
                deleted = {"status": record["id"], "author": record["author"], "visibility": record.get("visibility")}
                ctx.emit("status_deletes", deleted)
        outbox.flush(ctx)
        buckets.flush(ctx)

    def on_tick(self, ctx: BatchContext, batch: Batch) -> None:
        """Advance every continuation (follower bucket, list memberships, tag) this task holds by one page."""
        key = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
        outbox = Outbox()
        for (_status_id, followee, salt), state in ctx.pstate(CONTINUATIONS).range(key):
            if state["batch"] != ctx.batch_id:
                self.fan_out_page(ctx, state["status"], (followee, salt), state["after"], outbox)
        outbox.flush(ctx)
        for (_status_id, kind, tag), state in ctx.pstate(CURSORS).range(key):
            if state["batch"] == ctx.batch_id:
                continue
            status, after = state["status"], state["after"]
            if kind == LISTS:
                self.fan_out_lists(ctx, status, after, memberships(ctx, status["author"], after, self.limit + 1))
            else:
                self.fan_out_tag_page(ctx, status, tag, after)

    # -- steps -----------------------------------------------------------------------------------------

    def start(
        self,
        ctx: BatchContext,
        status: Delivery,
        outbox: Outbox,
        buckets: BucketPages,
        buckets_of: dict[int, list[list[int]]],
    ) -> None:
        """Deliver to the author; then lists, followed tags and follower buckets, or mentioned followers (direct).

        The author's list memberships are one local read (fanout runs on the author's task); for an author
        in no list, that read is all lists and exclusivity cost. `buckets_of`: the batch's authors' follower
        buckets (`follower_buckets`).
        """
        author = status["author"]
        outbox.add(status["id"], [author])
        rows = memberships(ctx, author, None, self.limit + 1)
        if rows:
            status = flagged(status, rows, complete=len(rows) <= self.limit)
        if status["visibility"] == "direct":
            following = ctx.pstate("$$following", module="relationships")
            recipients = [m for m in status["mentions"] if self.reaches(ctx, status, m, following.get(m, author))]
            self.deliver_home(ctx, status, recipients, outbox)
            return
        if rows:
            self.fan_out_lists(ctx, status, None, rows)
        for tag in tags_to_follow(status):
            if self.followed(ctx, tag):
                ctx.hop(tag, "fan_out_tag", {"status": status, "tag": tag})
        for _task, salt, _count in buckets_of.get(author) or ():
            buckets.add(ctx, status, [author, salt])

    def fan_out_buckets(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Deliver the first page of follower buckets `[status, key]` (on the task owning the bucket keys)."""
        outbox = Outbox()
        for status, key in payload["pages"]:
            self.fan_out_page(ctx, status, tuple(key), None, outbox)
        outbox.flush(ctx)

    def fan_out_page(
        self, ctx: BatchContext, status: Delivery, key: tuple[int, int], after: int | None, outbox: Outbox
    ) -> None:
        """Deliver up to `limit` followers of bucket `key` after `after`; keep or drop the continuation."""
        followers = ctx.pstate("$$partitioned_followers", module="relationships")
        read = followers.int_page(key, None if after is None else after + 1, limit=self.limit + 1)
        page = read.page(None, self.limit)
        self.deliver_home(ctx, status, self.recipients(ctx, status, page), outbox)
        ids = read.ids
        if ids.size <= self.limit and after is None:
            return  # the whole bucket in one page: no continuation, no write (the common case)
        continuations = ctx.pstate(CONTINUATIONS)
        here = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
        sub = (status["id"], key[0], key[1])
        if ids.size > self.limit:
            continuations.put(here, sub, {"status": status, "after": int(page.ids[-1]), "batch": ctx.batch_id})
        else:
            continuations.remove(here, sub)

    def fan_out_lists(self, ctx: BatchContext, status: Delivery, after: Any, rows: list[Any]) -> None:
        """Deliver to the lists of up to `limit` of `rows` (the author's memberships after `after`), on its task."""
        page = rows[: self.limit]
        targets = list_targets(ctx, status, page)
        by_task: dict[int, list[list[int]]] = {}
        for owner, list_id in targets:  # a list's timeline lives on the task owning its id
            by_task.setdefault(ctx.task_of(list_id), []).append([owner, list_id])
        for task, lists in by_task.items():
            ctx.hop_to_task(task, "deliver_lists", {"status": status, "lists": lists})
        more = list(page[-1][0]) if len(rows) > self.limit else None
        self.keep_cursor(ctx, status, (LISTS, ""), after, more)

    def fan_out_tag(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Deliver the first page of a tag's followers (on the task owning the tag)."""
        self.fan_out_tag_page(ctx, payload["status"], payload["tag"], None)

    def fan_out_tag_page(self, ctx: BatchContext, status: Delivery, tag: str, after: int | None) -> None:
        """Deliver to up to `limit` followers of `tag` after `after`; keep or drop the cursor."""
        followers = tag_followers(ctx, tag, after, self.limit + 1)
        page = followers[: self.limit]
        outbox = Outbox()
        outbox.add(status["id"], tag_recipients(ctx, status, page))
        outbox.flush(ctx)
        self.keep_cursor(ctx, status, (TAG, tag), after, page[-1] if len(followers) > self.limit else None)

    def followed(self, ctx: BatchContext, tag: str) -> bool:
        """Whether anyone follows `tag`: one read per tag per attempt (a batch's statuses share tags)."""
        if self._tags_ctx is not ctx:
            self._tags_ctx, self._tags = ctx, {}
        found = self._tags.get(tag)
        if found is None:
            found = self._tags[tag] = bool(ctx.pstate(TAG_FOLLOWERS, module="relationships").size(tag))
        return found

    def keep_cursor(self, ctx: BatchContext, status: Delivery, source: tuple[str, str], after: Any, more: Any) -> None:
        """Keep where the next page of a paged `source` starts (`more`), or drop it once it has none."""
        if more is None and after is None:
            return  # the whole source in one page: no cursor, no write (the common case)
        cursors = ctx.pstate(CURSORS)
        here = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
        sub = (status["id"], *source)
        if more is not None:
            cursors.put(here, sub, {"status": status, "after": more, "batch": ctx.batch_id})
        else:
            cursors.remove(here, sub)

    def deliver_batch(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Add statuses to the recipients' home timelines once the batch commits (on their task; `home_outbox`)."""
        sids, accounts = home_outbox.unpack(payload)
        self.gathered(ctx, "home_timelines").append((sids, accounts))
        recipients = accounts.tolist()  # one conversion for the hop, not one per status
        start = 0
        for status_id, size in zip(payload["statuses"], payload["sizes"], strict=True):
            ctx.emit("home_updates", {"status": status_id, "accounts": recipients[start : start + size]})
            start += size

    def deliver_lists(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Add the status to list timelines (`[owner, list_id]` pairs) once the batch commits (on their task)."""
        lists = payload["lists"]
        list_ids = np.array([list_id for _, list_id in lists], dtype=np.int64)
        self.gathered(ctx, "list_timelines").append((np.full(list_ids.size, payload["status"]["id"]), list_ids))
        ctx.emit("list_updates", {"status": payload["status"]["id"], "lists": lists})

    def gathered(self, ctx: BatchContext, timelines: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return the list gathering this attempt's `(status ids, accounts)` for task global `timelines` here.

        It is handed to the timelines by a single after-commit callback (`deliver_pairs`, vectorized over the
        whole batch). A new attempt has a new context, so an aborted attempt's list is dropped with its
        callback.
        """
        if self._pending_ctx is not ctx:
            self._pending_ctx, self._pending = ctx, {}
        pending = self._pending.get((ctx.task, timelines))
        if pending is None:
            pending = self._pending[(ctx.task, timelines)] = []
            ctx.after_commit(partial(deliver_pending, ctx.task_global(timelines), pending))
        return pending

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def recipients(ctx: TopologyContext, status: Delivery, page: IntPage) -> np.ndarray:
        """The followers on `page` (follow options still encoded, as codes) that `status` reaches.

        The same rule as `delivery.reaches`, vectorized for what is not a boost, not direct and not a reply
        to someone else (nearly every status): only the author and a follow's `languages` can leave one out.
        """
        if follower_pages.is_ordinary(status):
            return follower_pages.ordinary_recipients(status, page)
        rows = follower_pages.rows(page)
        if status.get("reblog_of") is not None:
            return np.array(boosts.recipients(status, rows), dtype=np.int64)
        following = ctx.pstate("$$following", module="relationships")

        def follows(a: int, b: int) -> bool:
            return bool(following.contains(a, b))

        reached = [f for f, options in rows if f != status["author"] and reaches(status, f, options, follows)]
        return np.array(reached, dtype=np.int64)

    @staticmethod
    def deliver_home(
        ctx: TopologyContext, status: Delivery, recipients: np.ndarray | list[int], outbox: Outbox
    ) -> None:
        """Deliver to the home timelines of `recipients` but the owners of exclusive lists with the author."""
        accounts = np.asarray(recipients, dtype=np.int64)
        if accounts.size and status.get(EXCLUSIVE_FLAG):
            excluded = exclusive_owners(ctx, status, accounts.tolist())
            if excluded:
                accounts = accounts[~np.isin(accounts, np.fromiter(excluded, dtype=np.int64, count=len(excluded)))]
        outbox.add(status["id"], accounts)

    @staticmethod
    def reaches(ctx: TopologyContext, status: Delivery, account: int, options: dict[str, Any] | None) -> bool:
        """Whether `status` reaches follower `account` (reads relationships only for replies)."""
        following = ctx.pstate("$$following", module="relationships")
        return reaches(status, account, options, lambda a, b: bool(following.contains(a, b)))


class BucketPages:
    """The first pages of follower buckets a batch of statuses owes, sent as one hop per bucket task."""

    def __init__(self) -> None:
        self._by_task: dict[int, list[list[Any]]] = {}

    def add(self, ctx: TopologyContext, status: Delivery, key: list[int]) -> None:
        """Owe the first page of bucket `key` to `status`."""
        task = ctx.task_of(tuple(key))
        pages = self._by_task.get(task)
        if pages is None:
            pages = self._by_task[task] = []
        pages.append([status, key])

    def flush(self, ctx: TopologyContext) -> None:
        """Hop the pages owed to each bucket task there (`Fanout.fan_out_buckets`); then empty."""
        for task, pages in sorted(self._by_task.items()):
            ctx.hop_to_task(task, "fan_out_buckets", {"pages": pages})
        self._by_task = {}


def follower_buckets(ctx: TopologyContext, records: Sequence[Any]) -> dict[int, list[list[int]]]:
    """Return relationships' `[task, salt, count]` follower buckets of the authors of `records`' creates.

    One routed multi-get for the whole batch (the relationships query `follower_buckets` reads the same
    PState one author at a time).
    """
    authors = list({r["status"]["author"] for r in records if r.get("op") == "create"})  # direct ones too: rare
    if not authors:
        return {}
    found = ctx.pstate("$$follower_buckets", module="relationships").multi_get(authors)
    return dict(zip(authors, found, strict=True))


def deliver_pending(timelines: Any, pending: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Hand a committed batch's `(status ids, accounts)` arrays to `timelines` in one vectorized call."""
    if pending:
        timelines.deliver_pairs(np.concatenate([s for s, _ in pending]), np.concatenate([a for _, a in pending]))


def public_update(status: Delivery) -> dict[str, Any]:
    """Return the `public_updates` event of a public status: what public and hashtag streams route by."""
    return {
        "status": status["id"],
        "author": status["author"],
        "visibility": status["visibility"],
        "tags": status.get("tags", []),
        "local": status.get("local", True),  # every status is local until federation brings remote ones
    }
