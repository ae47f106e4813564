"""`append_many` on workers: one request per owning task instead of one per record.

The client groups the records by the task of their partition and sends each group to its owner as one
`/append_many` request (the groups concurrently); the owner appends them in order, awaits one group commit
for most of them and answers each record's result or error. Like the embedded `append_many`, every record
is appended and awaited, and the first failure is raised after all answered. A group is refused whole
(409) before anything is appended when its task is not served there, so it is retried with a fresh routing
table; a connection broken after sending raises `AppendOutcomeUnknownError`, as for a single append.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cluster.client import Ack, AppendResult, RecordFailedError
from cluster.workers.rpc import answering
from cluster.workers.task_host import NotOwnedError, TaskHost
from topology.context import RecordRejected

if TYPE_CHECKING:
    from cluster.workers.client import WorkerClient

REJECTED_KIND, FAILED_KIND = "rejected", "failed"


def add_batch_routes(
    app: web.Application, host_of: Callable[[int], TaskHost | None], main_loop: asyncio.AbstractEventLoop
) -> web.Application:
    """Add `/append_many` to a worker's RPC app (served on the front thread, appended on the main loop)."""

    async def append_many_on_main(body: dict[str, Any]) -> object:
        async def append() -> object:
            host = host_of(int(body["task"]))
            if host is None:
                raise NotOwnedError(f"task {body['task']} is not served here")
            partitions, ack = [int(p) for p in body["partitions"]], Ack(body["ack"])
            answers = await host.append_many_to(body["module"], body["depot"], partitions, body["records"], ack)
            return [_answer(a) for a in answers]

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(append(), main_loop))

    app.router.add_post("/append_many", answering(append_many_on_main))
    return app


def _answer(result: AppendResult | Exception) -> object:
    if isinstance(result, RecordRejected):
        return {"error": str(result), "kind": REJECTED_KIND}
    if isinstance(result, Exception):
        return {"error": str(result), "kind": FAILED_KIND}
    return [result.partition, result.offset, dict(result.results)]


async def append_many_batched(
    client: WorkerClient, module: str, depot: str, records: Sequence[object], ack: Ack
) -> list[AppendResult]:
    """Append `records` with one request per owning task; results in the records' order."""
    runtime = client.runtime_of(module)
    spec = runtime.definition.depots[depot]
    by_task: dict[int, list[int]] = {}
    partitions = [runtime.partition_for(spec, record, None) for record in records]
    for index, partition in enumerate(partitions):
        by_task.setdefault(partition % runtime.tasks, []).append(index)

    async def send(task: int, indexes: list[int]) -> list[Any]:
        body = {
            "module": module,
            "depot": depot,
            "partitions": [partitions[i] for i in indexes],
            "records": [records[i] for i in indexes],
            "ack": ack.value,
        }
        answers: list[Any] = await client.call_task(task, "/append_many", body, retry_after_send=False)
        return answers

    groups = list(by_task.items())
    answered = await asyncio.gather(*(send(task, indexes) for task, indexes in groups))
    out: list[AppendResult | None] = [None] * len(records)
    failure: Exception | None = None
    for (_, indexes), answers in zip(groups, answered, strict=True):
        for index, answer in zip(indexes, answers, strict=True):
            if isinstance(answer, dict):
                error = RecordRejected if answer["kind"] == REJECTED_KIND else RecordFailedError
                failure = failure or error(answer["error"])
                continue
            out[index] = AppendResult(int(answer[0]), int(answer[1]), answer[2])
    if failure is not None:
        raise failure
    return [result for result in out if result is not None]
