"""64-bit time-ordered ids, deterministic: the record's append time, the task, a per-task sequence.

Layout (most significant first), like Mastodon's "ms << 16 | sequence" but collision-free across tasks:

    | 43 bits: append time in ms since the epoch | 12 bits: sequence within the ms | 8 bits: task |

An id is `(time_ms << 20) | task` unless that is not above the last id this task issued for the same
depot, in which case it is `last + 256` (the next sequence number, the task bits unchanged). So ids of one
task strictly increase, ids of two tasks never collide (their low 8 bits differ), and `id >> 20` is the
creation time (a 4,097th id in one ms on one task carries into the next ms: still unique and ordered).
The last id is a PState written with the record's other effects, so a retry or a replay issues the same
ids. 2^43 ms reaches the year 2248; ids stay below 2^63 (a signed 64-bit int, what Mastodon stores).
Tasks: at most 256. Mastodon renders ids as strings: `render` / `parse`.
"""

from __future__ import annotations

from collections.abc import Callable

TASK_BITS = 8
SEQUENCE_BITS = 12
LOW_BITS = TASK_BITS + SEQUENCE_BITS
MAX_TASKS = 1 << TASK_BITS


def next_id(time_ms: int, task: int, last_id: int) -> int:
    """Return the id after `last_id` for a record appended at `time_ms` and processed on `task`."""
    if not 0 <= task < MAX_TASKS:
        raise ValueError(f"ids encode at most {MAX_TASKS} tasks, got task {task}")
    candidate = (time_ms << LOW_BITS) | task
    return candidate if candidate > last_id else last_id + (1 << TASK_BITS)


def time_of(id_: int) -> int:
    """Return the creation time in ms encoded in `id_`."""
    return id_ >> LOW_BITS


def first_id_at(time_ms: int) -> int:
    """Return the smallest id created at `time_ms` (a `min_id` / `max_id` bound for a moment in time)."""
    return time_ms << LOW_BITS


def render(id_: int) -> str:
    """Return `id_` as Mastodon's API shows ids: a decimal string."""
    return str(id_)


def parse(text: str) -> int:
    """Return the id a decimal string names."""
    return int(text)


_TASK_KEYS: dict[tuple[str, int, int], tuple[str, int]] = {}


def task_key(tag: str, task: int, tasks: int, task_of: Callable[[object], int]) -> tuple[str, int]:
    """Return `(tag, salt)` with the smallest salt owned by `task`: a key for per-task state, routable."""
    cached = _TASK_KEYS.get((tag, task, tasks))
    if cached is not None:
        return cached
    for salt in range(64 * tasks):
        if task_of((tag, salt)) == task:
            _TASK_KEYS[(tag, task, tasks)] = (tag, salt)
            return (tag, salt)
    raise RuntimeError(f"no salt routes {tag!r} to task {task} of {tasks}")
