"""What a `LocalWorkersCluster` shows of its task hosts as one cluster: a module's runtime and the test controls.

Tests of the embedded cluster look inside it: every task's store (`runtime.stores`), a task's committed views
and task globals, a depot's partitions (`runtime.depot(name)`), and they pause topologies and wait for the
cluster to be idle. On workers each of those lives on the task host owning the task (or the partition), so
these views send each call there; nothing is copied or simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cluster.contexts import EmbeddedReadContext
from cluster.runtime import ModuleRuntime
from cluster.testing import DEFAULT_WAIT_S, CommitHook, WaitTimeoutError
from cluster.workers.task_host import TaskHost
from depots.kafka_log import KafkaDepotLog
from depots.log import AppendReceipt, DepotLog, DurableListener, LogEntry

Hosts = Mapping[int, TaskHost]  # task -> the host running it, over every local worker
IDLE_RECHECK_S = 0.02  # how often a wait re-checks the hosts (their progress events are per host)


class RoutedDepotLog(DepotLog):
    """A depot as the tests see it: each partition's calls go to the log of the task host owning it.

    Each task host appends only to its own partitions (Kafka depot logs own the partitions they append to),
    so a test appending "as a retried round would" appends through the owner's log too.
    """

    def __init__(self, hosts: Hosts, module: str, depot: str, tasks: int) -> None:
        self._hosts = hosts
        self._module = module
        self._depot = depot
        self._tasks = tasks

    def owner_log(self, partition: int) -> DepotLog:
        """The log of the task host owning `partition`."""
        return self._hosts[partition % self._tasks].runtime(self._module).logs[self._depot]

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return self.owner_log(0).partitions

    def append(self, partition: int, payload: bytes, timestamp_ms: int) -> AppendReceipt:
        """Append through the owner's log."""
        return self.owner_log(partition).append(partition, payload, timestamp_ms)

    async def flush(self) -> None:
        """Flush every owner's log."""
        for task in range(self._tasks):
            await self.owner_log(task).flush()

    def durable_end(self, partition: int) -> int:
        """The owner's durable end of `partition`."""
        return self.owner_log(partition).durable_end(partition)

    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Read `partition` through its owner's log."""
        return await self.owner_log(partition).read(partition, start, max_records)

    def add_durable_listener(self, listener: DurableListener) -> None:
        """Listen on every owner's log."""
        for task in range(self._tasks):
            self.owner_log(task).add_durable_listener(listener)

    async def close(self) -> None:
        """Nothing: each task host closes its own logs."""


class WorkersRuntimeView(ModuleRuntime):
    """A module's runtime over every local task host: stores, views, globals and depots of each task's owner."""

    def __init__(self, hosts: Hosts, module: str) -> None:
        first = hosts[0].runtime(module)
        super().__init__(first.definition, first.tasks, first.directory, _no_store, {}, owned=())
        self._hosts = hosts
        self.owned = list(range(self.tasks))
        self.stores = {task: self._task_runtime(task).stores[task] for task in range(self.tasks)}
        self.logs = {name: RoutedDepotLog(hosts, module, name, self.tasks) for name in self.definition.depots}

    def _task_runtime(self, task: int) -> ModuleRuntime:
        return self._hosts[task].runtime(self.name)

    def committed_view(self, task: int, name: str) -> Any:
        """The committed view on the task host owning `task`."""
        return self._task_runtime(task).committed_view(task, name)

    def task_global(self, task: int, name: str, make_context: Callable[[int], Any]) -> Any:
        """The task global on its task host, built there with that host's context if it does not exist yet."""
        host = self._hosts[task]
        runtime = self._task_runtime(task)
        return runtime.task_global(task, name, lambda t: EmbeddedReadContext(host, runtime, t))

    async def close(self) -> None:
        """Nothing: each task host closes its own runtime."""


def _no_store(module: str, task: int) -> Any:
    raise AssertionError(f"a view opens no store ({module} task {task})")


