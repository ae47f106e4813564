"""64-bit time-ordered ids for lists and filters, deterministic under replay.

The same layout as core's status and account ids (written here, not imported: modules do not depend on
each other's code), most significant first:

    | 43 bits: append time in ms | 12 bits: sequence within the ms | 8 bits: task |

An id is `(time_ms << 20) | task` unless that is not above the last id this task issued for the same
name, in which case it is `last + 256`. Ids of one task strictly increase and ids of two tasks never
collide. The last id is a PState written with the record's other effects, so a retry or a replay of the
record issues the same id.
"""

from __future__ import annotations

from collections.abc import Callable

from topology.context import TopologyContext

TASK_BITS = 8
LOW_BITS = 20
MAX_TASKS = 1 << TASK_BITS
MAX_SALT_TRIES_PER_TASK = 64

_TASK_KEYS: dict[tuple[str, int, int], tuple[str, int]] = {}


def next_id(time_ms: int, task: int, last_id: int) -> int:
    """Return the id after `last_id` for a record appended at `time_ms` and processed on `task`."""
    if not 0 <= task < MAX_TASKS:
        raise ValueError(f"ids encode at most {MAX_TASKS} tasks, got task {task}")
    candidate = (time_ms << LOW_BITS) | task
    return candidate if candidate > last_id else last_id + (1 << TASK_BITS)


def task_key(tag: str, task: int, tasks: int, task_of: Callable[[object], int]) -> tuple[str, int]:
    """Return `(tag, salt)` with the smallest salt owned by `task`: a routable key for per-task state."""
    cached = _TASK_KEYS.get((tag, task, tasks))
    if cached is not None:
        return cached
    for salt in range(MAX_SALT_TRIES_PER_TASK * tasks):
        if task_of((tag, salt)) == task:
            _TASK_KEYS[(tag, task, tasks)] = (tag, salt)
            return (tag, salt)
    raise RuntimeError(f"no salt routes {tag!r} to task {task} of {tasks}")


def issue_id(ctx: TopologyContext, kind: str, clock_pstate: str) -> int:
    """Return a new id of `kind` for the record being processed, advancing this task's clock."""
    clock = ctx.pstate(clock_pstate)
    key = task_key(kind, ctx.task, ctx.tasks, ctx.task_of)
    new_id = next_id(ctx.time_ms, ctx.task, int(clock.get(key, 0)))
    clock.put(key, new_id)
    return new_id
