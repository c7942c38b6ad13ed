"""Hostile inputs made by the tests themselves (no committed blobs)."""
