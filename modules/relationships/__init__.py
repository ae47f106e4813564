"""The relationships module: follows, requests, blocks, mutes, notes, endorsements, lists, tags, filters."""

from modules.relationships.module import Relationships

__all__ = ["Relationships"]
