"""Ids: time-ordered, unique across tasks, strictly increasing within one."""

from __future__ import annotations

import pytest

from modules.core.ids import LOW_BITS, MAX_TASKS, first_id_at, next_id, parse, render, task_key, time_of

T = 1_700_000_000_000


def test_an_id_encodes_its_time_and_task() -> None:
    new_id = next_id(T, 3, 0)
    assert time_of(new_id) == T
    assert new_id & 0xFF == 3
    assert first_id_at(T) <= new_id < first_id_at(T + 1)
    assert new_id < 2**63


def test_ids_in_one_ms_take_the_next_sequence_and_keep_the_task() -> None:
    ids = [next_id(T, 5, 0)]
    for _ in range(5_000):  # past the 4,096 sequences of one ms: carries into the next ms, still unique
        ids.append(next_id(T, 5, ids[-1]))
    assert ids == sorted(set(ids))
    assert all(i & 0xFF == 5 for i in ids)
    assert time_of(ids[4_095]) == T and time_of(ids[4_096]) == T + 1


def test_ids_of_two_tasks_never_collide_and_later_ms_sort_after() -> None:
    a = [next_id(T, 0, 0)]
    b = [next_id(T, 1, 0)]
    for _ in range(100):
        a.append(next_id(T, 0, a[-1]))
        b.append(next_id(T, 1, b[-1]))
    assert not set(a) & set(b)
    assert next_id(T + 1, 0, a[-1]) > max(a + b)
    assert next_id(T - 5, 0, a[-1]) > a[-1]  # a clock step back never reuses an id


def test_rendering_and_limits() -> None:
    assert parse(render(123 << LOW_BITS)) == 123 << LOW_BITS
    with pytest.raises(ValueError):
        next_id(T, MAX_TASKS, 0)
    key = task_key("fanout", 2, 4, lambda k: hash(k) % 4)
    assert key[0] == "fanout"
