"""Exceptions raised by the engine's storage layers, each named for what a module author did wrong."""

from __future__ import annotations


class TuskError(Exception):
    """Base of every error the engine raises on purpose."""


class KeyEncodingError(TuskError, TypeError):
    """A PState key holds a value the order-preserving key codec cannot encode."""


class SchemaError(TuskError, TypeError):
    """A write does not match the PState's declared schema."""


class UnknownPStateError(TuskError, KeyError):
    """A PState name that no launched module declares."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown PState"


class PStateWriteError(TuskError, PermissionError):
    """A PState was written from outside its owning topology."""


class StoreClosedError(TuskError, RuntimeError):
    """The task's store was used after it was closed."""


class TransactionClosedError(TuskError, RuntimeError):
    """A transaction was used after it was committed or aborted."""
