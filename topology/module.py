"""Module declarations: a module *declares* its depots, PStates, topologies, queries, task globals and outputs.

A module subclasses `Module` and fills a `ModuleBuilder` in `define()`; a cluster runs the resulting
`ModuleDefinition`. Every declaration has a stable name: storage, offsets and metrics are keyed by it, so
renaming one is a data migration. Conventions (checked): depots start with `*`, PStates with `$$`.

    class Counter(Module):
        name = "counter"

        def define(self, m: ModuleBuilder) -> None:
            m.depot("*increments", hash_by(lambda r: r["key"]))
            counts = m.stream("counts")
            counts.pstate("$$counts", Map(str, int))
            counts.source("*increments", self.on_increment)
            m.query("count", self.count, route=by_key())
            m.output("count_changes")  # topologies `ctx.emit("count_changes", event)`; clients subscribe
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from depots.declaration import DEFAULT_MAX_RECORD_BYTES, DepotSpec, Partitioner, internal
from pstates.schema import PStateSpec, Schema
from topology.context import Batch, BatchContext, ReadContext, StreamContext, TopologyContext

StreamHandler = Callable[[StreamContext, Any], Any]
StepHandler = Callable[[TopologyContext, Any], None]
StreamStepHandler = Callable[[StreamContext, Any], None]  # a stream topology's steps see its context
BatchStepHandler = Callable[[BatchContext, Any], None]  # a microbatch's steps see batch_id, after_commit
BatchHandler = Callable[[BatchContext, Batch], None]
QueryFunction = Callable[..., Any]
TaskGlobalFactory = Callable[[ReadContext], Any]


class DefinitionError(ValueError):
    """A module declares something inconsistent (a duplicate name, a source depot nobody declares...)."""


@dataclass(frozen=True, slots=True)
class DepotRef:
    """A depot by module and name; `module=None` means the declaring module's own depot."""

    name: str
    module: str | None = None


@dataclass(frozen=True, slots=True)
class QueryRoute:
    """Where a query runs: on the task owning `args[key_arg]`, on task `args[task_arg]`, or on every task."""

    key_arg: int | None = 0
    combine: Callable[[list[Any]], Any] | None = None
    task_arg: int | None = None

    @property
    def fans_out(self) -> bool:
        """Whether the query runs on every task."""
        return self.key_arg is None and self.task_arg is None


def by_key(arg: int = 0) -> QueryRoute:
    """Route the query to the task owning its positional argument `arg`."""
    return QueryRoute(key_arg=arg)


def on_task(arg: int = 0) -> QueryRoute:
    """Route the query to the task numbered by its positional argument `arg` (e.g. a follower bucket's task)."""
    return QueryRoute(key_arg=None, task_arg=arg)


def all_tasks(combine: Callable[[list[Any]], Any]) -> QueryRoute:
    """Run the query on every task and reduce the per-task results with `combine`."""
    return QueryRoute(key_arg=None, combine=combine)


@dataclass(slots=True)
class TopologySpec:
    """What stream and microbatch topologies share: a name, owned PStates, sources and hop steps."""

    name: str
    module: str
    pstates: dict[str, PStateSpec] = field(default_factory=dict)
    steps: dict[str, Callable[[Any, Any], None]] = field(default_factory=dict)

    def pstate(self, name: str, schema: Schema, *, page_cache: bool = False) -> PStateSpec:
        """Declare PState `name`, written only by this topology (`page_cache`: see `PStateSpec`)."""
        if not name.startswith("$$"):
            raise DefinitionError(f"PState names start with '$$': {name!r} in topology {self.name!r}")
        spec = PStateSpec(name, schema, page_cache)
        self.pstates[name] = spec
        return spec

    def step(self, handler: Callable[[Any, Any], None], name: str | None = None) -> Callable[[Any, Any], None]:
        """Declare `handler` as a hop target of this topology, named `name` or its function name."""
        step_name = name or handler.__name__
        if step_name in self.steps:
            raise DefinitionError(f"step {step_name!r} declared twice in topology {self.name!r}")
        self.steps[step_name] = handler
        return handler

    def step_name(self, step: str | Callable[..., Any]) -> str:
        """Resolve a step given by name or by handler to its declared name."""
        if isinstance(step, str):
            return step
        for name, handler in self.steps.items():
            if handler == step:
                return name
        raise DefinitionError(f"{step!r} is not a declared step of topology {self.name!r}")


