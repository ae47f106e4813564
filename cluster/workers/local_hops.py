"""Hops between task hosts of one worker: handed over in memory once durable, instead of polled from the broker.

A hop record goes to partition `source * tasks + target` of its topology's hop topic; each task host has its
own log of that topic (the source's appends, the target's reads). Across workers the target learns new
records by polling the broker (`TaskHost._poll_hops`). When both tasks are hosted by the same worker, the
source's log tells this registry as soon as a group of its records is *durable* (acknowledged by the broker,
exactly when the source's batch may commit), and the registry hands those very entries to the target's log
(`KafkaDepotLog.adopt`): the target's topology wakes at once and reads them from its tail cache. A target on
another worker is rung instead (`remote`, the worker's `cluster.workers.doorbell`), and polls at once.

Nothing about durability changes: the records are on the broker before the source commits, the target learns
only acknowledged records, and a target restarted anywhere reads them from the broker. The hand-over is a
faster notification plus a copy of bytes already written. A target still polls the partitions of local
sources, slowly (`SAFETY_POLL_EVERY`), for what no hand-over can cover: records a source made durable before
the target registered, or while it was being closed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ClassVar

from depots.kafka_log import KafkaDepotLog
from depots.log import DurableListener

SAFETY_POLL_EVERY = 20  # hop polls (of `HOP_POLL_S` each): local sources are polled too, about once a second


class LocalHops:
    """The hop logs of the task hosts of one worker process, by (module, hop depot) and task."""

    _of_storage: ClassVar[weakref.WeakKeyDictionary[object, LocalHops]] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self._logs: dict[tuple[str, str], dict[int, KafkaDepotLog]] = {}
        # Called with a target task not hosted here when hops for it are durable (`cluster.workers.doorbell`).
        self.remote: Callable[[int], None] | None = None

    @classmethod
    def of(cls, storage: object) -> LocalHops:
        """The registry of the task hosts sharing `storage` (one broker session: one worker process)."""
        found = cls._of_storage.get(storage)
        if found is None:
            found = cls._of_storage[storage] = LocalHops()
        return found

    def register(self, module: str, depot: str, tasks: int, task: int, log: KafkaDepotLog) -> None:
        """Hand `log`'s durable hops to local targets, and let local sources hand theirs to `log`."""
        self._logs.setdefault((module, depot), {})[task] = log
        log.add_durable_listener(self._relay(module, depot, tasks, task, log))

    def unregister(self, module: str, depot: str, task: int, log: KafkaDepotLog) -> None:
        """Forget `task`'s log (its host is closing): its targets poll its partitions from now on."""
        logs = self._logs.get((module, depot), {})
        if logs.get(task) is log:
            del logs[task]

    def is_local(self, module: str, depot: str, task: int) -> bool:
        """Whether `task`'s hops on this depot are handed over here (no need to poll them often)."""
        return task in self._logs.get((module, depot), {})

    def _relay(self, module: str, depot: str, tasks: int, task: int, source: KafkaDepotLog) -> DurableListener:
        def relay(partition: int, durable_end: int) -> None:
            if partition // tasks != task:
                return  # a partition another task produces: learned by this log's own poll
            target = self._logs.get((module, depot), {}).get(partition % tasks)
            if target is None:
                if self.remote is not None:
                    self.remote(partition % tasks)
                return
            if target is source:
                return
            start = target.durable_end(partition)
            if start < durable_end:
                target.adopt(partition, source.cached(partition, start, durable_end) or [], durable_end)

        return relay
