"""Password hashing: scrypt with a random per-user salt; the parameters travel with the hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's cost parameters; the default is the interactive-login setting (16 MiB, ~50 ms)."""

    n: int = 2**14
    r: int = 8
    p: int = 1


def hash_password(password: str, cost: ScryptCost = ScryptCost()) -> dict[str, Any]:
    """Return the stored form of `password`: {"salt", "hash", "n", "r", "p"} (hex strings, ints)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost.n, cost.r, cost.p)
    return {"salt": salt.hex(), "hash": digest.hex(), "n": cost.n, "r": cost.r, "p": cost.p}


def verify_password(password: str, stored: dict[str, Any]) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    digest = _scrypt(password, bytes.fromhex(stored["salt"]), stored["n"], stored["r"], stored["p"])
    return hmac.compare_digest(digest.hex(), stored["hash"])


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)
