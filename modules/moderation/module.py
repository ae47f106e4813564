"""The moderation module: reports, stored once per client request, readable by id, by target and newest first;
limited accounts.

    depots     *reports          file (records.py), by reporter
               *account_actions  limit / unlimit (limits.py), by account
    topology   reports (stream)  $$report_by_uuid     reporter -> uuid -> id       (reporter's task)
                                 $$report_id_clock    per-task id clock            (reporter's task)
                                 $$reports            id -> report                 (a hop to the id's task)
                                 $$target_reports     target -> {report ids}       (a hop to the target's task)
    topology   account_actions (stream)  $$limited_accounts  account -> {"since", "by"}  (limits.py)
    queries    report(id), report_for_uuid(reporter, uuid), reports_against(target, max_id?, limit?),
               limit(account) (routed by their first argument); reports_here(max_id?, limit?) (every task,
               newest first: take the first `limit`)

Filing is idempotent: a retried or repeated record (same reporter and uuid) returns the first report's id and
writes nothing. A report is {"id", "reporter", "target", "status_ids", "comment", "category", "rule_ids",
"forward", "created_at" (ms), "action_taken_at" (None until a moderator acts: the admin API's work)}.
Ids are time-ordered 64-bit ids, as statuses' (`modules.core.ids`).
"""

from __future__ import annotations

from typing import Any

from depots.declaration import hash_by
from modules.core.ids import next_id, task_key
from modules.moderation import limits
from modules.moderation.records import Record, check_report, reporter_of
from pstates.schema import Map, SortedMap, SortedSet
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key

DEFAULT_PAGE = 20
MAX_PAGE = 200


class Moderation(Module):
    """Reports against accounts and statuses, for moderators to act on; the accounts they limited."""

    name = "moderation"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the `*reports` and `*account_actions` depots, their stream topologies and the queries."""
        m.depot("*reports", hash_by(reporter_of))
        topology = m.stream("reports")
        topology.pstate("$$report_by_uuid", Map(int, SortedMap(str, int)))
        topology.pstate("$$report_id_clock", Map((str, int), int))
        topology.pstate("$$reports", Map(int, dict))
        topology.pstate("$$target_reports", Map(int, SortedSet(int)))
        topology.source("*reports", on_reports)
        topology.step(store_report)
        topology.step(index_target)
        for fn in (report, report_for_uuid, reports_against):
            m.query(fn.__name__, fn, route=by_key())
        m.query("reports_here", reports_here, route=all_tasks(newest_first))
        m.depot("*account_actions", hash_by(limits.account_of))
        actions = m.stream("account_actions")
        actions.pstate(limits.LIMITED, Map(int, dict))
        actions.source("*account_actions", limits.on_account_actions)
        m.query("limit", limits.limit, route=by_key())


def on_reports(ctx: StreamContext, record: Record) -> int:
    """File a report; return its id (the first one's, for a repeated uuid)."""
    if record.get("op") != "file":
        raise RecordRejected(f"unknown op {record.get('op')!r}: expected 'file'")
    fields = check_report(record)
    by_uuid = ctx.pstate("$$report_by_uuid")
    existing = by_uuid.get(fields["reporter"], fields["uuid"])
    if existing is not None:
        return int(existing)
    report_id = issue_id(ctx)
    by_uuid.put(fields["reporter"], fields["uuid"], report_id)
    stored = {"id": report_id, **fields, "created_at": ctx.time_ms, "action_taken_at": None}
    ctx.hop(report_id, store_report, stored)
    ctx.hop(fields["target"], index_target, {"target": fields["target"], "id": report_id})
    return report_id


def issue_id(ctx: StreamContext) -> int:
    """Return a new time-ordered report id (the clock is written with the report, so a retry repeats it)."""
    clock = ctx.pstate("$$report_id_clock")
    key = task_key("reports", ctx.task, ctx.tasks, ctx.task_of)
    new_id = next_id(ctx.time_ms, ctx.task, int(clock.get(key, 0)))
    clock.put(key, new_id)
    return new_id


def store_report(ctx: TopologyContext, stored: dict[str, Any]) -> None:
    """Keep a report on the task owning its id (a retried hop writes the same value)."""
    ctx.pstate("$$reports").put(stored["id"], stored)


def index_target(ctx: TopologyContext, payload: dict[str, int]) -> None:
    """List a report under the account it reports, on that account's task."""
    ctx.pstate("$$target_reports").add(payload["target"], payload["id"])


def report(ctx: ReadContext, report_id: int) -> dict[str, Any] | None:
    """Return the report `report_id`, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$reports").get(report_id)
    return found


def report_for_uuid(ctx: ReadContext, reporter: int, uuid: str) -> int | None:
    """Return the id the report `reporter` filed with client `uuid` got, or None."""
    found = ctx.pstate("$$report_by_uuid").get(reporter, uuid)
    return None if found is None else int(found)


def reports_against(ctx: ReadContext, target: int, max_id: int | None = None, limit: int = DEFAULT_PAGE) -> list[int]:
    """Return the ids of reports against `target`, newest first, below `max_id`."""
    ids = ctx.pstate("$$target_reports").range(target, None, max_id, reverse=True, limit=_bounded(limit))
    return [int(i) for i in ids]


def reports_here(ctx: ReadContext, max_id: int | None = None, limit: int = DEFAULT_PAGE) -> list[dict[str, Any]]:
    """Return this task's newest reports below `max_id` (at most `limit`)."""
    return [found for _, found in ctx.pstate("$$reports").range(None, max_id, reverse=True, limit=_bounded(limit))]


def newest_first(results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge the tasks' reports, newest first."""
    return sorted((found for result in results for found in result), key=lambda found: found["id"], reverse=True)


def _bounded(limit: int) -> int:
    return max(1, min(MAX_PAGE, int(limit)))
