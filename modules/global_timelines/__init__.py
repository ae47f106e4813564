"""The global_timelines module: local and federated public timelines."""

from modules.global_timelines.module import GlobalTimelines

__all__ = ["GlobalTimelines"]
