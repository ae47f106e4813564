"""pstates package."""
