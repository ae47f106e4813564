"""Errors of a worker's task hosts (their own module so the runners and the host can both import them)."""

from __future__ import annotations

from pstates.errors import TuskError


class NotOwnedError(TuskError):
    """A request for a task this worker does not run (any more, or not yet)."""


class TaskUnavailableError(NotOwnedError):
    """No owner answered a read of a task within the bound (a rebalance, a dead worker): retry later."""


class StoreLockedError(TuskError):
    """A task's store stayed locked by another process past the wait bound."""