@dataclass(slots=True)
class StreamTopologySpec(TopologySpec):
    """A stream topology: each record as it arrives, in partition order, at-least-once."""

    sources: dict[DepotRef, StreamHandler] = field(default_factory=dict)
    max_attempts: int = 5

    def step(self, handler: StreamStepHandler, name: str | None = None) -> StreamStepHandler:
        """Declare `handler(ctx, payload)` as a hop target; it runs with this stream topology's context."""
        TopologySpec.step(self, handler, name)
        return handler

    def source(self, depot: str, handler: StreamHandler, module: str | None = None) -> None:
        """Subscribe `handler(ctx, record)` to `depot`; its return value answers `Ack.PROCESSED` appends."""
        self.sources[DepotRef(depot, module)] = handler


@dataclass(slots=True)
class MicrobatchTopologySpec(TopologySpec):
    """A microbatch topology: all pending records of a task as one batch, exactly-once on PStates."""

    sources: dict[DepotRef, BatchHandler] = field(default_factory=dict)
    max_batch_records: int = 50_000

    def step(self, handler: BatchStepHandler, name: str | None = None) -> BatchStepHandler:
        """Declare `handler(ctx, payload)` as a hop target; it sees the batch's `batch_id` and `after_commit`."""
        TopologySpec.step(self, handler, name)
        return handler

    def source(self, depot: str, handler: BatchHandler, module: str | None = None) -> None:
        """Subscribe `handler(ctx, batch)` to `depot`."""
        self.sources[DepotRef(depot, module)] = handler


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A named read function and its routing."""

    name: str
    fn: QueryFunction
    route: QueryRoute


@dataclass(frozen=True, slots=True)
class TaskGlobalSpec:
    """A per-task in-memory object, built by `factory(ctx)` and rebuildable from PStates."""

    name: str
    factory: TaskGlobalFactory


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """A named stream of events that topologies emit after their writes commit; live subscribers receive them."""

    name: str


@dataclass(slots=True)
class ModuleDefinition:
    """Everything a module declares, ready for a cluster to launch."""

    name: str
    depots: dict[str, DepotSpec] = field(default_factory=dict)
    streams: dict[str, StreamTopologySpec] = field(default_factory=dict)
    microbatches: dict[str, MicrobatchTopologySpec] = field(default_factory=dict)
    queries: dict[str, QuerySpec] = field(default_factory=dict)
    task_globals: dict[str, TaskGlobalSpec] = field(default_factory=dict)
    outputs: dict[str, OutputSpec] = field(default_factory=dict)

    @property
    def topologies(self) -> list[TopologySpec]:
        """Stream then microbatch topologies, in declaration order."""
        return [*self.streams.values(), *self.microbatches.values()]

    def pstate_specs(self) -> dict[str, tuple[TopologySpec, PStateSpec]]:
        """Every PState of the module with the topology that owns it."""
        return {name: (t, spec) for t in self.topologies for name, spec in t.pstates.items()}

    def mirrored_modules(self) -> set[str]:
        """Names of other modules whose depots this module's topologies consume."""
        refs: list[DepotRef] = [r for t in self.streams.values() for r in t.sources]
        refs += [r for t in self.microbatches.values() for r in t.sources]
        return {r.module for r in refs if r.module is not None and r.module != self.name}


