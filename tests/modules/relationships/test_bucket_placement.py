"""`grow_many`: placing a run of followers at once gives the buckets a follow at a time gives."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import pytest

from modules.relationships.buckets import BUCKET_CAPACITY, Bucket, grow, grow_many
from pstates.keycodec import partition_of


def task_of_for(tasks: int) -> Callable[[object], int]:
    return lambda key: partition_of(key, tasks)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_grow_many_places_as_repeated_grow(seed: int) -> None:
    rng = random.Random(seed)
    tasks = rng.choice([1, 2, 4, 8])
    task_of = task_of_for(tasks)
    followee = rng.randrange(10**6)
    start: list[Bucket] = []
    for _ in range(rng.randint(0, 3)):
        grow_many(start, followee, rng.randint(1, 2 * BUCKET_CAPACITY), tasks, task_of)
    for bucket in start:  # some room left behind by unfollows
        bucket[2] = max(1, bucket[2] - rng.randint(0, 300))
    count = rng.randint(1, (tasks + 2) * BUCKET_CAPACITY)
    one_at_a_time = copy.deepcopy(start)
    expected = [grow(one_at_a_time, followee, tasks, task_of)[0] for _ in range(count)]
    at_once = copy.deepcopy(start)
    assert grow_many(at_once, followee, count, tasks, task_of) == expected
    assert at_once == one_at_a_time
