"""Where a cluster keeps its depots, chosen by URL: local segment logs (the default) or Kafka topics.

| URL | each depot of each module is |
|---|---|
| `segment://` | a segment log in the data directory: `DATA/<module>/depots/<depot>/` |
| `segment:///ROOT` | a segment log in `ROOT/<module>/depots/<depot>/` (another cluster's depots, for a replay) |
| `kafka://HOST:PORT[,HOST:PORT...][/NAMESPACE][?OPTIONS]` | topic `NAMESPACE.<module>.<depot>` (namespace: `tusk`) |

Kafka options (query string): `connect_timeout_s` (default 10: how long to wait for the broker at open) and
`outage_timeout_s` (default 60: how long produces and reads retry a broker that stopped answering before
they fail with `BrokerUnavailableError`; a restart within it is a clean retry).

Depot partition p is topic partition p. A namespace lets clusters share a broker without sharing depots; a
restarted cluster must name the same broker and namespace as its data directory was built on (the runners
refuse committed offsets past a depot's end, which is what a lost or foreign depot looks like).
"""

from __future__ import annotations

import asyncio
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cluster.runtime import file_name_for
from depots.kafka_broker import BrokerSession, BrokerSettings
from depots.kafka_log import KafkaDepotLog
from depots.log import DepotLog, FsyncPolicy
from depots.segment_log import SegmentLog
from topology.module import ModuleDefinition

DEFAULT_DEPOTS_URL = "segment://"
DEFAULT_NAMESPACE = "tusk"
_MAX_TOPIC_CHARS = 249  # Kafka's limit on a topic name


class DepotStorage(ABC):
    """Opens the log of each depot of the modules a cluster launches."""

    @abstractmethod
    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """Open (creating if needed) the log of `module`'s `depot` with `partitions` partitions."""

    @abstractmethod
    async def close(self) -> None:
        """Release what the logs share (connections); call after every log is closed."""

    async def open_logs(self, definition: ModuleDefinition, tasks: int) -> dict[str, DepotLog]:
        """Open the log of every depot `definition` declares; on failure close those already open."""
        logs: dict[str, DepotLog] = {}
        try:
            for name, spec in definition.depots.items():
                logs[name] = await self.open_log(definition.name, name, spec.partition_count(tasks))
        except BaseException:
            for opened in logs.values():
                await opened.close()
            raise
        return logs


class SegmentStorage(DepotStorage):
    """Depots as segment logs under the data directory, synced as `fsync` says."""

    def __init__(self, data_dir: Path, fsync: FsyncPolicy) -> None:
        self.data_dir = data_dir
        self.fsync = fsync

    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """Open the segment log in `DATA/<module>/depots/<depot>/`."""
        return SegmentLog.open(self.data_dir / module / "depots" / file_name_for(depot), partitions, fsync=self.fsync)

    async def close(self) -> None:
        """Nothing to release: each segment log holds only its own files."""


class KafkaStorage(DepotStorage):
    """Depots as topics of a Kafka-protocol broker, over one session shared by every log of the cluster.

    The session connects on the first `open_log`, on the running event loop, and every log stays on it.
    This process must be the only producer to the topics (see `depots.kafka_log`).
    """

    def __init__(
        self,
        bootstrap: str,
        namespace: str = DEFAULT_NAMESPACE,
        connect_timeout_s: float = 10.0,
        outage_timeout_s: float = 60.0,
    ) -> None:
        if not bootstrap:
            raise ValueError("a Kafka depot storage needs a bootstrap address, e.g. kafka://127.0.0.1:9092")
        if connect_timeout_s <= 0 or outage_timeout_s <= 0:
            raise ValueError("Kafka timeouts must be positive")
        self.settings = BrokerSettings(
            bootstrap, connect_timeout_s=connect_timeout_s, outage_timeout_s=outage_timeout_s
        )
        self.namespace = topic_part(namespace)
        self._session: BrokerSession | None = None
        self._connecting: asyncio.Lock | None = None
        self.fence: Callable[[], None] | None = None  # given to every log it opens (`GroupCommitLog.fence`)

    def topic_for(self, module: str, depot: str) -> str:
        """The topic holding `module`'s `depot`: stable, unique per (namespace, module, depot), Kafka-legal."""
        topic = f"{self.namespace}.{topic_part(module)}.{topic_part(depot)}"
        if len(topic) > _MAX_TOPIC_CHARS:
            raise ValueError(f"topic name {topic[:60]}... is over Kafka's {_MAX_TOPIC_CHARS} characters")
        return topic

    async def session(self) -> BrokerSession:
        """The broker session every log of this storage shares, connected on first use.

        Task hosts open their logs side by side: without the lock, two first uses both connected and the
        second session replaced the first, whose connections nobody closed (an unclosed aiokafka connection
        reported later by the garbage collector).
        """
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._session is None:
                self._session = await BrokerSession.connect(self.settings)
            return self._session

    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """Open the log on topic `topic_for(module, depot)`, creating the topic if needed."""
        log = await KafkaDepotLog.open_on(await self.session(), self.topic_for(module, depot), partitions)
        log.fence = self.fence
        return log

    async def close(self) -> None:
        """Close the shared broker session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def open_depot_storage(url: str, data_dir: Path, fsync: FsyncPolicy) -> DepotStorage:
    """The depot storage named by `url` (see the module docstring); `fsync` applies to segment logs."""
    parts = urlsplit(url)
    if parts.scheme == "segment" and not parts.netloc:
        return SegmentStorage(Path(parts.path) if parts.path else data_dir, fsync)
    if parts.scheme == "kafka":
        namespace = parts.path.strip("/") or DEFAULT_NAMESPACE
        return KafkaStorage(parts.netloc, namespace, **_kafka_options(url, parts.query))
    raise ValueError(f"unknown depots URL {url!r}: expected segment://[/ROOT] or kafka://HOST:PORT[/NAMESPACE]")


def _kafka_options(url: str, query: str) -> dict[str, float]:
    """The timeouts a kafka:// URL's query sets (see the module docstring); refuse unknown ones."""
    options: dict[str, float] = {}
    for name, values in parse_qs(query, strict_parsing=bool(query)).items():
        if name not in ("connect_timeout_s", "outage_timeout_s"):
            raise ValueError(f"unknown option {name!r} in depots URL {url!r}: connect_timeout_s, outage_timeout_s")
        try:
            options[name] = float(values[-1])
        except ValueError:
            raise ValueError(f"option {name} of depots URL {url!r} must be a number of seconds") from None
    return options


def topic_part(name: str) -> str:
    """A Kafka-legal, dot-free rendering of a module, depot or namespace name (`*statuses` -> `statuses`).

    A name that needed other changes gets its CRC appended, so `*a!` and `*a?` do not share a topic; dots
    are replaced because they separate the parts of a topic name.
    """
    stripped = name.lstrip("*")
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in stripped)
    if safe == stripped and safe:
        return safe
    return f"{safe}-{zlib.crc32(name.encode()):08x}"
