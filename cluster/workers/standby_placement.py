"""Where standby replicas go: each task gets up to `count` standbys on members other than its owner.

Decided by the group leader next to the owners (`cluster.workers.assignor`), from the same reports, so every
leader computes the same answer. Sticky: a member keeps the standbys it reports holding (their copies are
warm) while they fit; balanced: standby counts differ by at most one where the owners allow it. A task never
has its owner, or one member twice, among its standbys; with fewer members than `count + 1` a task gets
as many standbys as there are other members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def assign_standbys(
    held: Mapping[str, frozenset[int]], owners: Mapping[str, Sequence[int]], tasks: int, count: int
) -> dict[str, list[int]]:
    """Standby tasks per member, given the tasks each member reports holding warm and the new owners."""
    ids = sorted(owners)
    result: dict[str, list[int]] = {member: [] for member in ids}
    per_task = min(count, len(ids) - 1)
    if per_task <= 0:
        return result
    owner_of = {task: member for member, owned in owners.items() for task in owned}
    quota = _quotas(ids, per_task * len(owner_of))
    standbys_of: dict[int, list[str]] = {task: [] for task in range(tasks)}
    for member in ids:  # sticky first: a warm copy is worth keeping
        for task in sorted(held.get(member, frozenset())):
            eligible = task in owner_of and owner_of[task] != member and len(standbys_of[task]) < per_task
            if eligible and len(result[member]) < quota[member]:
                standbys_of[task].append(member)
                result[member].append(task)
    for task in sorted(owner_of):
        while len(standbys_of[task]) < per_task:
            candidates = [m for m in ids if m != owner_of[task] and m not in standbys_of[task]]
            under = [m for m in candidates if len(result[m]) < quota[m]]
            # Quotas can be unreachable when owners cluster; then the least loaded candidate goes over by one.
            member = min(under or candidates, key=lambda m: (len(result[m]), m))
            standbys_of[task].append(member)
            result[member].append(task)
    return {member: sorted(tasks_) for member, tasks_ in result.items()}


def _quotas(ids: list[str], total: int) -> dict[str, int]:
    return {member: total // len(ids) + (1 if index < total % len(ids) else 0) for index, member in enumerate(ids)}
