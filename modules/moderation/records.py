"""Record shapes of the moderation depots and their validation.

    *reports  {"op": "file", "uuid": str, "reporter": id, "target": id, "status_ids": [id], "comment": str,
               "category": "spam" | "legal" | "violation" | "other", "rule_ids": [str], "forward": bool}
                                                                                 partitioned by reporter

The caller resolves what lives in other modules (the target exists, the statuses are the target's, the
rules are the server's); this module checks shapes and bounds, and that nobody reports themselves.
A report citing rules is a `violation` whatever category it names, as Mastodon.
"""

from __future__ import annotations

from typing import Any

from topology.context import RecordRejected

Record = dict[str, Any]

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT_CHARS = 1_000
MAX_UUID_CHARS = 64
MAX_STATUSES = 100
MAX_RULES = 100
MAX_RULE_ID_CHARS = 20
MAX_ID = (1 << 63) - 1


def reporter_of(record: object) -> object:
    """Return the reporter a record is partitioned by (None for a malformed record: the topology rejects it)."""
    return record.get("reporter") if isinstance(record, dict) else None


def check_id(value: object, what: str) -> int:
    """Return a positive 64-bit id, rejecting anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise RecordRejected(f"{what} must be a positive 64-bit id")
    return value


def check_report(record: Record) -> Record:
    """Return a report's fields, validated and normalized."""
    reporter, target = check_id(record.get("reporter"), "reporter"), check_id(record.get("target"), "target")
    if reporter == target:
        raise RecordRejected("an account cannot report itself")
    rule_ids = _rule_ids(record.get("rule_ids", []))
    return {
        "uuid": _uuid(record.get("uuid")),
        "reporter": reporter,
        "target": target,
        "status_ids": _status_ids(record.get("status_ids", [])),
        "comment": _comment(record.get("comment", "")),
        "category": "violation" if rule_ids else _category(record.get("category", "other")),
        "rule_ids": rule_ids,
        "forward": _forward(record.get("forward", False)),
    }


def _uuid(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_UUID_CHARS:
        raise RecordRejected(f"uuid must be a string of 1 to {MAX_UUID_CHARS} characters")
    return value


def _status_ids(value: object) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_STATUSES:
        raise RecordRejected(f"status_ids must be a list of at most {MAX_STATUSES} ids")
    return sorted({check_id(item, "status_ids") for item in value})


def _comment(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_COMMENT_CHARS:
        raise RecordRejected(f"comment must be a string of at most {MAX_COMMENT_CHARS} characters")
    return value


def _category(value: object) -> str:
    if value not in CATEGORIES:
        raise RecordRejected(f"category must be one of {', '.join(CATEGORIES)}")
    return str(value)


def _rule_ids(value: object) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise RecordRejected(f"rule_ids must be a list of at most {MAX_RULES} ids")
    for item in value:
        if not isinstance(item, str) or not item.isdigit() or len(item) > MAX_RULE_ID_CHARS:
            raise RecordRejected("rule_ids must hold rule ids (decimal strings)")
    return sorted(set(value), key=int)


def _forward(value: object) -> bool:
    if not isinstance(value, bool):
        raise RecordRejected("forward must be a boolean")
    return value
