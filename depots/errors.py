"""Exceptions a depot raises, before anything is written."""

from __future__ import annotations

from pstates.errors import TuskError


class RecordTooLargeError(TuskError, ValueError):
    """A record's encoded size is over the depot's limit; nothing was written."""


class UnserializableRecordError(TuskError, TypeError):
    """A record holds a value msgpack cannot encode; nothing was written."""


class UnknownDepotError(TuskError, KeyError):
    """A depot name that no launched module declares."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown depot"


class InternalDepotError(TuskError, PermissionError):
    """A client appended to an `internal` depot, which only topologies may append to."""


class CorruptLogError(TuskError, OSError):
    """A depot segment fails its CRC check somewhere other than a torn tail."""


class LogLayoutError(TuskError, ValueError):
    """A depot log directory was created with another layout (partition count, format version)."""


class LogInUseError(TuskError, OSError):
    """Another open log (in this process or another) holds the depot log directory."""


class LogFailedError(TuskError, OSError):
    """A depot log stopped accepting appends after a failed write or fsync; reopen it to recover."""


class LogClosedError(TuskError, RuntimeError):
    """A depot log was used after it was closed."""


class BrokerUnavailableError(TuskError, ConnectionError):
    """The Kafka broker could not be reached (or did not answer) within the configured bound."""


class PartitionOwnershipError(TuskError, RuntimeError):
    """A record landed at another offset than this log assigned: another producer wrote to the partition."""


class LostRecordsError(TuskError, RuntimeError):
    """The broker no longer has records it acknowledged (its storage lost them): the depot cannot go on."""


class RecordsNotReadyError(BrokerUnavailableError):
    """The broker answered a fetch below its high watermark without records (slow storage, or a hole)."""
