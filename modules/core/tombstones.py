"""What a `$$statuses` value is: a status, or the tombstone a delete leaves behind."""

from __future__ import annotations

from typing import Any


def is_live(status: dict[str, Any] | None) -> bool:
    """Whether a `$$statuses` value is a status, not a tombstone or a miss."""
    return status is not None and "deleted_at" not in status
