"""Media: upload (v1 and v2), show and update an unattached attachment, serve locally stored files.

Every media route needs `write:media` (as Mastodon, reading one's own unattached media too) and a user
token. An attachment is visible here only to its uploader and only until a status uses it (Mastodon's
`current_account.media_attachments.where(status_id: nil)`): otherwise 404. Processing is synchronous, so
v1 and v2 answer 200 with the URL for images; for video and audio v2 answers 202 with `url: null`, as
Mastodon does for the media it processes in the background, and `GET /api/v1/media/:id` then has the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import uuid
from pathlib import Path

from aiohttp import web
from multidict import MultiDict

from api.config import CONFIG, ApiConfig, MediaLimits, Route
from api.errors import not_found, unprocessable
from api.media_catalog import CoreMediaCatalog, Media, MediaCatalog
from api.media_entity import attachment
from api.media_ingest import UnprocessableMedia, store_upload, stored_keys
from api.media_store import InvalidKey, LocalMediaStore, MediaStore, check_key, open_store
from api.media_types import EXTENSIONS
from api.media_upload import receive
from api.oauth import require_user
from api.params import Params, read_params
from api.responses import json_response
from cluster.client import ClusterClient
from modules.core.ids import parse

MEDIA_STORE = web.AppKey("media_store", MediaStore)
MEDIA_CATALOG = web.AppKey("media_catalog", MediaCatalog)
SCOPE = "write:media"
MAX_KEY_CHARS = 64
SERVED_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",  # a key's bytes never change
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",  # a stored file can never run as a page
}


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/api/v1/media", create_v1),
        ("POST", "/api/v2/media", create_v2),
        ("GET", "/api/v1/media/{id}", show),
        ("PUT", "/api/v1/media/{id}", update),
        ("GET", "/system/{key:media/.+}", serve_local),
    ]


def install(app: web.Application, client: ClusterClient, config: ApiConfig) -> None:
    """Give `app` the configured store and core's catalog, and close the store with the app."""
    app[MEDIA_STORE] = open_store(config.media_store, config.base_url)
    app[MEDIA_CATALOG] = CoreMediaCatalog(client)

    async def close_store(app: web.Application) -> None:
        await app[MEDIA_STORE].close()

    app.on_cleanup.append(close_store)


async def create_v1(request: web.Request) -> web.Response:
    """POST /api/v1/media: upload and process a file, answer when it is stored."""
    return await _create(request, background_types=())


async def create_v2(request: web.Request) -> web.Response:
    """POST /api/v2/media: as v1, but 202 with `url: null` for the types Mastodon processes later."""
    return await _create(request, background_types=("video", "gifv", "audio"))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/media/:id: the caller's unattached attachment."""
    account = await require_user(request, SCOPE)
    return json_response(attachment(await _unattached(request, account)))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v1/media/:id: change the description and / or focal point of an unattached attachment."""
    account = await require_user(request, SCOPE)
    params = await read_params(request)
    found = await _unattached(request, account)
    changes = describe(params, request.app[CONFIG].media_limits)
    if changes:
        await request.app[MEDIA_CATALOG].update(account, found["id"], changes)
        found = await _unattached(request, account)
    return json_response(attachment(found))


async def serve_local(request: web.Request) -> web.StreamResponse:
    """GET /system/<key>: a file of the local store, with the type its server-made extension names."""
    store = request.app[MEDIA_STORE]
    try:
        key = check_key(request.match_info["key"])
    except InvalidKey:
        raise not_found() from None
    if not isinstance(store, LocalMediaStore) or not store.path(key).is_file():
        raise not_found()
    headers = {**SERVED_HEADERS, "Content-Type": EXTENSIONS[key.rsplit(".", 1)[1]].mime}
    return web.FileResponse(store.path(key), headers=headers)


def describe(params: Params, limits: MediaLimits) -> Media:
    """Return the `description` and `focus` given in `params`, validated (only those given)."""
    changes: Media = {}
    if params.has("description"):
        changes["description"] = params.string("description", most=limits.description_chars)
    if params.has("focus"):
        changes["focus"] = parse_focus(params.string("focus", most=64) or "")
    return changes


def parse_focus(text: str) -> dict[str, float] | None:
    """Return Mastodon's focal point "x,y" (each within -1.0..1.0) as {"x", "y"}; "" clears it."""
    if not text.strip():
        return None
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:
        raise unprocessable('focus must be two numbers "x,y"') from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise unprocessable("focus coordinates must be within -1.0 and 1.0")
    return {"x": x, "y": y}


async def _create(request: web.Request, *, background_types: tuple[str, ...]) -> web.Response:
    account = await require_user(request, SCOPE)
    limits = request.app[CONFIG].media_limits
    with tempfile.TemporaryDirectory(prefix="tusk-media-") as work:
        upload = await receive(request, Path(work), limits)
        if upload.path is None:
            raise unprocessable("File can't be blank")
        changes = describe(Params(MultiDict(upload.fields)), limits)
        try:
            stored = await store_upload(request.app[MEDIA_STORE], upload, Path(work), limits)
        except UnprocessableMedia as error:
            raise unprocessable(str(error)) from None
    metadata = {"remote_url": None, "description": None, "focus": None, **stored, **changes}
    try:
        media_id = await request.app[MEDIA_CATALOG].create(account, _request_uuid(request), metadata)
    except BaseException:
        await _forget(request.app[MEDIA_STORE], stored_keys(stored))  # unrecorded files would never be found
        raise
    found = await _unattached(request, account, media_id)
    later = found["type"] in background_types
    return json_response(attachment(found, processing=later), status=202 if later else 200)


async def _unattached(request: web.Request, account: int, media_id: int | None = None) -> Media:
    """Return the caller's media `media_id` (from the path if None) while no status uses it, else 404."""
    if media_id is None:
        text = request.match_info["id"]
        if not text.isdigit() or len(text) > 19:
            raise not_found()
        media_id = parse(text)
    found = await request.app[MEDIA_CATALOG].get([media_id])
    if not found or found[0]["account"] != account or found[0].get("status") is not None:
        raise not_found()
    return found[0]


async def _forget(store: MediaStore, keys: list[str]) -> None:
    for key in keys:
        with contextlib.suppress(Exception):  # best effort: the original error is the one to report
            await store.delete(key)


def _request_uuid(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return f"media-{uuid.uuid4()}"
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()
