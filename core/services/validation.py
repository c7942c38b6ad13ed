"""Checks of the text people type, shared by the services: present when required, and
within its limit (core.limits) before any database sees it."""

from core.errors import InvalidInput
from core.limits import TEXT_MAX_CHARS


def bounded_text(field: str, value: str | None, required: str | None = "is required",
                 limit: int = TEXT_MAX_CHARS) -> str:
    """The stripped text; InvalidInput naming the field when it is missing (and `required`
    says why it is needed) or longer than `limit` characters."""
    text = (value or "").strip()
    if not text and required:
        raise InvalidInput(field, required)
    if len(text) > limit:
        raise InvalidInput(field, f"{len(text):,} characters; at most {limit:,} are allowed")
    return text
