"""The moderation module: reports filed by users against accounts and their statuses."""

from modules.moderation.module import Moderation

__all__ = ["Moderation"]
