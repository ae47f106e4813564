"""`tusk bench engine`: the engine's hot paths beside raw rocksdict doing the same work, in one run.

Each engine figure has a raw twin measured in the same process on the same machine moments apart:

| engine operation                                   | raw rocksdict twin                                       |
|----------------------------------------------------|----------------------------------------------------------|
| depot append (each ack level)                      | WriteBatch puts of the same msgpack records, synced per group |
| stream topology: records/s into a Map PState       | WriteBatch put per record (packed key, msgpack value)    |
| microbatch topology: records/s into a Map PState   | WriteBatch put per record (packed key, msgpack value)    |
| PState point read (`MapPState.get`)                | `get(packed key)` + `msgpack.unpackb`                    |
| PState range read, 20 rows (`SortedMap.range`)     | iterator seek + 20 × (key, value) + `msgpack.unpackb`    |

The raw twin does the serialization a hand-written program needs for the same data, no more. The JSON
carries `ratios` (`microbatch_write`, `point_read`, `range_read`): engine / raw; the bars are 0.5, 0.6, 0.5.
"""

from __future__ import annotations

import asyncio
import random
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from depots.declaration import hash_by
from pstates.schema import Map, SortedMap
from topology.context import Batch, BatchContext, StreamContext
from topology.module import Module, ModuleBuilder

BARS = {"microbatch_write": 0.5, "point_read": 0.6, "range_read": 0.5}
RANGE_ROWS = 20
SERIES_INNER = 200
_KEY = struct.Struct(">q")


