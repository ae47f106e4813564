"""Request parameters: query string, JSON, form and multipart bodies read alike, validated on access.

Arrays arrive as `key[]=a&key[]=b`, as repeated `key=a&key=b`, or as JSON lists; `Params.strings` takes
all three. Booleans take Mastodon's spellings ("true", "1", "on", ...). A missing required parameter is a
400, a malformed one a 422, as Mastodon answers.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from multidict import MultiDict

from api.errors import bad_request, unprocessable

TRUE = frozenset({"true", "1", "on", "t", "yes"})
FALSE = frozenset({"false", "0", "off", "f", "no", ""})
MAX_BODY = 1 << 20


class Params:
    """The merged parameters of one request (the body wins over the query string)."""

    def __init__(self, values: MultiDict[Any]) -> None:
        self._values = values

    def has(self, name: str) -> bool:
        """Whether `name` (or `name[]`) was given."""
        return name in self._values or f"{name}[]" in self._values

    def string(self, name: str, *, required: bool = False, most: int = 5_000, default: str | None = None) -> str | None:
        """Return the string `name`, at most `most` characters."""
        value = self._values.get(name)
        if value is None:
            if required:
                raise bad_request(f"Missing required parameter: {name}")
            return default
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str):
            raise unprocessable(f"{name} must be a string")
        if len(value) > most:
            raise unprocessable(f"{name} is too long (maximum is {most} characters)")
        return value

    def required(self, name: str, most: int = 5_000) -> str:
        """Return the string `name`, a 400 if it is missing."""
        value = self.string(name, required=True, most=most)
        assert value is not None
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """Return the integer `name` clamped to [low, high] (Mastodon clamps limits), 422 if not a number."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise unprocessable(f"{name} must be an integer") from None
        return max(low, min(high, number))

    def boolean(self, name: str, default: bool = False) -> bool:
        """Return the boolean `name`."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text not in TRUE | FALSE:
            raise unprocessable(f"{name} must be a boolean")
        return text in TRUE

    def strings(self, name: str, most: int = 100) -> list[str]:
        """Return the array `name` from `name[]=`, repeated `name=` or a JSON list."""
        values: list[Any] = self._values.getall(f"{name}[]", []) + self._values.getall(name, [])
        flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
        if len(flat) > most or not all(isinstance(item, str | int) for item in flat):
            raise unprocessable(f"{name} must be a list of at most {most} strings")
        return [str(item) for item in flat]

    def nested(self, name: str) -> Params:
        """Return the parameters under `name`: form fields `name[key]=`, or a JSON object (or list) `name`."""
        inner: MultiDict[Any] = MultiDict()
        value = self._values.get(name)
        if isinstance(value, dict):
            inner.extend(value)
        elif isinstance(value, list):  # a JSON list of objects reads like Rails' indexed hash: "0", "1", ...
            inner.extend((str(n), item) for n, item in enumerate(value))
        prefix = f"{name}["
        for key, item in self._values.items():
            sub, closed, rest = key[len(prefix) :].partition("]")
            if key.startswith(prefix) and closed:
                inner.add(sub + rest, item)  # "name[0][value]" -> "0[value]"
        return Params(inner)

    def names(self) -> list[str]:
        """Return the distinct top-level names given, in order (`a[b]` counts as `a`)."""
        return list(dict.fromkeys(key.partition("[")[0] for key in self._values))


async def read_params(request: web.Request) -> Params:
    """Return the query string merged with the body, whatever its content type."""
    values: MultiDict[Any] = MultiDict(request.query)
    if request.can_read_body:
        if (request.content_length or 0) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length or 0)
        body = await _body(request)
        for key in body:
            values.popall(key, None)
        values.extend(body)
    return Params(values)


async def _body(request: web.Request) -> MultiDict[Any]:
    if request.content_type == "application/json":
        try:
            decoded = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise bad_request("Request body is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise bad_request("Request body must be a JSON object")
        return MultiDict(decoded)
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return MultiDict(await request.post())
    return MultiDict()
