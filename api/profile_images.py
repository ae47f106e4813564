"""Profile images: the `avatar` and `header` parts of a multipart `update_credentials`, stored as media.

Only images are accepted (2 MB each, Mastodon's limit), processed like attachments (re-encoded, EXIF
dropped, downscaled past the usual bound) and stored in the media store. The account keeps URLs only:
`avatar` / `header` is the original, `*_static` the same unless it is animated, then its still preview.
The other parts are the form's text fields, returned as `Params` (the query string merged in).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from aiohttp import BodyPartReader, web
from multidict import MultiDict

from api.config import CONFIG, MB, MediaLimits
from api.errors import unprocessable
from api.media import MEDIA_STORE
from api.media_processing import UnprocessableMedia, process_image
from api.media_store import new_keys
from api.media_types import GIF, WEBP
from api.media_upload import save_file
from api.params import MAX_BODY, Params

IMAGES = ("avatar", "header")
IMAGE_BYTES = 2 * MB
ANIMATABLE = (GIF, WEBP)


async def read_profile_form(request: web.Request, work: Path) -> tuple[Params, dict[str, str]]:
    """Return the text parameters of a multipart update and the URLs of the images it stored."""
    limits = dataclasses.replace(request.app[CONFIG].media_limits, image_bytes=IMAGE_BYTES)
    body: MultiDict[str] = MultiDict()
    urls: dict[str, str] = {}
    text_bytes = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise unprocessable("nested or unnamed multipart parts are not accepted")
        if part.name in IMAGES:
            if part.name + "_static" not in urls:  # one image per kind; a repeat is ignored
                urls |= await _store_image(request, part, work, limits)
            else:
                await part.release()
            continue
        text = await part.text()
        text_bytes += len(text)
        if text_bytes > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=text_bytes)
        body.add(part.name, text)
    values: MultiDict[str] = MultiDict(request.query)
    for key in body:
        values.popall(key, None)  # the body wins over the query string, as read_params
    values.extend(body)
    return Params(values), urls


async def _store_image(request: web.Request, part: BodyPartReader, work: Path, limits: MediaLimits) -> dict[str, str]:
    name = part.name or ""
    folder = work / name
    folder.mkdir()
    found, _ = await save_file(part, folder / "upload", limits, name.capitalize(), image=True)
    try:
        processed = await asyncio.to_thread(process_image, folder / "upload", found, folder, limits)
    except UnprocessableMedia as error:
        raise unprocessable(f"{name}: {error}") from None
    store, keys = request.app[MEDIA_STORE], new_keys()
    original = keys.key("original", processed.original_format.extension)
    await store.put_file(original, processed.original, processed.original_format.mime)
    url = store.url(original)
    static = url
    if processed.original_format in ANIMATABLE:  # possibly animated: the still preview is the static image
        small = keys.key("small", processed.preview_format.extension)
        await store.put_file(small, processed.preview, processed.preview_format.mime)
        static = store.url(small)
    return {name: url, f"{name}_static": static}
