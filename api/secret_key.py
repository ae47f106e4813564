"""The instance's secret key: what every API server of one instance shares to sign what another may check.

Today it signs the authorization page's CSRF tokens (`login_page.form_token`). One process (`tusk run`) may
keep a random key, since a restart only expires the forms open at the time; several stateless API servers
behind one load balancer (`tusk api`) must share it, or a form shown by one server is refused by the one
that receives the POST. Like Mastodon's SECRET_KEY_BASE, operators give it in a file or an environment
variable, never on the command line (where `ps` would show it).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

SECRET_ENV = "TUSK_SECRET_KEY"
MIN_SECRET_CHARS = 32  # e.g. the output of `openssl rand -hex 32` (64 characters)


class SecretKeyError(ValueError):
    """The configured secret key cannot be used (missing file, too short)."""


def form_key(secret: str) -> bytes:
    """Derive the CSRF signing key from the instance secret (a label keeps future uses' keys apart)."""
    return hashlib.sha256(b"tusk form key\x00" + secret.encode()).digest()


def configured_secret(path: Path | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret from `path` (if given) or `$TUSK_SECRET_KEY`, stripped; None when neither is set."""
    if path is not None:
        try:
            secret = path.read_text().strip()
        except OSError as error:
            raise SecretKeyError(f"cannot read the secret key file {path}: {error.strerror}") from error
        source = str(path)
    elif environ.get(SECRET_ENV):
        secret, source = environ[SECRET_ENV].strip(), f"${SECRET_ENV}"
    else:
        return None
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretKeyError(
            f"the secret key in {source} has {len(secret)} characters; use at least {MIN_SECRET_CHARS}"
            " (e.g. `openssl rand -hex 32`)"
        )
    return secret
