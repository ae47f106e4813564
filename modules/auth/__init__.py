"""The auth module: OAuth apps, access tokens and password credentials."""

from modules.auth.module import Auth

__all__ = ["Auth"]
