"""Ids: time-ordered, unique across tasks and sources, strictly increasing within one source of a task."""

from __future__ import annotations

import pytest

from modules import ids as shared
from modules.core import ids as core_ids
from modules.ids import LOW_BITS, MAX_SOURCES, MAX_TASKS, first_id_at, next_id, parse, render, task_key, time_of
from modules.relationships import ids as relationships_ids

T = 1_700_000_000_000


def test_an_id_encodes_its_time_source_and_task() -> None:
    new_id = next_id(T, 3, 0, source=2)
    assert time_of(new_id) == T
    assert new_id & 0xFF == 3 and (new_id >> 8) & 0b11 == 2
    assert first_id_at(T) <= new_id < first_id_at(T + 1)
    assert new_id < 2**63


def test_ids_in_one_ms_take_the_next_sequence_and_keep_source_and_task() -> None:
    ids = [next_id(T, 5, 0, 1)]
    for _ in range(2_000):  # past the 1,024 sequences of one ms: carries into the next ms, still unique
        ids.append(next_id(T, 5, ids[-1], 1))
    assert ids == sorted(set(ids))
    assert all(i & 0x3FF == (1 << 8) | 5 for i in ids)
    assert time_of(ids[1_023]) == T and time_of(ids[1_024]) == T + 1


def test_ids_of_two_tasks_or_two_sources_never_collide_and_later_ms_sort_after() -> None:
    clocks = {(task, source): [next_id(T, task, 0, source)] for task in (0, 1) for source in range(MAX_SOURCES)}
    for _ in range(1_500):  # every clock carries past the ms, all in the same ms range
        for (task, source), issued in clocks.items():
            issued.append(next_id(T, task, issued[-1], source))
    everything = [i for issued in clocks.values() for i in issued]
    assert len(set(everything)) == len(everything)
    last = clocks[(0, 0)][-1]
    assert next_id(T + 2, 0, last) > max(everything)
    assert next_id(T - 5, 0, last) > last  # a clock step back never reuses an id


def test_the_same_ms_on_two_sources_gives_each_its_own_time_whatever_the_order() -> None:
    status_first = next_id(T, 0, 0, 0), next_id(T, 0, 0, 1)
    boost_first = next_id(T, 0, 0, 1), next_id(T, 0, 0, 0)
    assert status_first == boost_first[::-1]  # each clock sees only its own depot: order does not matter
    assert {time_of(i) for i in status_first} == {T}


def test_one_implementation_for_every_module() -> None:
    assert core_ids.next_id is shared.next_id and relationships_ids.next_id is shared.next_id
    assert core_ids.issue_id is shared.issue_id is relationships_ids.issue_id
    assert core_ids.task_key is shared.task_key is relationships_ids.task_key


def test_rendering_and_limits() -> None:
    assert parse(render(123 << LOW_BITS)) == 123 << LOW_BITS
    with pytest.raises(ValueError):
        next_id(T, MAX_TASKS, 0)
    with pytest.raises(ValueError):
        next_id(T, 0, 0, MAX_SOURCES)
    key = task_key("fanout", 2, 4, lambda k: hash(k) % 4)
    assert key[0] == "fanout"