class BenchModule(Module):
    """A stream and a microbatch topology that each store every record in a Map PState."""

    name = "bench"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the writing topologies and the series PState."""
        m.depot("*stream_rows", hash_by(lambda r: r[0]))  # type: ignore[index]
        m.depot("*batch_rows", hash_by(lambda r: r[0]))  # type: ignore[index]
        m.depot("*series_rows", hash_by(lambda r: r[0]))  # type: ignore[index]
        stream = m.stream("stream_writer")
        stream.pstate("$$stream_rows", Map(int, object))
        stream.source("*stream_rows", self.store_row)
        batch = m.microbatch("batch_writer", max_batch_records=100_000)
        batch.pstate("$$batch_rows", Map(int, object))
        batch.source("*batch_rows", self.store_batch)
        series = m.microbatch("series_writer", max_batch_records=100_000)
        series.pstate("$$series", Map(int, SortedMap(int, object)))
        series.source("*series_rows", self.store_series)

    def store_row(self, ctx: StreamContext, row: list[Any]) -> None:
        """Store one row."""
        ctx.pstate("$$stream_rows").put(row[0], row[1])

    def store_batch(self, ctx: BatchContext, batch: Batch) -> None:
        """Store a batch of rows."""
        ctx.pstate("$$batch_rows").put_many((row[0], row[1]) for row in batch.values)

    def store_series(self, ctx: BatchContext, batch: Batch) -> None:
        """Store rows of time series."""
        series = ctx.pstate("$$series")
        for key, inner, value in batch.values:
            series.put(key, inner, value)


def _value(i: int) -> dict[str, Any]:
    return {"id": i, "author": i % 1000, "text": "a status of about forty characters long"}


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


# -- raw rocksdict twins -----------------------------------------------------------------------------------


class RawTwin:
    """The same operations on a bare rocksdict database."""

    def __init__(self, path: Path) -> None:
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self.db = Rdict(str(path), options)
        self.db.create_column_family("rows", Options(raw_mode=True))
        self.db.create_column_family("series", Options(raw_mode=True))
        self.rows = self.db.get_column_family("rows")
        self.rows_handle = self.db.get_column_family_handle("rows")
        self.series = self.db.get_column_family("series")
        self.series_handle = self.db.get_column_family_handle("series")

    def batch_put(self, keys: list[int], values: list[Any], group: int, sync: bool = False) -> float:
        """Records/s of WriteBatch puts (packed key, msgpack value), one write per `group` records."""
        packb, pack_key, handle = msgpack.packb, _KEY.pack, self.rows_handle
        options = WriteOptions()
        options.sync = sync
        started = time.perf_counter()
        for base in range(0, len(keys), group):
            batch = WriteBatch(raw_mode=True)
            for i in range(base, min(base + group, len(keys))):
                batch.put(pack_key(keys[i]), packb(values[i]), handle)
            self.db.write(batch, options)
        return _rate(len(keys), time.perf_counter() - started)

    def point_reads(self, keys: list[int]) -> float:
        """Gets/s of get + unpackb."""
        get, unpackb, pack_key = self.rows.get, msgpack.unpackb, _KEY.pack
        started = time.perf_counter()
        for key in keys:
            unpackb(get(pack_key(key)))  # type: ignore[arg-type]  # every key was written
        return _rate(len(keys), time.perf_counter() - started)

    def load_series(self, outer: int) -> None:
        """Store `outer` series of SERIES_INNER rows under keys (outer, inner)."""
        batch = WriteBatch(raw_mode=True)
        for key in range(outer):
            for inner in range(SERIES_INNER):
                batch.put(_KEY.pack(key) + _KEY.pack(inner), msgpack.packb(_value(inner)), self.series_handle)
        self.db.write(batch)

    def range_reads(self, starts: list[tuple[int, int]]) -> float:
        """20-row range reads/s: seek, then 20 × (key, value) with unpackb."""
        unpackb, pack_key, unpack_key = msgpack.unpackb, _KEY.pack, _KEY.unpack_from
        started = time.perf_counter()
        for key, inner in starts:
            prefix = pack_key(key)
            it = self.series.iter()
            it.seek(prefix + pack_key(inner))
            rows: list[tuple[int, Any]] = []
            while it.valid() and len(rows) < RANGE_ROWS:
                raw_key: bytes = it.key()
                if not raw_key.startswith(prefix):
                    break
                rows.append((unpack_key(raw_key, 8)[0], unpackb(it.value())))
                it.next()
        return _rate(len(starts), time.perf_counter() - started)

    def close(self) -> None:
        """Close the database."""
        self.db.close()


# -- engine ------------------------------------------------------------------------------------------------


async def _appends(cluster: InProcessCluster, depot: str, count: int, ack: Ack, concurrency: int = 256) -> float:
    """Appends/s with `concurrency` appenders in flight (group commit amortizes the fsync)."""
    started = time.perf_counter()
    per_worker = count // concurrency

    async def worker(base: int) -> None:
        for i in range(base, base + per_worker):
            await cluster.append("bench", depot, [i, _value(i)], ack=ack)

    await asyncio.gather(*(worker(w * per_worker) for w in range(concurrency)))
    await cluster.flush_logs()
    return _rate(per_worker * concurrency, time.perf_counter() - started)


async def _timed_topology(cluster: InProcessCluster, topology: str, depot: str, rows: list[list[Any]]) -> float:
    """Records/s of `topology` over `rows` appended while it was paused (so only processing is timed)."""
    controls = cluster.controls
    runner = cluster.runner("bench", topology)
    controls.pause("bench", topology)
    for row in rows:
        await cluster.append("bench", depot, row, ack=Ack.NONE)
    await cluster.flush_logs()
    before = runner.processed
    started = time.perf_counter()
    controls.resume("bench", topology)
    await controls.wait_processed("bench", topology, before + len(rows), timeout_s=600)
    return _rate(len(rows), time.perf_counter() - started)


def _timed(fn: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    fn()
    return _rate(count, time.perf_counter() - started)


async def _engine(path: Path, n: int, reads: int, series_outer: int, rng: random.Random) -> dict[str, float]:
    out: dict[str, float] = {}
    async with InProcessCluster(path) as cluster:
        runtime = await cluster.launch(BenchModule(), tasks=4)
        appends = max(2_000, n // 10)
        out["append_none"] = await _appends(cluster, "*batch_rows", appends, Ack.NONE)
        out["append_appended"] = await _appends(cluster, "*batch_rows", appends, Ack.APPENDED)
        out["append_processed"] = await _appends(cluster, "*stream_rows", appends, Ack.PROCESSED)
        await cluster.controls.wait_idle(timeout_s=600)
        rows = [[i, _value(i)] for i in range(n)]
        out["stream"] = await _timed_topology(cluster, "stream_writer", "*stream_rows", rows)
        out["microbatch"] = await _timed_topology(cluster, "batch_writer", "*batch_rows", rows)
        series_rows = [[k, i, _value(i)] for k in range(series_outer) for i in range(SERIES_INNER)]
        await _timed_topology(cluster, "series_writer", "*series_rows", series_rows)

        keys = [rng.randrange(n) for _ in range(reads)]
        views = [runtime.committed_view(t, "$$batch_rows") for t in range(runtime.tasks)]
        routed = [(views[runtime.task_of(k)], k) for k in keys]  # routing measured separately below
        out["point_read"] = _timed(lambda: [view.get(k) for view, k in routed], reads)
        client_rows = cluster.pstate("bench", "$$batch_rows")

        async def client_reads() -> None:
            for k in keys:
                await client_rows.get(k)

        started = time.perf_counter()
        await client_reads()
        out["point_read_client"] = _rate(reads, time.perf_counter() - started)

        starts = [(rng.randrange(series_outer), rng.randrange(SERIES_INNER - RANGE_ROWS)) for _ in range(reads // 4)]
        series = [runtime.committed_view(t, "$$series") for t in range(runtime.tasks)]
        ranged = [(series[runtime.task_of(k)], k, i) for k, i in starts]
        out["range_read"] = _timed(lambda: [v.range(k, i, limit=RANGE_ROWS) for v, k, i in ranged], len(starts))
    return out


def _raw(path: Path, n: int, reads: int, series_outer: int, rng: random.Random) -> dict[str, float]:
    raw = RawTwin(path)
    try:
        keys = list(range(n))
        values = [_value(i) for i in keys]
        out = {"batch_put": raw.batch_put(keys, values, group=10_000)}
        out["synced_group_put"] = raw.batch_put(keys[: n // 10], values[: n // 10], group=256, sync=True)
        out["point_read"] = raw.point_reads([rng.randrange(n) for _ in range(reads)])
        raw.load_series(series_outer)
        starts = [(rng.randrange(series_outer), rng.randrange(SERIES_INNER - RANGE_ROWS)) for _ in range(reads // 4)]
        out["range_read"] = raw.range_reads(starts)
        return out
    finally:
        raw.close()


def run_engine_benchmark(*, quick: bool = False, plot: Path | None = None) -> dict[str, Any]:
    """Measure the engine and its raw twins; return the JSON report (and write a plot if asked)."""
    n, reads, series_outer = (20_000, 20_000, 100) if quick else (200_000, 200_000, 1_000)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-") as tmp:
        raw = _raw(Path(tmp) / "raw", n, reads, series_outer, rng)
        engine = asyncio.run(_engine(Path(tmp) / "engine", n, reads, series_outer, rng))
    ratios = {
        "microbatch_write": round(engine["microbatch"] / raw["batch_put"], 3),
        "point_read": round(engine["point_read"] / raw["point_read"], 3),
        "range_read": round(engine["range_read"] / raw["range_read"], 3),
    }
    report: dict[str, Any] = {
        "benchmark": "engine",
        "quick": quick,
        "records": n,
        "engine_per_s": engine,
        "raw_rocksdict_per_s": raw,
        "pairs": {
            "append_appended": [engine["append_appended"], raw["synced_group_put"]],
            "stream": [engine["stream"], raw["batch_put"]],
            "microbatch": [engine["microbatch"], raw["batch_put"]],
            "point_read": [engine["point_read"], raw["point_read"]],
            "range_read": [engine["range_read"], raw["range_read"]],
        },
        "ratios": ratios,
        "bars": BARS,
        "meets_bars": all(ratios[k] >= bar for k, bar in BARS.items()),
    }
    if plot is not None:
        _plot(report, plot)
    return report


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["pairs"])
    engine = [report["pairs"][k][0] for k in names]
    raw = [report["pairs"][k][1] for k in names]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], engine, width=0.4, label="Tusk engine")
    ax.bar([x + 0.2 for x in xs], raw, width=0.4, label="raw rocksdict, same work")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("operations / s")
    ax.set_yscale("log")
    ax.set_title("tusk bench engine: ratios " + ", ".join(f"{k} {v}" for k, v in report["ratios"].items()))
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
