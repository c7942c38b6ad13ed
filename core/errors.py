"""Errors that services raise for the UI and the CLI to show as they are."""

from core.permissions import PermissionDenied

__all__ = ["Busy", "InvalidInput", "NotFound", "PermissionDenied"]


class InvalidInput(ValueError):
    """Bad input; `field` names the offending field, key or column."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    """The object asked for does not exist."""


class Busy(RuntimeError):
    """Another write holds what this one needs for longer than we wait; nothing was written."""
