"""Partitioned followers: a followee's followers spread over tasks so a celebrity's fanout runs everywhere.

The followee's task keeps `$$follower_buckets`: followee -> `[[task, salt, count], ...]` in allocation order.
A bucket's followers live in `$$partitioned_followers` under the key `(followee, salt)`, where `salt` is the
smallest integer for which that key is owned by `task`. So a bucket is an ordinary routed key: a hop, a
client read or a mirror read of `(followee, salt)` lands on the bucket's task with no engine support.

Placement (deterministic, so a replay rebuilds the same buckets): the first bucket, in allocation order,
with fewer than `BUCKET_CAPACITY` followers; else a bucket on the next unused task after the followee's
own; once every task holds a bucket, the least loaded one (the earliest on ties).
"""

from __future__ import annotations

from collections.abc import Callable

BUCKET_CAPACITY = 1_000

# Every one of `tasks` tasks owns some salt below this bound with overwhelming probability (crc32 is
# close to uniform); `salt_for` fails loudly rather than loop if it ever does not.
MAX_SALT_TRIES_PER_TASK = 64

Bucket = list[int]  # [task, salt, count]


def salt_for(followee: int, task: int, tasks: int, task_of: Callable[[object], int]) -> int:
    """Return the smallest salt whose key `(followee, salt)` is owned by `task`."""
    for salt in range(MAX_SALT_TRIES_PER_TASK * tasks):
        if task_of((followee, salt)) == task:
            return salt
    raise RuntimeError(f"no salt routes followee {followee} to task {task} of {tasks}")


def choose_task(buckets: list[Bucket], owner: int, tasks: int) -> int | None:
    """Return the task of the existing bucket a new follower joins, or None if a new bucket is needed."""
    for task, _, count in buckets:
        if count < BUCKET_CAPACITY:
            return task
    if len(buckets) < tasks:
        return None
    return min(buckets, key=lambda bucket: bucket[2])[0]


def next_task(buckets: list[Bucket], owner: int, tasks: int) -> int:
    """Return the first task after `owner` (the owner itself first) that holds no bucket yet."""
    used = {bucket[0] for bucket in buckets}
    return next((owner + step) % tasks for step in range(tasks) if (owner + step) % tasks not in used)


def bucket_on(buckets: list[Bucket], task: int) -> Bucket | None:
    """Return the bucket on `task`, if any."""
    return next((bucket for bucket in buckets if bucket[0] == task), None)


def bucket_key(followee: int, bucket: Bucket) -> tuple[int, int]:
    """Return the `$$partitioned_followers` key of `bucket`."""
    return (followee, bucket[1])


def resized(buckets: list[Bucket], task: int, delta: int) -> list[Bucket]:
    """Return `buckets` with the count on `task` moved by `delta`, dropping a bucket that becomes empty."""
    out = [[t, salt, count + delta if t == task else count] for t, salt, count in buckets]
    return [bucket for bucket in out if bucket[2] > 0]


def grow(buckets: list[Bucket], followee: int, tasks: int, task_of: Callable[[object], int]) -> Bucket:
    """Count one more follower in the bucket chosen for it, opened if needed, in place; return that bucket."""
    task = choose_task(buckets, -1, tasks)  # the owner matters only for a new bucket
    if task is None:
        task = next_task(buckets, task_of(followee), tasks)
        buckets.append([task, salt_for(followee, task, tasks, task_of), 0])
    placed = bucket_on(buckets, task)
    assert placed is not None
    placed[2] += 1
    return placed


def grow_many(
    buckets: list[Bucket], followee: int, count: int, tasks: int, task_of: Callable[[object], int]
) -> list[int]:
    """Place `count` more followers as `count` calls of `grow` would, in place; return each one's task, in order.

    A run of followers joining one bucket costs one step: fill the first bucket with room, else open one;
    only once every task holds a full bucket does each follower go to the least loaded one by one.
    """
    placed: list[int] = []
    while len(placed) < count:
        task = choose_task(buckets, -1, tasks)
        if task is None:
            task = next_task(buckets, task_of(followee), tasks)
            buckets.append([task, salt_for(followee, task, tasks, task_of), 0])
        bucket = bucket_on(buckets, task)
        assert bucket is not None
        room = BUCKET_CAPACITY - bucket[2]
        run = min(count - len(placed), room) if room > 0 else 1  # a full bucket: least loaded, one at a time
        bucket[2] += run
        placed.extend([task] * run)
    return placed
