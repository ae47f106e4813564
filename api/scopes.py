"""OAuth scopes as Mastodon defines them, and the one check every handler makes: `require`.

A granted scope covers itself and every scope below it: `read` covers `read:statuses`, `admin:read` covers
`admin:read:accounts`. The deprecated `follow` covers the relationship scopes (`read:` and `write:` of
`blocks`, `follows`, `mutes`). `profile` covers only itself (verify_credentials and userinfo accept it).
Tokens arrive as `Authorization: Bearer ...` (or `access_token=` in the query, for streaming clients) and
are looked up by their SHA-256 digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web

from api.config import CLIENT
from api.errors import ApiError, forbidden, unauthorized

AUTH = "auth"
READ = "accounts blocks bookmarks collections favourites filters follows lists mutes notifications search statuses"
WRITE = (
    "accounts blocks bookmarks collections conversations favourites filters follows lists media mutes "
    "notifications reports statuses"
)
ADMIN = "accounts reports domain_allows domain_blocks ip_blocks email_domain_blocks canonical_email_blocks"
TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
SCOPES: tuple[str, ...] = (
    TOP_LEVEL
    + tuple(f"read:{name}" for name in READ.split())
    + tuple(f"write:{name}" for name in WRITE.split())
    + tuple(f"admin:{mode}:{name}" for mode in ("read", "write") for name in ADMIN.split())
)
KNOWN = frozenset(SCOPES)
FOLLOW_GRANTS = frozenset(f"{mode}:{name}" for mode in ("read", "write") for name in ("blocks", "follows", "mutes"))
DEFAULT_SCOPES = ("read",)


def covers(granted: frozenset[str] | set[str] | list[str], scope: str) -> bool:
    """Whether `granted` includes `scope`: itself, an ancestor (`read` for `read:x`), or legacy `follow`."""
    parts = scope.split(":")
    ancestors = {":".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return not ancestors.isdisjoint(granted) or ("follow" in granted and scope in FOLLOW_GRANTS)


def parse_scopes(text: str | None) -> list[str]:
    """Return the scopes of a space- (or plus-) separated parameter, `read` if empty; 422 for unknown ones."""
    scopes = (text or "").replace("+", " ").split() or list(DEFAULT_SCOPES)
    unknown = [s for s in scopes if s not in KNOWN]
    if unknown:
        raise ApiError(422, f"Validation failed: unknown scope {unknown[0]!r}")
    return list(dict.fromkeys(scopes))


def within(requested: list[str], allowed: list[str]) -> bool:
    """Whether every requested scope is one `allowed` covers (an app may ask for less than it registered)."""
    return all(covers(allowed, scope) for scope in requested)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the token's account (None for an app-only token), its scopes and app."""

    account: int | None
    scopes: frozenset[str]
    client_id: str
    token_hash: str = ""

    def allows(self, scope: str) -> bool:
        """Whether the token grants `scope`."""
        return covers(self.scopes, scope)


def digest(secret: str) -> str:
    """Return the SHA-256 hex digest a token, code or client secret is stored as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer_token(request: web.Request) -> str | None:
    """Return the request's bearer token, if it carries one."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.query.get("access_token")
    return token or None


async def principal(request: web.Request) -> Principal | None:
    """Return who the bearer token of `request` belongs to, None without one; 401 for an invalid one."""
    token = bearer_token(request)
    if token is None:
        return None
    token_hash = digest(token)
    found = await request.app[CLIENT].query(AUTH, "token", token_hash)
    if found is None:
        raise unauthorized()
    return Principal(found["account"], frozenset(found["scopes"]), found["client_id"], token_hash)


async def require(request: web.Request, *scopes: str) -> Principal:
    """Return the caller, whose token must grant one of `scopes` (any valid token if none): 401 / 403."""
    caller = await principal(request)
    if caller is None:
        raise unauthorized()
    if scopes and not any(caller.allows(scope) for scope in scopes):
        raise forbidden()
    return caller


async def require_user(request: web.Request, *scopes: str) -> int:
    """Return the caller's account id: `require`, and the token must belong to a user (422 otherwise)."""
    caller = await require(request, *scopes)
    if caller.account is None:
        raise ApiError(422, "This method requires an authenticated user")
    return caller.account


async def optional(request: web.Request, *scopes: str) -> Principal | None:
    """Return the caller of a public route: None without a token; a token given must grant one of `scopes`."""
    if bearer_token(request) is None:
        return None
    return await require(request, *scopes)
