"""The relationships module: follows, follow requests, blocks, mutes, notes and partitioned followers."""

from modules.relationships.module import Relationships

__all__ = ["Relationships"]
