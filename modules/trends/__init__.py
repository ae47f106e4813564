"""The trends module: hashtag timelines, trending tags / links / statuses, featured tags."""

from modules.trends.module import Trends

__all__ = ["Trends"]
