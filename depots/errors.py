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
