"""Reports: `POST /api/v1/reports`, filed with the moderation module (idempotent by `Idempotency-Key`).

The handler resolves what the moderation module cannot see: the reported account exists (404), the attached
statuses are that account's (404 otherwise, as Mastodon finds them among the account's statuses), the cited
rules are this server's (422). Every account is local until federation, so nothing is forwarded yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from aiohttp import web

from api.config import CLIENT, CONFIG, Route
from api.entities import Entity, iso
from api.errors import not_found, unprocessable
from api.lookups import account_or_404, now_ms, parse_id
from api.params import Params, read_params
from api.responses import json_response
from api.scopes import require_user

CORE, MODERATION = "core", "moderation"
MAX_COMMENT_CHARS = 1_000
MAX_ATTACHED = 100
MAX_KEY_CHARS = 64  # the module's uuid limit: longer keys are hashed down to it


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("POST", "/api/v1/reports", create)]


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/reports: report an account, optionally with some of its statuses and the rules it broke."""
    reporter = await require_user(request, "write:reports")
    params = await read_params(request)
    target = parse_id(params.required("account_id", most=20))
    target_account = await account_or_404(request, target)
    record = {
        "op": "file",
        "uuid": _request_uuid(request),
        "reporter": reporter,
        "target": target,
        "status_ids": await _statuses_of(request, target, params.strings("status_ids", most=MAX_ATTACHED)),
        "comment": params.string("comment", most=MAX_COMMENT_CHARS, default="") or "",
        "category": params.string("category", most=20, default="other") or "other",
        "rule_ids": _server_rules(request, params),
        "forward": params.boolean("forward"),
    }
    appended = await request.app[CLIENT].append(MODERATION, "*reports", record)
    stored = await request.app[CLIENT].query(MODERATION, "report", appended.value)
    # A repeated key answers with the first report; a store still on its way (a hop in flight) with this one.
    found = stored or {**record, "id": appended.value, "category": _category(record), "created_at": now_ms(request)}
    if found["target"] != target:  # the key was first used to report someone else: answer with that report
        target_account = await account_or_404(request, found["target"])
    return json_response(report_entity(found, target_account))


def report_entity(found: dict[str, Any], target_account: Entity) -> Entity:
    """Render Mastodon's Report for a stored report and its rendered target."""
    return {
        "id": str(found["id"]),
        "action_taken": found.get("action_taken_at") is not None,
        "action_taken_at": None if found.get("action_taken_at") is None else iso(found["action_taken_at"]),
        "category": found["category"],
        "comment": found["comment"],
        "forwarded": False,
        "created_at": iso(found["created_at"]),
        "status_ids": [str(i) for i in found["status_ids"]],
        "rule_ids": [str(i) for i in found["rule_ids"]] or None,
        "target_account": target_account,
    }


async def _statuses_of(request: web.Request, target: int, texts: list[str]) -> list[int]:
    """Return the attached status ids; 404 unless each is a live status of `target`."""
    ids = sorted({parse_id(text) for text in texts})
    found = await asyncio.gather(*(request.app[CLIENT].query(CORE, "status", i) for i in ids))
    if any(status is None or status["author"] != target for status in found):
        raise not_found()
    return ids


def _server_rules(request: web.Request, params: Params) -> list[str]:
    """Return the cited rule ids; 422 unless each names one of this server's rules (ids are positions)."""
    cited = params.strings("rule_ids", most=MAX_ATTACHED)
    known = {str(n) for n in range(1, len(request.app[CONFIG].rules) + 1)}
    unknown = [rule for rule in cited if rule not in known]
    if unknown:
        raise unprocessable(f"Validation failed: rule {unknown[0]!r} is not one of this server's rules")
    return cited


def _category(record: dict[str, Any]) -> str:
    return "violation" if record["rule_ids"] else str(record["category"])


def _request_uuid(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return f"api-{uuid.uuid4()}"
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()
