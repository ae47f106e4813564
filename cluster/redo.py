"""Redo records of cross-task microbatches: every task's operations, by column name, as msgpack data."""

from __future__ import annotations

from typing import Any

from pstates.store import ColumnHandle, KVStore
from pstates.transaction import Transaction

# One operation: [column name, "put" | "delete" | "delete_range", key or start, value or end or None].
Operation = list[Any]


def operations_of(txn: Transaction) -> list[Operation]:
    """The operations `txn` would commit, with columns named so another process can replay them."""
    store = txn.store
    names: dict[ColumnHandle, str] = {store.column(name): name for name in store.column_names()}
    return [[names[column], kind, a, b] for column, kind, a, b in txn.operations()]


def apply_operations(store: KVStore, operations: list[Operation]) -> None:
    """Apply recorded operations to `store` in one atomic write."""
    batch = store.new_batch()
    for name, kind, a, b in operations:
        column = store.column(name)
        if kind == "delete_range":
            batch.delete_range(column, a, b)
        elif kind == "delete":
            batch.delete(column, a)
        elif kind == "put":
            batch.put(column, a, b)
        else:
            raise ValueError(f"unknown redo operation {kind!r}")
    store.write(batch, sync=True)
