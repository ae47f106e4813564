"""Core's ids: the shared scheme (`modules.ids`), and which depot is which source of status ids.

Status and boost ids share one space and come from three depots of the statuses topology, each its own
source (its own clock on each task), so the order in which a task takes records from them never changes
an id. Every other kind core issues comes from one depot (source 0): accounts (`*accounts`), media
(`*media`), scheduled statuses (`*statuses`), and the entries of favourites, bookmarks and pins, which
keep their own sources (`account_lists`) so the three lists' entry ids stay distinct on a task.
"""

from __future__ import annotations

# Re-exported: core's files and the modules that read core's ids import them from here.
from modules.ids import LOW_BITS as LOW_BITS
from modules.ids import MAX_TASKS as MAX_TASKS
from modules.ids import first_id_at as first_id_at
from modules.ids import issue_id as issue_id
from modules.ids import next_id as next_id
from modules.ids import parse as parse
from modules.ids import render as render
from modules.ids import task_key as task_key
from modules.ids import time_of as time_of

STATUS_CLOCK = "$$status_id_clock"
STATUSES_SOURCE = 0  # *statuses: creates
REBLOGS_SOURCE = 1  # *reblogs: boosts
TICK_SOURCE = 2  # *content_tick: scheduled statuses published
