"""PKCE (RFC 7636) with S256 only, as Mastodon 4.3: `plain` would hand the verifier to whoever sees the request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

METHOD = "S256"
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def challenge_of(verifier: str) -> str:
    """Return the S256 challenge of `verifier`: unpadded base64url of its SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(verifier: str, challenge: str) -> bool:
    """Whether `verifier` is well-formed and hashes to `challenge` (constant-time comparison)."""
    return bool(VERIFIER.fullmatch(verifier)) and hmac.compare_digest(challenge_of(verifier), challenge)
