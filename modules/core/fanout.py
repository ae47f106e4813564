"""The `fanout` microbatch topology: statuses with ids -> in-memory home timelines, throttled per task.

    sources  *statuses_with_id   (on the author's task)  start each new status's fanout
             *fanout_tick        (every task)            continue throttled fanouts
    steps    fan_out_bucket      on the task owning a follower bucket key `(followee, salt)`
             deliver             on the task owning a batch of recipients
    PState   $$fanout_continuations  ("fanout", salt) -> (status id, followee, salt) -> {"status", "after",
                                     "batch"}: one key per task (`ids.task_key`), oldest status first

A status goes to its author, then to each follower bucket of the author (relationships'
`follower_buckets`): the step runs on the task owning the bucket key, reads up to `limit` followers from
relationships' `$$partitioned_followers` (a routed mirror read: with equal task counts the bucket lives on
this very task; with different counts the read is routed, still correct, just not local), filters them
(`delivery.reaches`), groups them by the task owning each follower and hops there once per task. If the
bucket has more followers, the cursor is kept in `$$fanout_continuations`, committed with the batch, and
every following microbatch (kept running by the tick depot) delivers the next `limit` of each pending
status on that task. So a celebrity's status costs at most `limit` deliveries per task per microbatch and
ordinary statuses in the same microbatch go through whole. A continuation created or advanced in this
batch (`"batch"`) is not advanced again by the tick in the same batch.

Deliveries are in-memory side effects: they run in `ctx.after_commit`, once per committed batch, never for
an aborted attempt, all of a batch's deliveries to one task in one vectorized call; a status delivered
twice (a retried record upstream, a rebuild) is deduplicated by id.
Deletes need no fanout: home timeline reads drop tombstoned statuses.

Outputs (the streaming API's source, published after the batch commits): `home_updates` once per
delivered page and task (`{"status", "accounts"}`, never per follower), `public_updates` per public status,
`status_deletes` per delete.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.core.delivery import Delivery, reaches
from modules.core.ids import task_key
from topology.context import Batch, BatchContext, TopologyContext

CONTINUATIONS = "$$fanout_continuations"


class Fanout:
    """The fanout handlers, with the per-status per-task per-microbatch `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._owners: dict[int, dict[int, int]] = {}  # task count -> account -> owning task
        self._pending_ctx: object = None  # the attempt whose deliveries `_pending` gathers
        self._pending: dict[int, list[tuple[int, list[int]]]] = {}  # task -> (status id, accounts)

    # -- sources ---------------------------------------------------------------------------------------

    def on_statuses(self, ctx: BatchContext, batch: Batch) -> None:
        """Start the fanout of every created status in the batch; announce public ones and deletes."""
        for record in batch.values:
            if record.get("op") == "create":
                self.start(ctx, record["status"])
                if record["status"]["visibility"] == "public":
                    ctx.emit("public_updates", public_update(record["status"]))
            elif record.get("op") == "delete":
                deleted = {"status": record["id"], "author": record["author"], "visibility": record.get("visibility")}
                ctx.emit("status_deletes", deleted)

    def on_tick(self, ctx: BatchContext, batch: Batch) -> None:
        """Advance every continuation this task holds by one page."""
        continuations = ctx.pstate(CONTINUATIONS)
        key = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
        for (_status_id, followee, salt), state in continuations.range(key):
            if state["batch"] != ctx.batch_id:
                self.fan_out_page(ctx, state["status"], (followee, salt), state["after"])

    # -- steps -----------------------------------------------------------------------------------------

    def start(self, ctx: BatchContext, status: Delivery) -> None:
        """Deliver to the author, then to mentioned followers (direct) or to every follower bucket."""
        author = status["author"]
        ctx.hop(author, "deliver", {"status": status, "accounts": [author]})
        if status["visibility"] == "direct":
            following = ctx.pstate("$$following", module="relationships")
            recipients = [m for m in status["mentions"] if self.reaches(ctx, status, m, following.get(m, author))]
            self.deliver_grouped(ctx, status, recipients)
            return
        for bucket in ctx.query("relationships", "follower_buckets", author):
            ctx.hop(tuple(bucket["key"]), "fan_out_bucket", {"status": status, "key": bucket["key"], "after": None})

    def fan_out_bucket(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Deliver the first page of one follower bucket (on the task owning the bucket key)."""
        self.fan_out_page(ctx, payload["status"], tuple(payload["key"]), payload["after"])

    def fan_out_page(self, ctx: BatchContext, status: Delivery, key: tuple[int, int], after: int | None) -> None:
        """Deliver up to `limit` followers of bucket `key` after `after`; keep or drop the continuation."""
        followers = ctx.pstate("$$partitioned_followers", module="relationships")
        rows = followers.range(key, None if after is None else after + 1, limit=self.limit + 1)
        page = rows[: self.limit]
        self.deliver_grouped(ctx, status, self.recipients(ctx, status, page))
        if len(rows) <= self.limit and after is None:
            return  # the whole bucket in one page: no continuation, no write (the common case)
        continuations = ctx.pstate(CONTINUATIONS)
        here = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
        sub = (status["id"], key[0], key[1])
        if len(rows) > self.limit:
            continuations.put(here, sub, {"status": status, "after": page[-1][0], "batch": ctx.batch_id})
        else:
            continuations.remove(here, sub)

    def deliver(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        """Add the status to the recipients' home timelines once the batch commits (on their task).

        The deliveries of one attempt to one task are gathered into one list, handed to the timelines by a
        single after-commit callback (`HomeTimelines.deliver_many`, vectorized over the whole batch). A new
        attempt has a new context, so an aborted attempt's list is dropped with its callback.
        """
        if self._pending_ctx is not ctx:
            self._pending_ctx, self._pending = ctx, {}
        pending = self._pending.get(ctx.task)
        if pending is None:
            pending = self._pending[ctx.task] = []
            timelines = ctx.task_global("home_timelines")
            ctx.after_commit(partial(timelines.deliver_many, pending))
        pending.append((payload["status"]["id"], payload["accounts"]))
        ctx.emit("home_updates", {"status": payload["status"]["id"], "accounts": payload["accounts"]})

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def recipients(ctx: TopologyContext, status: Delivery, page: list[tuple[int, Any]]) -> list[int]:
        """The followers of `page` (`(follower, follow options)` rows) that `status` reaches.

        The same rule as `delivery.reaches`, with a fast path for what is not direct and not a reply to
        someone else (nearly every status): only the author and a follow's `languages` can leave one out.
        """
        author, language, reply_to = status["author"], status["language"], status["reply_to"]
        if status["visibility"] != "direct" and (reply_to is None or reply_to == author):
            if not language:
                return [f for f, options in page if f != author and options is not None]
            return [
                f
                for f, options in page
                if f != author
                and options is not None
                and (not (languages := options.get("languages")) or language in languages)
            ]
        following = ctx.pstate("$$following", module="relationships")

        def follows(a: int, b: int) -> bool:
            return bool(following.contains(a, b))

        return [f for f, options in page if f != author and reaches(status, f, options, follows)]

    def deliver_grouped(self, ctx: TopologyContext, status: Delivery, recipients: list[int]) -> None:
        """Hop once to each task owning some of `recipients` (task ownership memoized per account)."""
        if not recipients:
            return
        owners = self._owners.get(ctx.tasks)
        if owners is None:
            owners = self._owners[ctx.tasks] = {}
        owner = owners.get
        groups: list[list[int]] = [[] for _ in range(ctx.tasks)]
        adds = [group.append for group in groups]
        for account in recipients:
            task = owner(account)
            if task is None:
                task = owners[account] = ctx.task_of(account)
            adds[task](account)
        for task, accounts in enumerate(groups):
            if accounts:
                ctx.hop_to_task(task, "deliver", {"status": status, "accounts": accounts})

    @staticmethod
    def reaches(ctx: TopologyContext, status: Delivery, account: int, options: dict[str, Any] | None) -> bool:
        """Whether `status` reaches follower `account` (reads relationships only for replies)."""
        following = ctx.pstate("$$following", module="relationships")
        return reaches(status, account, options, lambda a, b: bool(following.contains(a, b)))


def public_update(status: Delivery) -> dict[str, Any]:
    """Return the `public_updates` event of a public status: what public and hashtag streams route by."""
    return {
        "status": status["id"],
        "author": status["author"],
        "visibility": status["visibility"],
        "tags": status.get("tags", []),
        "local": status.get("local", True),  # every status is local until federation brings remote ones
    }