class ModuleBuilder:
    """Collects a module's declarations; `Module.define` receives one."""

    def __init__(self, name: str) -> None:
        self.definition = ModuleDefinition(name)
        self._names: set[tuple[str, str]] = set()

    def _claim(self, kind: str, name: str) -> None:
        if (kind, name) in self._names:
            raise DefinitionError(f"{kind} {name!r} declared twice in module {self.definition.name!r}")
        self._names.add((kind, name))

    def depot(
        self, name: str, partitioner: Partitioner, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    ) -> DepotSpec:
        """Declare depot `name` (starting with `*`) partitioned by `partitioner`."""
        if not name.startswith("*"):
            raise DefinitionError(f"depot names start with '*': {name!r}")
        self._claim("depot", name)
        spec = DepotSpec(name, partitioner, max_record_bytes)
        self.definition.depots[name] = spec
        return spec

    def tick_depot(self, name: str, every_ms: int) -> DepotSpec:
        """Declare a tick depot: every `every_ms` of cluster time each partition receives the time in ms."""
        if every_ms <= 0:
            raise DefinitionError(f"tick depot {name!r} needs a positive interval, got {every_ms}")
        self._claim("depot", name)
        spec = DepotSpec(name, internal(), tick_ms=every_ms)
        self.definition.depots[name] = spec
        return spec

    def stream(self, name: str, *, max_attempts: int = 5) -> StreamTopologySpec:
        """Declare stream topology `name`."""
        self._claim("topology", name)
        spec = StreamTopologySpec(name, self.definition.name, max_attempts=max_attempts)
        self.definition.streams[name] = spec
        return spec

    def microbatch(self, name: str, *, max_batch_records: int = 50_000) -> MicrobatchTopologySpec:
        """Declare microbatch topology `name`."""
        self._claim("topology", name)
        spec = MicrobatchTopologySpec(name, self.definition.name, max_batch_records=max_batch_records)
        self.definition.microbatches[name] = spec
        return spec

    def query(self, name: str, fn: QueryFunction, *, route: QueryRoute | None = None) -> QuerySpec:
        """Declare query `name`: `fn(ctx, *args)` on the task(s) chosen by `route` (default: by first arg)."""
        self._claim("query", name)
        spec = QuerySpec(name, fn, route or by_key())
        self.definition.queries[name] = spec
        return spec

    def task_global(self, name: str, factory: TaskGlobalFactory) -> TaskGlobalSpec:
        """Declare a per-task in-memory object built (and rebuilt after a restart) by `factory(ctx)`."""
        self._claim("task global", name)
        spec = TaskGlobalSpec(name, factory)
        self.definition.task_globals[name] = spec
        return spec

    def output(self, name: str) -> OutputSpec:
        """Declare output `name`: topologies `ctx.emit(name, event)`, clients `subscribe(module, name)`."""
        if not name or not name.isidentifier():
            raise DefinitionError(f"output names are identifiers like 'home_updates': {name!r}")
        self._claim("output", name)
        spec = OutputSpec(name)
        self.definition.outputs[name] = spec
        return spec


class Module:
    """Base class of every module: set `name`, declare everything in `define`."""

    name: ClassVar[str]

    def define(self, m: ModuleBuilder) -> None:
        """Declare this module's depots, PStates, topologies, queries and task globals on `m`."""
        raise NotImplementedError

    def definition(self) -> ModuleDefinition:
        """Build and validate this module's definition."""
        builder = ModuleBuilder(self.name)
        self.define(builder)
        validate(builder.definition)
        return builder.definition


def validate(definition: ModuleDefinition) -> None:
    """Raise `DefinitionError` for a source depot or PState name that does not resolve."""
    seen_pstates: set[str] = set()
    for topology in definition.topologies:
        for name in topology.pstates:
            if name in seen_pstates:
                raise DefinitionError(f"PState {name!r} declared by two topologies of {definition.name!r}")
            seen_pstates.add(name)
        sources: Sequence[DepotRef] = list(getattr(topology, "sources", {}))
        for ref in sources:
            if ref.module in (None, definition.name) and ref.name not in definition.depots:
                raise DefinitionError(
                    f"topology {topology.name!r} reads depot {ref.name!r}, which module "
                    f"{definition.name!r} does not declare"
                )
