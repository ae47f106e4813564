"""64-bit time-ordered ids for every module, a function of the record and its depot partition's history.

Layout (most significant first), like Mastodon's snowflake ids ("ms << 16 | sequence") but collision-free
across tasks and sources without coordination:

    | 43 bits: append time in ms | 10 bits: sequence within the ms | 2 bits: source | 8 bits: task |

A *source* is one of the depots whose records issue ids of one kind on a task (core's status ids come from
`*statuses`, `*reblogs` and the `*content_tick` that publishes scheduled statuses); a kind issued from one
depot only uses source 0. Each (kind, source, task) has its own clock, the last id it issued, kept in a
PState under `task_key`. An id is `(time_ms << 20) | (source << 8) | task` unless that is not above the
clock, in which case it is `last + 1024`: the next sequence number, its source and task bits unchanged (a
1,025th id of one source on one task in one ms carries into the next ms: still unique and ordered).

Why a clock per source: a task consumes one partition of each of its depots, each in offset order, but
how the partitions interleave differs between a live run and a replay. A clock shared by two depots made
an id depend on that interleaving (a boost processed after later statuses took the next sequence number
instead of its own time's); a clock fed by one partition sees the same records in the same order on every
run, so retries and replays issue the same ids. Ids of one source on one task strictly increase; two
tasks or two sources never collide (their low 10 bits differ), and `id >> 20` is the creation time.
2^43 ms reaches the year 2248; ids stay below 2^63 (a signed 64-bit int, what Mastodon stores).
Tasks: at most 256. Mastodon renders ids as strings: `render` / `parse`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from topology.context import TopologyContext

TASK_BITS = 8
SOURCE_BITS = 2
SEQUENCE_BITS = 10
LOW_BITS = TASK_BITS + SOURCE_BITS + SEQUENCE_BITS
MAX_TASKS = 1 << TASK_BITS
MAX_SOURCES = 1 << SOURCE_BITS
SEQUENCE_STEP = 1 << (TASK_BITS + SOURCE_BITS)
MAX_SALT_TRIES_PER_TASK = 64

_TASK_KEYS: dict[tuple[str, int, int], tuple[str, int]] = {}


def next_id(time_ms: int, task: int, last_id: int, source: int = 0) -> int:
    """Return the id after `last_id` (this source's clock) for a record appended at `time_ms` on `task`."""
    if not 0 <= task < MAX_TASKS:
        raise ValueError(f"ids encode at most {MAX_TASKS} tasks, got task {task}")
    if not 0 <= source < MAX_SOURCES:
        raise ValueError(f"ids encode at most {MAX_SOURCES} sources, got source {source}")
    candidate = (time_ms << LOW_BITS) | (source << TASK_BITS) | task
    return candidate if candidate > last_id else last_id + SEQUENCE_STEP


def issue_id(ctx: TopologyContext, kind: str, clock_pstate: str, source: int = 0) -> int:
    """Return a new id of `kind` for the record being processed from `source`, advancing its clock.

    The clocks a stream group advances are kept in memory (`ctx.deferred`) and written once at the group's
    end: one PState read per clock per group instead of a read and a write per id. The clock written is
    the last id issued, whatever the grouping, so retries and replays still issue the same ids.
    """
    key = task_key(kind if source == 0 else f"{kind}#{source}", ctx.task, ctx.tasks, ctx.task_of)
    clocks: dict[tuple[str, int], int] = ctx.deferred(clock_pstate, dict, _flush_of(clock_pstate))
    last = clocks.get(key)
    if last is None:
        last = int(ctx.pstate(clock_pstate).get(key, 0))
    new_id = clocks[key] = next_id(ctx.time_ms, ctx.task, last, source)
    return new_id


def _write_clocks(clock_pstate: str, ctx: TopologyContext, clocks: dict[tuple[str, int], int]) -> None:
    """Write a group's advanced clocks (a deferred flush on their task)."""
    clock = ctx.pstate(clock_pstate)
    for key, last in clocks.items():
        clock.put(key, last)


ClockFlush = Callable[[TopologyContext, dict[tuple[str, int], int]], None]
_FLUSHES: dict[str, ClockFlush] = {}


def _flush_of(clock_pstate: str) -> ClockFlush:
    """Return the deferred flush of `clock_pstate`, made once (a partial per id would cost more than the id)."""
    flush = _FLUSHES.get(clock_pstate)
    if flush is None:
        flush = _FLUSHES[clock_pstate] = partial(_write_clocks, clock_pstate)
    return flush


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


def task_key(tag: str, task: int, tasks: int, task_of: Callable[[object], int]) -> tuple[str, int]:
    """Return `(tag, salt)` with the smallest salt owned by `task`: a key for per-task state, routable."""
    cached = _TASK_KEYS.get((tag, task, tasks))
    if cached is not None:
        return cached
    for salt in range(MAX_SALT_TRIES_PER_TASK * tasks):
        if task_of((tag, salt)) == task:
            _TASK_KEYS[(tag, task, tasks)] = (tag, salt)
            return (tag, salt)
    raise RuntimeError(f"no salt routes {tag!r} to task {task} of {tasks}")
