"""What a topology or query function sees while it runs: the contexts' interfaces.

Module code is written against these protocols only. The embedded cluster implements them today and the
distributed runtime implements them on Kafka, so a module never learns which runtime runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from pstates.errors import TuskError

RejectionKind = Literal["invalid", "not_found", "forbidden", "limit", "duplicate"]
REJECTION_KINDS: tuple[RejectionKind, ...] = get_args(RejectionKind)


class RecordRejected(TuskError):
    """Raised by a stream handler to refuse a record deterministically (e.g. "username taken").

    The record is not retried and none of its writes are kept; an appender waiting with `Ack.PROCESSED`
    gets this exception back. `kind` says why, for machines (the API maps it to a status code; the
    message is for people): "invalid" (the default: a malformed or disallowed value), "not_found" (what
    the record names does not exist, or is not visible to the actor), "forbidden" (it exists, but policy
    refuses the action), "limit" (a count would go over its limit), "duplicate" (taken, or done already).
    """

    def __init__(self, message: str, kind: RejectionKind = "invalid") -> None:
        if kind not in REJECTION_KINDS:
            raise ValueError(f"a rejection kind is one of {list(REJECTION_KINDS)}, got {kind!r}")
        super().__init__(message)
        self.kind: RejectionKind = kind


class StepNotFoundError(TuskError, KeyError):
    """A hop named a step its topology does not declare."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown step"


@dataclass(frozen=True, slots=True)
class Batch:
    """The records one task takes from one depot partition in one microbatch, in offset order."""

    depot: str
    partition: int
    start_offset: int
    values: Sequence[Any]
    timestamps_ms: Sequence[int]

    def __len__(self) -> int:
        return len(self.values)


class ReadContext(Protocol):
    """Reads available on one task: its PStates (committed state) and task globals."""

    @property
    def task(self) -> int:
        """The task this code runs on."""
        ...

    @property
    def tasks(self) -> int:
        """How many tasks the module was launched with."""
        ...

    def pstate(self, name: str, module: str | None = None) -> Any:
        """This task's view of PState `name`; naming a `module` (a mirror, or this one) routes by key instead.

        The routed view reads committed state on whichever task owns each call's first argument.
        """
        ...

    def task_global(self, name: str) -> Any:
        """This task's instance of the task global `name`."""
        ...

    def task_of(self, key: object) -> int:
        """The task that owns `key` (the one a hop or a query routed by `key` goes to)."""
        ...

    def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Invoke query `name` of `module` (this one or a mirrored one) and return its result."""
        ...


class TopologyContext(ReadContext, Protocol):
    """What stream and microbatch code may do besides reading: write its PStates, hop, append."""

    def hop(self, key: object, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step(ctx, payload)` on the task owning `key`, with that task's PStates."""
        ...

    def hop_to_task(self, task: int, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step(ctx, payload)` on task `task`."""
        ...

    def hop_all(self, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step(ctx, payload)` on every task."""
        ...

    def append(self, depot: str, record: object) -> None:
        """Append `record` to a depot of this module (at-least-once: a retried record appends again)."""
        ...

    def emit(self, output: str, event: object) -> None:
        """Publish msgpack-able `event` on this module's `output` once this record's (batch's) writes commit.

        At-least-once (a retried record or batch emits again: put what a subscriber dedupes by in the event),
        live only (nobody subscribed, nobody receives it), nearly free while nobody subscribes.
        """
        ...

    @property
    def time_ms(self) -> int:
        """Append time of the record being processed: the only clock a deterministic topology may read."""
        ...

    def deferred(self, name: str, factory: Callable[[], Any], flush: Callable[[Any, Any], None]) -> Any:
        """Return this task's accumulator `name` for the current stream group, made by `factory()` on first use.

        `flush(ctx, accumulator)` runs on this task once the group's records are processed, before its
        commit, or earlier at `flush_deferred`: a way to aggregate work across the records of a group.
        Code that reads state a pending flush would change must call `flush_deferred` first. A flush
        should not depend on `time_ms` (the group's boundaries are not replayed). A flush, also one run by
        a step this code calls, replaces the accumulator: fetch it again after such calls. Stream only.
        """
        ...

    def flush_deferred(self) -> None:
        """Run every pending deferred flush of the current group now (on each one's task)."""
        ...


class StreamContext(TopologyContext, Protocol):
    """Context of a stream topology, one record at a time."""

    @property
    def offset(self) -> int:
        """Offset of the record being processed in its depot partition."""
        ...


class BatchContext(TopologyContext, Protocol):
    """Context of a microbatch topology, one batch per task at a time."""

    @property
    def batch_id(self) -> int:
        """Id of this microbatch, the same on a retry: use it to deduplicate in-memory side effects."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this batch's PState writes are committed (never for an aborted attempt)."""
        ...


class QueryContext(ReadContext, Protocol):
    """Context of a query and of a task global's factory: reads, plus the cluster's clock.

    Topologies have no `now_ms`: their time is the record's (`TopologyContext.time_ms`), so a replay
    rebuilds the same PStates. A query only reads, so it may ask what time it is (to hide an expired mute).
    """

    def now_ms(self) -> int:
        """The cluster clock's current time in ms (the fake clock in tests)."""
        ...
