"""Polls: created with a status, votes, counts, and one `poll_expired` event when time runs out.

A poll lives on its status' task and its id is the status id (Mastodon gives polls their own ids; one poll
per status makes the status id enough):

    $$polls        status id -> {"id", "author", "options": [title], "multiple", "hide_totals",
                                  "expires_at", "votes": [count per option], "voters_count", "revision",
                                  "closed"}                                     on the status' task
    $$poll_votes   status id -> voter -> [chosen option indexes]                on the status' task
    $$poll_expiry  ("polls", salt) -> (expires_at, status id) -> author         one key per task
    $$poll_vote_keys  status id -> sorted set of (voter, vote key)               on the status' task

Votes (`*poll_votes`, partitioned by poll) run on the poll's task. As in Mastodon (`VoteValidator`,
`PollPolicy`): no vote once the poll has ended (decided by the vote's append time, so a replay agrees), one
vote per account on a single-choice poll, on a multiple-choice poll no option twice; the author may vote on
their own poll (Mastodon's API allows it, only its web UI does not offer it). The messages are Mastodon's.

A retry is told from a second vote by the vote's key: its `uuid` (the API's `Idempotency-Key`, or one it
makes per request), else its depot offset (the same record processed again). A vote whose key this voter
already used on the poll changes nothing and succeeds, even once the poll has ended; the same choices sent
again under another key are a second vote, refused ("You have already voted on this poll").

Expiry: the `*content_tick` tick depot runs `expire_due` on every task; each poll whose `expires_at` has
passed leaves the index and gets `{"op": "poll_expired", "status", "author", "voters": [ids]}` appended
to `*poll_events` (internal, on the poll's task) in the same commit that removes its index entry, so a
restart does not emit it again. The append is durable before that commit: after a crash between the two
the tick is reprocessed and the same record is appended again, so consumers key what they derive from it
by status id (at-least-once delivery of an identical record, like every append from a topology).

An edit may replace the poll (`store_poll` with the edit's revision): changed options or a change of
`multiple` reset the votes (Mastodon deletes them); a new `expires_in` counts from the edit.
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key
from modules.core.records import Limits, Record, check_id, check_text
from modules.core.threads import can_see
from modules.core.tombstones import is_live
from topology.context import QueryContext, RecordRejected, StreamContext, TopologyContext

POLL_EVENTS = "*poll_events"
MAX_VOTE_KEY_CHARS = 64
ALREADY_VOTED = "You have already voted on this poll"
NO_SUCH_OPTION = "The chosen vote option does not exist"
ENDED = "The poll has already ended"


def check_poll(value: object, limits: Limits) -> Record | None:
    """Return a poll spec {"options", "expires_in" (s), "multiple", "hide_totals"} or None; reject a bad one."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordRejected(f"poll must be a dict, got {type(value).__name__}")
    options = value.get("options")
    if not isinstance(options, list) or not 2 <= len(options) <= limits.poll_options:
        raise RecordRejected(f"a poll has 2 to {limits.poll_options} options")
    titles = [check_text(option, "poll option", limits.poll_option_chars) for option in options]
    if len(set(titles)) != len(titles) or not all(titles):
        raise RecordRejected("poll options must be distinct and not empty")
    expires_in = value.get("expires_in")
    low, high = limits.poll_min_expires_s, limits.poll_max_expires_s
    if type(expires_in) is not int or not low <= expires_in <= high:
        raise RecordRejected(f"poll expires_in must be {low} to {high} seconds, got {expires_in!r}")
    flags = {name: value.get(name, False) for name in ("multiple", "hide_totals")}
    if not all(isinstance(flag, bool) for flag in flags.values()):
        raise RecordRejected("poll multiple and hide_totals must be bools")
    return {"options": titles, "expires_in": expires_in, **flags}


def poll_payload(status_id: int, author: int, spec: Record, time_ms: int, revision: int) -> Record:
    """Return what `store_poll` writes for a poll spec given at `time_ms` by a status' `revision`."""
    return {
        "id": status_id,
        "author": author,
        "options": spec["options"],
        "multiple": spec["multiple"],
        "hide_totals": spec["hide_totals"],
        "expires_at": time_ms + spec["expires_in"] * 1000,
        "revision": revision,
    }


def store_poll(ctx: TopologyContext, payload: Record) -> None:
    """Create or replace a status' poll (on its task); a retry or an older revision writes nothing."""
    polls = ctx.pstate("$$polls")
    current = polls.get(payload["id"])
    if current is not None and current["revision"] >= payload["revision"]:
        return
    reset = current is None or (current["options"], current["multiple"]) != (payload["options"], payload["multiple"])
    if current is not None:
        _unindex(ctx, current)
    if reset:
        ctx.pstate("$$poll_votes").delete(payload["id"])
    votes = [0] * len(payload["options"]) if reset or current is None else current["votes"]
    voters = 0 if reset or current is None else current["voters_count"]
    poll = {**payload, "votes": votes, "voters_count": voters, "closed": False}
    polls.put(payload["id"], poll)
    ctx.pstate("$$poll_expiry").put(_index_key(ctx), (poll["expires_at"], poll["id"]), poll["author"])


def drop_poll(ctx: TopologyContext, status_id: int) -> None:
    """Remove a status' poll and its votes (an edit that takes the poll away)."""
    polls = ctx.pstate("$$polls")
    current = polls.get(status_id)
    if current is not None:
        _unindex(ctx, current)
        polls.delete(status_id)
        ctx.pstate("$$poll_votes").delete(status_id)
        ctx.pstate("$$poll_vote_keys").delete(status_id)


