"""The search module: accounts, hashtags, statuses and the profile directory."""

from modules.search.module import Search

__all__ = ["Search"]
