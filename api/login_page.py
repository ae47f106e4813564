"""The HTML of the authorization page, and the CSRF token that binds its form to the request that showed it.

Every user string is escaped. No JavaScript: a plain form posts back to `/oauth/authorize`. The page may not
be framed (clickjacking) and is never cached.

CSRF: the GET sets a random nonce in an HttpOnly, SameSite=Lax cookie and puts in the form
`issued.HMAC(server key, nonce | authorization parameters | issued)`. A POST is honoured only if the
cookie's nonce, the submitted parameters and the token agree and the token is under an hour old, so another
site can neither forge the form nor replay it for other parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from html import escape

from aiohttp import web

FORM_TTL_S = 3_600
CSRF_COOKIE = "tusk_oauth_csrf"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
STYLE = (
    "body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.5rem}button{padding:.6rem}"
    ".error{color:#a00}code{font-size:1.2rem;word-break:break-all}"
)


def form_token(key: bytes, nonce: str, bound: Iterable[str], issued_s: int) -> str:
    """Return the CSRF token binding a form to `nonce` (the cookie) and the authorization parameters."""
    message = "\x1f".join([nonce, *bound, str(issued_s)]).encode()
    return f"{issued_s}.{hmac.new(key, message, hashlib.sha256).hexdigest()}"


def token_valid(key: bytes, token: str, nonce: str, bound: Iterable[str], now_s: int) -> bool:
    """Whether `token` was made by `form_token` for this nonce and parameters, less than an hour ago."""
    issued, _, _ = token.partition(".")
    if not issued.isdigit() or not 0 <= now_s - int(issued) <= FORM_TTL_S or not nonce:
        return False
    return hmac.compare_digest(token, form_token(key, nonce, bound, int(issued)))


def new_nonce() -> str:
    """Return a fresh CSRF cookie value."""
    return secrets.token_urlsafe(24)


def consent_page(
    *,
    app_name: str,
    scopes: list[str],
    hidden: dict[str, str],
    lang: str,
    error: str | None = None,
    login: str = "",
) -> str:
    """Return the login + consent form."""
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    scope_items = "".join(f"<li>{escape(scope)}</li>" for scope in scopes)
    body = (
        f"<h1>Authorize {escape(app_name)}</h1>"
        f"<p>{escape(app_name)} asks for access to your account with these permissions:</p><ul>{scope_items}</ul>"
        + (f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        + f'<form method="post" action="/oauth/authorize">{fields}'
        f'<label for="login">Username or email</label>'
        f'<input id="login" name="login" autocomplete="username" value="{escape(login)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password">'
        '<button name="decision" value="approve">Authorize</button>'
        '<button name="decision" value="deny">Deny</button></form>'
    )
    return _document("Authorize " + app_name, body, lang)


def code_page(code: str, lang: str) -> str:
    """Return the page showing an out-of-band authorization code."""
    body = f"<h1>Authorization code</h1><p>Paste this code into the application:</p><code>{escape(code)}</code>"
    return _document("Authorization code", body, lang)


def error_page(message: str, lang: str = "en") -> str:
    """Return a page explaining why the authorization request cannot go on."""
    return _document(
        "Authorization failed", f'<h1>Authorization failed</h1><p class="error">{escape(message)}</p>', lang
    )


def html_response(text: str, status: int = 200) -> web.Response:
    """Return `text` as an HTML page with the page's security headers."""
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


def set_nonce_cookie(response: web.Response, nonce: str, *, secure: bool) -> web.Response:
    """Attach the CSRF nonce cookie (HttpOnly, SameSite=Lax, only sent back to the authorization page)."""
    response.set_cookie(
        CSRF_COOKIE, nonce, path="/oauth/authorize", httponly=True, samesite="Lax", max_age=FORM_TTL_S, secure=secure
    )
    return response


def _document(title: str, body: str, lang: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
