"""`tusk bench engine`: the engine's hot paths beside raw rocksdict doing the same work, in one run.

Each engine figure has a raw twin measured in the same process on the same machine moments apart:

| engine operation                                   | raw rocksdict twin                                       |
|----------------------------------------------------|----------------------------------------------------------|
| depot append, `Ack.NONE`                           | WriteBatch puts of the same records, groups of 256       |
| depot append, `Ack.APPENDED` / `Ack.PROCESSED`     | the same, each group written with `sync=True`            |
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
import statistics
import struct
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import msgpack
from rocksdict import Options, Rdict, ReadOptions, WriteBatch, WriteOptions

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
        ctx.pstate("$$batch_rows").put_many(batch.values)  # each row is a [key, value] pair

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
        """20-row range reads/s: `items` from the start key under an upper bound (rocksdict's fastest way)."""
        unpackb, pack_key, unpack_key = msgpack.unpackb, _KEY.pack, _KEY.unpack_from
        items = self.series.items
        started = time.perf_counter()
        for key, inner in starts:
            prefix = pack_key(key)
            end = pack_key(key + 1)  # kept alive: rocksdict 0.3.29 does not own the bound's bytes
            bound = ReadOptions()
            bound.set_iterate_upper_bound(end)
            rows = [
                (unpack_key(raw_key, 8)[0], unpackb(raw))  # type: ignore[arg-type]  # raw mode: bytes
                for raw_key, raw in islice(items(from_key=prefix + pack_key(inner), read_opt=bound), RANGE_ROWS)
            ]
            del rows
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


async def _append_batches(cluster: InProcessCluster, count: int, ack: Ack, batch: int = 1_000) -> float:
    """Appends/s through `append_many`, `batch` records a call, 8 calls in flight."""
    started = time.perf_counter()
    batches = [[[i, _value(i)] for i in range(b, b + batch)] for b in range(0, count - batch + 1, batch)]

    async def worker(mine: list[list[list[Any]]]) -> None:
        for records in mine:
            await cluster.append_many("bench", "*batch_rows", records, ack=ack)

    await asyncio.gather(*(worker(batches[w::8]) for w in range(8)))
    return _rate(sum(len(b) for b in batches), time.perf_counter() - started)


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


def _point_reads(routed: list[tuple[Any, int]]) -> float:
    """`MapPState.get`s/s, each on the view of the key's owning task."""
    started = time.perf_counter()
    for view, key in routed:
        view.get(key)
    return _rate(len(routed), time.perf_counter() - started)


def _range_reads(ranged: list[tuple[Any, int, int]]) -> float:
    """20-row `SortedMap.range`s/s, each on the view of the key's owning task."""
    started = time.perf_counter()
    for view, key, start in ranged:
        view.range(key, start, limit=RANGE_ROWS)
    return _rate(len(ranged), time.perf_counter() - started)


# The ratios with bars: (engine operation, its raw twin), each pair measured back to back in every round.
BAR_PAIRS = {
    "microbatch_write": ("microbatch", "batch_put"),
    "point_read": ("point_read", "point_read"),
    "range_read": ("range_read", "range_read"),
}


async def _measure(
    root: Path, n: int, reads: int, series_outer: int, rounds: int
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, list[float]]]]:
    """Alternate engine and raw twin for `rounds` rounds; return each operation's best rate and every sample.

    On this shared VM the raw twin alone varies two-fold between runs, so a ratio of two bests can pair a
    disturbed side with an undisturbed one. The bars are judged on the median of per-round ratios instead:
    in each round the engine figure and its raw twin are measured back to back.
    """
    rng = random.Random(7)
    best: dict[str, dict[str, float]] = {"engine": {}, "raw": {}}
    samples: dict[str, dict[str, list[float]]] = {"engine": {}, "raw": {}}

    def keep(side: str, name: str, rate: float) -> None:
        best[side][name] = max(rate, best[side].get(name, 0.0))
        samples[side].setdefault(name, []).append(rate)

    raw = RawTwin(root / "raw")
    keys = list(range(n))
    values = [_value(i) for i in keys]
    raw.load_series(series_outer)
    try:
        async with InProcessCluster(root / "engine") as cluster:
            runtime = await cluster.launch(BenchModule(), tasks=4)
            series_rows = [[k, i, _value(i)] for k in range(series_outer) for i in range(SERIES_INNER)]
            await _timed_topology(cluster, "series_writer", "*series_rows", series_rows)
            rows = [[i, _value(i)] for i in range(n)]
            appends = max(2_000, n // 10)
            for _ in range(rounds):
                keep("raw", "batch_put", raw.batch_put(keys, values, group=10_000))
                keep("engine", "microbatch", await _timed_topology(cluster, "batch_writer", "*batch_rows", rows))
                keep("engine", "stream", await _timed_topology(cluster, "stream_writer", "*stream_rows", rows))
                keep("raw", "synced_group_put", raw.batch_put(keys[:appends], values[:appends], group=256, sync=True))
                keep("raw", "group_put", raw.batch_put(keys[:appends], values[:appends], group=256))
                for ack in Ack:
                    depot = "*stream_rows" if ack is Ack.PROCESSED else "*batch_rows"
                    keep("engine", f"append_{ack.value}", await _appends(cluster, depot, appends, ack))
                keep("engine", "append_many_appended", await _append_batches(cluster, appends, Ack.APPENDED))
                await cluster.controls.wait_idle(timeout_s=600)

                point_keys = [rng.randrange(n) for _ in range(reads)]
                keep("raw", "point_read", raw.point_reads(point_keys))
                views = [runtime.committed_view(t, "$$batch_rows") for t in range(runtime.tasks)]
                routed = [(views[runtime.task_of(k)], k) for k in point_keys]  # routing timed in the client figure
                keep("engine", "point_read", _point_reads(routed))
                keep("engine", "point_read_client", await _client_reads(cluster, point_keys))

                starts = [
                    (rng.randrange(series_outer), rng.randrange(SERIES_INNER - RANGE_ROWS)) for _ in range(reads // 4)
                ]
                keep("raw", "range_read", raw.range_reads(starts))
                series = [runtime.committed_view(t, "$$series") for t in range(runtime.tasks)]
                ranged = [(series[runtime.task_of(k)], k, i) for k, i in starts]
                keep("engine", "range_read", _range_reads(ranged))
    finally:
        raw.close()
    return best, samples


async def _client_reads(cluster: InProcessCluster, keys: list[int]) -> float:
    """Point reads/s through the async client API (routing included)."""
    rows = cluster.pstate("bench", "$$batch_rows")
    started = time.perf_counter()
    for key in keys:
        await rows.get(key)
    return _rate(len(keys), time.perf_counter() - started)


def run_engine_benchmark(*, quick: bool = False, plot: Path | None = None) -> dict[str, Any]:
    """Measure the engine and its raw twins; return the JSON report (and write a plot if asked)."""
    n, reads, series_outer, rounds = (20_000, 20_000, 100, 3) if quick else (200_000, 200_000, 1_000, 5)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-") as tmp:
        best, samples = asyncio.run(_measure(Path(tmp), n, reads, series_outer, rounds))
    engine, raw = best["engine"], best["raw"]
    per_round = {
        bar: [round(e / r, 3) for e, r in zip(samples["engine"][ours], samples["raw"][twin], strict=True)]
        for bar, (ours, twin) in BAR_PAIRS.items()
    }
    ratios = {bar: statistics.median(values) for bar, values in per_round.items()}
    best_ratios = {bar: round(engine[ours] / raw[twin], 3) for bar, (ours, twin) in BAR_PAIRS.items()}
    report: dict[str, Any] = {
        "benchmark": "engine",
        "quick": quick,
        "records": n,
        "rounds": rounds,
        "method": "engine and raw twin alternate each round; rates are the best of the rounds; ratios are the "
        "median of per-round ratios (each pair measured back to back)",
        "ratios_per_round": per_round,
        "ratios_of_best_rates": best_ratios,
        "engine_per_s": engine,
        "raw_rocksdict_per_s": raw,
        "pairs": {
            "append_none": [engine["append_none"], raw["group_put"]],
            "append_appended": [engine["append_appended"], raw["synced_group_put"]],
            "append_many_appended": [engine["append_many_appended"], raw["synced_group_put"]],
            "append_processed": [engine["append_processed"], raw["synced_group_put"]],
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