class WorkersControls:
    """`TestControls` over every local task host: pause and resume everywhere, wait for all of them."""

    __test__ = False  # not a pytest test class

    def __init__(self, hosts: Callable[[], list[TaskHost]]) -> None:
        self._hosts = hosts

    @property
    def on_task_committed(self) -> CommitHook | None:
        """The hook each host calls after a microbatch task commit."""
        hosts = self._hosts()
        return hosts[0].controls.on_task_committed if hosts else None

    @on_task_committed.setter
    def on_task_committed(self, hook: CommitHook | None) -> None:
        for host in self._hosts():
            host.controls.on_task_committed = hook

    def _running(self, module: str) -> Iterator[TaskHost]:
        return (host for host in self._hosts() if module in host.runtimes)

    def pause(self, module: str, topology: str) -> None:
        """Pause `topology` on every task host running `module`."""
        for host in self._running(module):
            host.controls.pause(module, topology)

    def resume(self, module: str, topology: str) -> None:
        """Resume `topology` on every task host running `module`."""
        for host in self._running(module):
            host.controls.resume(module, topology)

    async def wait_processed(self, module: str, topology: str, count: int, timeout_s: float = DEFAULT_WAIT_S) -> None:
        """Wait until `topology` processed at least `count` records over all tasks (hop records count too)."""

        def processed() -> int:
            return sum(host.runner(module, topology).processed for host in self._running(module))

        await self._poll(lambda: processed() >= count, lambda: f"{module}/{topology} to process {count}", timeout_s)

    async def wait_idle(self, timeout_s: float = DEFAULT_WAIT_S) -> None:
        """Wait until every host is idle *and* has learnt every hop record other hosts sent it.

        A target host learns hop records by polling the broker (`TaskHost._poll_hops`). The sources are in
        this process, so their logs tell what was sent: a target behind one is told to refresh at once.
        """
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            for host in self._hosts():
                remaining = max(0.001, deadline - asyncio.get_running_loop().time())
                await host.controls.wait_idle(remaining)
            behind = _hops_not_learnt(self._hosts())
            if not behind and all(_idle(host) for host in self._hosts()):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise WaitTimeoutError(f"workers not idle after {timeout_s}s: {self.describe_backlog()}")
            await asyncio.gather(*(log.refresh(partition) for log, partition in behind))

    def describe_backlog(self) -> str:
        """Backlog per task host, for timeout messages."""
        return "; ".join(f"task {host.task}: {host.describe_backlog()}" for host in self._hosts())

    async def _poll(self, condition: Callable[[], bool], what: Callable[[], str], timeout_s: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not condition():
            for host in self._hosts():
                host.raise_failures()
            if asyncio.get_running_loop().time() > deadline:
                raise WaitTimeoutError(f"timed out waiting for {what()}")
            with contextlib.suppress(TimeoutError):  # a bounded re-check, not a synchronizing sleep
                await asyncio.sleep(IDLE_RECHECK_S)


def _idle(host: TaskHost) -> bool:
    """Whether `host` has no backlog on an unpaused topology and no pass running."""
    runners = host.runners.items()
    return host.quiescent() and all(r.backlog() == 0 for key, r in runners if not host.controls.is_paused(*key))


def _hops_not_learnt(hosts: list[TaskHost]) -> list[tuple[KafkaDepotLog, int]]:
    """(target's hop log, partition) wherever a source host sent hop records its target has not learnt yet."""
    by_task = {host.task: host for host in hosts}
    behind: list[tuple[KafkaDepotLog, int]] = []
    for host in hosts:
        for runner in host.runners.values():
            tasks = runner.runtime.tasks
            for assignment in runner.assignments:
                log = assignment.log
                source = by_task.get(assignment.partition // tasks)
                if not assignment.depot.startswith("~hops.") or source is None or not isinstance(log, KafkaDepotLog):
                    continue
                sent = source.runtime(runner.runtime.name).logs[assignment.depot].durable_end(assignment.partition)
                if sent > log.durable_end(assignment.partition):
                    behind.append((log, assignment.partition))
    return behind