def vote(ctx: StreamContext, record: Record) -> int:
    """Record an account's choices on a poll (on the poll's task); return the poll (status) id."""
    account = check_id(record.get("account"), "account")
    poll_id = check_id(record.get("poll", record.get("status")), "poll")
    choices = record.get("choices")
    if not isinstance(choices, list) or not choices or len(set(choices)) != len(choices):
        raise RecordRejected("choices must be a non-empty list of distinct option indexes")
    key = (account, vote_key(ctx, record))
    poll = _visible_poll(ctx, account, poll_id)
    if ctx.pstate("$$poll_vote_keys").contains(poll_id, key):
        return poll_id  # a retry of a vote already counted
    if ctx.time_ms >= poll["expires_at"]:
        raise RecordRejected(ENDED)
    if any(type(c) is not int or not 0 <= c < len(poll["options"]) for c in choices):
        raise RecordRejected(NO_SUCH_OPTION)
    votes = ctx.pstate("$$poll_votes")
    mine: list[int] = votes.get(poll_id, account) or []
    # Mastodon's VoteValidator: one vote on a single-choice poll (several choices at once count as a
    # second vote), and no option twice on a multiple-choice one.
    if (not poll["multiple"] and (mine or len(choices) > 1)) or set(choices) & set(mine):
        raise RecordRejected(ALREADY_VOTED, "duplicate")
    counts = list(poll["votes"])
    for choice in choices:
        counts[choice] += 1
    votes.put(poll_id, account, sorted({*mine, *choices}))
    ctx.pstate("$$poll_vote_keys").add(poll_id, key)
    voters = poll["voters_count"] + (0 if mine else 1)
    ctx.pstate("$$polls").put(poll_id, {**poll, "votes": counts, "voters_count": voters})
    return poll_id


def expire_due(ctx: StreamContext, now_ms: int) -> None:
    """Close every poll of this task whose time has come and announce it on `*poll_events` once."""
    index, key = ctx.pstate("$$poll_expiry"), _index_key(ctx)
    polls, statuses = ctx.pstate("$$polls"), ctx.pstate("$$statuses")
    for (expires_at, poll_id), author in index.range(key, None, (now_ms + 1, 0)):
        index.remove(key, (expires_at, poll_id))
        poll = polls.get(poll_id)
        if poll is None or poll["closed"] or poll["expires_at"] != expires_at or not is_live(statuses.get(poll_id)):
            continue  # replaced by an edit, or its status is gone
        polls.put(poll_id, {**poll, "closed": True})
        voters = [int(voter) for voter, _ in ctx.pstate("$$poll_votes").range(poll_id)]
        ctx.append(POLL_EVENTS, {"op": "poll_expired", "status": poll_id, "author": author, "voters": voters})


def poll(ctx: QueryContext, viewer: int | None, poll_id: int) -> dict[str, Any] | None:
    """Return the poll of status `poll_id` as `viewer` sees it (routed by poll), or None.

    A poll that hides its totals shows no option counts to anyone, its author and voters included, until
    it ends (Mastodon's `Poll#show_totals_now?`); `votes_count` and `voters_count` are always shown.
    """
    found = ctx.pstate("$$polls").get(poll_id)
    if found is None:
        return None
    expired = ctx.now_ms() >= found["expires_at"]
    own = ctx.pstate("$$poll_votes").get(poll_id, viewer) if viewer is not None else None
    hidden = found["hide_totals"] and not expired  # Mastodon's show_totals_now?: for everyone, author included
    return {
        "id": poll_id,
        "expires_at": found["expires_at"],
        "expired": expired,
        "multiple": found["multiple"],
        "votes_count": sum(found["votes"]),
        "voters_count": found["voters_count"],
        "options": [
            {"title": title, "votes_count": None if hidden else count}
            for title, count in zip(found["options"], found["votes"], strict=True)
        ],
        "voted": own is not None,
        "own_votes": own or [],
    }


def vote_key(ctx: StreamContext, record: Record) -> str:
    """Return what tells a retry of this vote from another vote: its uuid, else its place in the depot."""
    uuid = record.get("uuid")
    if uuid is None:
        return f"@{ctx.offset}"
    if not isinstance(uuid, str) or not 0 < len(uuid) <= MAX_VOTE_KEY_CHARS:
        raise RecordRejected(f"uuid must be a non-empty string of at most {MAX_VOTE_KEY_CHARS} characters")
    return uuid


def _visible_poll(ctx: StreamContext, account: int, poll_id: int) -> Record:
    found: Record | None = ctx.pstate("$$polls").get(poll_id)
    status = ctx.pstate("$$statuses").get(poll_id)
    if found is None or not is_live(status) or not can_see(ctx, account, status):
        raise RecordRejected(f"unknown poll {poll_id}", "not_found")
    if not ctx.pstate("$$accounts", module="core").contains(account):
        raise RecordRejected(f"unknown account {account}", "not_found")
    return found


def _unindex(ctx: TopologyContext, poll: Record) -> None:
    ctx.pstate("$$poll_expiry").remove(_index_key(ctx), (poll["expires_at"], poll["id"]))


def _index_key(ctx: TopologyContext) -> tuple[str, int]:
    return task_key("polls", ctx.task, ctx.tasks, ctx.task_of)
