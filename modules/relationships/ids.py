"""Ids of lists and filters: the scheme every module shares (`modules.ids`), each kind from one depot.

Lists come from `*lists` and filters, their keywords and statuses from the filters depot, so each kind
uses source 0 and its own clock per task: a retry or a replay of a record issues the same id.
"""

from __future__ import annotations

# Re-exported: the relationships module's files import them from here.
from modules.ids import issue_id as issue_id
from modules.ids import next_id as next_id
from modules.ids import task_key as task_key
