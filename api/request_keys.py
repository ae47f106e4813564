"""The client uuid a create record carries, so that a retried request makes one thing, not two."""

from __future__ import annotations

import hashlib
import uuid

from aiohttp import web

MAX_KEY_CHARS = 64  # below the modules' uuid limits: longer keys are hashed down to it


def request_uuid(request: web.Request, kind: str) -> str:
    """Return `kind`'s uuid for this request: from its `Idempotency-Key`, else a fresh one (kept per account)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return f"{kind}-{uuid.uuid4()}"
    return hashlib.sha256(f"{kind}\n{key}".encode()).hexdigest()[:MAX_KEY_CHARS]
