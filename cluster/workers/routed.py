"""Routed reads made by code running on a task host: each goes to the task owning its key, wherever it runs.

The embedded cluster's `RoutedPState` and `run_query` read every task's committed views in-process; on a
task host those of other tasks are elsewhere, so these send each per-task read through
`TaskHost.read_task_pstate` / `TaskHost.query_task` (this task, a sibling host, or another worker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cluster.inprocess import UnknownQueryError
from cluster.runtime import ModuleRuntime

if TYPE_CHECKING:
    from cluster.workers.task_host import TaskHost


class WorkerRoutedPState:
    """Committed reads of a module's PState from a task host, each call sent to the task owning its key."""

    def __init__(self, host: TaskHost, runtime: ModuleRuntime, name: str) -> None:
        runtime.pstate_spec(name)  # validates the name
        self._host = host
        self._runtime = runtime
        self._name = name

    def call(self, method: str, key: object, *args: Any, **kwargs: Any) -> Any:
        """Run view method `method(key, ...)` on the owning task."""
        task = self._runtime.task_of(key)
        return self._host.read_task_pstate(task, self._runtime.name, self._name, method, (key, *args), kwargs)

    def multi_get(self, keys: list[object]) -> list[Any]:
        """Top-level values of `keys`, one multi-get per owning task."""
        by_task: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            by_task.setdefault(self._runtime.task_of(key), []).append(index)
        out: list[Any] = [None] * len(keys)
        for task, indexes in by_task.items():
            wanted = [keys[i] for i in indexes]
            values = self._host.read_task_pstate(task, self._runtime.name, self._name, "multi_get", (wanted,), {})
            for index, value in zip(indexes, values, strict=True):
                out[index] = value
        return out

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda key, *args, **kwargs: self.call(method, key, *args, **kwargs)


def run_routed_query(host: TaskHost, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run `module`'s query `name` on the task(s) its route names, combining a fan-out here."""
    runtime = host.runtime(module)
    spec = runtime.definition.queries.get(name)
    if spec is None:
        known = ", ".join(sorted(runtime.definition.queries)) or "none"
        raise UnknownQueryError(f"module {module!r} has no query {name!r} (it declares: {known})")
    route = spec.route
    if route.fans_out:
        assert route.combine is not None
        return route.combine([host.query_task(t, module, name, args, kwargs) for t in range(runtime.tasks)])
    arg = route.task_arg if route.task_arg is not None else route.key_arg or 0
    if len(args) <= arg:
        raise TypeError(f"query {module}/{name} is routed by positional argument {arg}; got {len(args)}")
    task = args[arg] if route.task_arg is not None else runtime.task_of(args[arg])
    if type(task) is not int or not 0 <= task < runtime.tasks:
        raise ValueError(f"module {module!r} has tasks 0..{runtime.tasks - 1}; got {task!r}")
    return host.query_task(task, module, name, args, kwargs)
