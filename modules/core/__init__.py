"""The core module: accounts, statuses, fanout to in-memory home timelines, and the hydrate query."""

from modules.core.module import Core

__all__ = ["Core"]
