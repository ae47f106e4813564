"""Notifications: per-account notification timelines, markers and Mastodon 4.3 groups (see `module`)."""

from __future__ import annotations

from modules.notifications.module import Notifications

__all__ = ["Notifications"]
