"""Depot declarations: a stable name and a partitioner that says which partition a record goes to."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

# Extracts the partitioning key from a record (e.g. the author id of a status).
KeyFunction = Callable[[object], object]

DEFAULT_MAX_RECORD_BYTES = 1 << 20


class PartitionerKind(enum.Enum):
    """How a depot chooses the partition of an appended record."""

    HASH_BY = "hash_by"  # hash of key_fn(record): all records of one key are ordered on one task
    RANDOM = "random"  # spread evenly, no ordering between records
    GLOBAL = "global"  # a single partition, consumed by task 0: a total order
    INTERNAL = "internal"  # only topologies append; hashed by key_fn, or the appending task when absent


@dataclass(frozen=True, slots=True)
class Partitioner:
    """A partitioning rule; build one with `hash_by`, `random_partition`, `global_partition`, `internal`."""

    kind: PartitionerKind
    key_fn: KeyFunction | None = None


def hash_by(key_fn: KeyFunction) -> Partitioner:
    """Partition by a stable hash of `key_fn(record)`."""
    return Partitioner(PartitionerKind.HASH_BY, key_fn)


def random_partition() -> Partitioner:
    """Spread records over partitions at random."""
    return Partitioner(PartitionerKind.RANDOM)


def global_partition() -> Partitioner:
    """Put every record in one partition (one total order, one consuming task)."""
    return Partitioner(PartitionerKind.GLOBAL)


def internal(key_fn: KeyFunction | None = None) -> Partitioner:
    """Accept appends from topologies only, hashed by `key_fn` or kept on the appending task."""
    return Partitioner(PartitionerKind.INTERNAL, key_fn)


@dataclass(frozen=True, slots=True)
class DepotSpec:
    """A declared depot. `tick_ms` set makes it a tick depot: the cluster appends the time on schedule."""

    name: str
    partitioner: Partitioner
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    tick_ms: int | None = None

    def partition_count(self, tasks: int) -> int:
        """Number of partitions this depot has on a module launched with `tasks` tasks."""
        return 1 if self.partitioner.kind is PartitionerKind.GLOBAL else tasks

    @property
    def is_internal(self) -> bool:
        """Whether only topologies may append."""
        return self.partitioner.kind is PartitionerKind.INTERNAL or self.tick_ms is not None
