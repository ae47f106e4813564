"""One stream group of creates, a retry, a delete, an edit and a reply writes what one record at a time writes.

Within the group, a retried create finds its id, and a delete, an edit and a reply find a status created
earlier in the same group, not committed yet; no record is refused and the group is not re-run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.testing import FakeClock
from modules.core.ids import first_id_at
from tests.modules.core.content_support import depot_records
from tests.modules.core.support import CORE, launched, register
from tests.modules.global_timelines.support import Dump, dump_pstates

START = FakeClock().now_ms() + 1_000


def records(author: int, task: int) -> list[dict[str, Any]]:
    """One create kept, one retried, one deleted, an edit and a reply: appended 1 ms apart from `START`."""
    first, second = (first_id_at(START + i) | task for i in range(2))  # ids are a function of the record
    return [
        {"op": "create", "author": author, "uuid": "kept", "text": "kept #one"},
        {"op": "create", "author": author, "uuid": "deleted", "text": "deleted"},
        {"op": "create", "author": author, "uuid": "kept", "text": "kept #one"},  # a retry: the same status
        {"op": "delete", "author": author, "id": second},
        {"op": "edit", "author": author, "id": first, "uuid": "edit", "text": "edited #two"},
        {"op": "create", "author": author, "uuid": "reply", "text": "reply", "in_reply_to": first},
    ]


async def run(path: Path, store_kind: str, one_group: bool) -> tuple[Dump, dict[str, Any]]:
    """Append `records`, in one group or each processed before the next; return core's PStates and the outcome."""
    clock = FakeClock(START - 1_000)
    async with launched(path, store_kind, clock=clock) as cluster:
        alice = await register(cluster, "alice")
        clock.advance(1_000)
        if one_group:
            cluster.controls.pause(CORE, "statuses")
        for record in records(alice, cluster.runtime(CORE).task_of(alice)):
            await cluster.append(CORE, "*statuses", record, ack=Ack.APPENDED if one_group else Ack.PROCESSED)
            clock.advance(1)
        cluster.controls.resume(CORE, "statuses")
        await cluster.controls.wait_idle()
        ids = {uuid: await cluster.query(CORE, "status_id_for_uuid", alice, uuid) for uuid in ("kept", "reply")}
        outcome = {
            **ids,
            "kept_text": (await cluster.query(CORE, "status", ids["kept"]))["text"],
            "reply_to": (await cluster.query(CORE, "status", ids["reply"]))["in_reply_to"],
            "statuses": await cluster.query(CORE, "author_statuses", alice),
            # Three creates passed on once each: the group was not aborted and re-run record by record.
            "passed_on": [r["op"] for r in await depot_records(cluster, "*statuses_with_id")],
        }
        return dump_pstates(cluster.runtime(CORE)), outcome


def test_one_group_writes_what_one_record_at_a_time_writes(tmp_path: Path, store_kind: str) -> None:
    grouped, grouped_outcome = asyncio.run(run(tmp_path / "grouped", store_kind, one_group=True))
    single, single_outcome = asyncio.run(run(tmp_path / "single", store_kind, one_group=False))
    kept = first_id_at(START) | (grouped_outcome["kept"] & 0xFF)
    assert grouped_outcome["kept"] == kept and grouped_outcome["kept_text"] == "edited #two"
    assert grouped_outcome["reply_to"] == kept and grouped_outcome["statuses"] == [grouped_outcome["reply"], kept]
    assert grouped_outcome["passed_on"] == ["create", "create", "delete", "update", "create"]
    assert grouped_outcome == single_outcome
    differing = sorted({key[1] for key in grouped.keys() | single.keys() if grouped.get(key) != single.get(key)})
    assert differing == []  # names first: a readable failure
    assert grouped == single
