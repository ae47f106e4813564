"""The notifications module: per-account notification timelines, dismiss / clear, markers, groups.

Launch relationships, core and moderation first (this module mirrors them: moderation for limited accounts).

    depots     *notification_ops   dismiss / clear / marker / policy / accept_request / dismiss_request,
                                   by account (records.py)
    sources    core *statuses_with_id *interactions *poll_events, relationships *follow_events *blocks
               (sources.py)
    topology   notifications (stream: Mastodon delivers notifications within a second, and dismiss, clear
               and markers must be read back by the request that made them)
                   $$notifications        recipient -> id -> notification, newest `cap` (timeline.py)
                   $$notification_keys    recipient -> activity key -> id
                   $$notification_groups  recipient -> group prefix -> {"bucket", "latest"} (grouping.py)
                   $$follow_requesters    followee -> requesters seen (sources.py)
                   $$mentioned            author -> status -> {"accounts"} until deleted (sources.py)
                   $$markers              account -> timeline -> marker (ops.py)
                   $$notification_policies $$notification_permissions $$notification_requests
                   $$request_of_sender    Mastodon 4.3's notification policies and requests (policies.py)
               steps notify, unnotify, forget_sender (on the recipient's task), follow_event (on the
               followee's task), note_mentions, forget_status (on the author's task)
    output     notifications        {"account", "notification"} after each notification commits
    queries    notifications(account, max_id?, since_id?, min_id?, limit?, types?, exclude_types?,
               from_account?), notification(account, id), unread_count(account, limit?, types?,
               exclude_types?), grouped(account, ..., grouped_types?), markers(account, timelines?),
               notification_policy(account), notification_requests(account, max_id?, limit?),
               notification_request(account, id)      all routed by account

Types: mention, status, reblog, favourite, follow, follow_request, poll, update. Writes are idempotent
(at-least-once stream): one notification per recipient and activity key. A deleted status takes its
notifications with it but its voters' `poll` and its boosters' `update` ones (readers drop those at hydration).
"""

from __future__ import annotations

from functools import partial

from depots.declaration import hash_by
from modules.notifications import ops, policies, queries, sources, timeline
from modules.notifications.grouping import GROUPS
from modules.notifications.records import ops_key
from pstates.schema import Map, SortedMap, SortedSet
from topology.module import Module, ModuleBuilder, by_key

DEFAULT_CAP = 800


class Notifications(Module):
    """Notification timelines of at most `cap` entries per account."""

    name = "notifications"

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap

    def define(self, m: ModuleBuilder) -> None:
        """Declare the ops depot, the notifications stream topology, its output and the queries."""
        m.depot("*notification_ops", hash_by(ops_key))
        topology = m.stream("notifications")
        topology.pstate(timeline.NOTIFICATIONS, Map(int, SortedMap(int, dict)))
        topology.pstate(timeline.KEYS, Map(int, SortedMap(str, int)))
        topology.pstate(GROUPS, Map(int, SortedMap(str, dict)))
        topology.pstate(sources.REQUESTERS, Map(int, SortedSet(int)))
        topology.pstate(sources.MENTIONED, Map(int, SortedMap(int, dict)))
        topology.pstate(ops.MARKERS, Map(int, SortedMap(str, dict)))
        topology.pstate(policies.POLICIES, Map(int, dict))
        topology.pstate(policies.PERMISSIONS, Map(int, SortedSet(int)))
        topology.pstate(policies.REQUESTS, Map(int, SortedMap(int, dict)))
        topology.pstate(policies.REQUEST_OF_SENDER, Map(int, SortedMap(int, int)))
        topology.source("*statuses_with_id", sources.on_statuses, module="core")
        topology.source("*interactions", sources.on_interactions, module="core")
        topology.source("*poll_events", sources.on_poll_events, module="core")
        topology.source("*follow_events", sources.on_follow_events, module="relationships")
        topology.source("*blocks", sources.on_blocks, module="relationships")
        topology.source("*notification_ops", ops.on_ops)
        topology.step(partial(timeline.notify, cap=self.cap), "notify")
        topology.step(timeline.unnotify)
        topology.step(timeline.forget_sender)
        topology.step(sources.follow_event)
        topology.step(sources.note_mentions)
        topology.step(sources.forget_status)
        m.output(timeline.OUTPUT)
        for fn in (queries.notifications, queries.notification, queries.unread_count, queries.grouped, ops.markers):
            m.query(fn.__name__, fn, route=by_key())
        m.query("notification_policy", policies.policy_summary, route=by_key())
        m.query("notification_requests", policies.pending_requests, route=by_key())
        m.query("notification_request", policies.pending_request, route=by_key())
