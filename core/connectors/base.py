"""What every connector gives the sync: chunks of canonical rows with a watermark, and errors
that say what went wrong in words an admin can act on."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Chunk:
    """Rows of one stream (a page or a few), in the canonical fields of a lead or touch file.

    `watermark` is the stream's position once these rows are stored: the latest modification
    time among them (ISO 8601, UTC), from which the next sync of the stream resumes. A resumed
    sync may read the rows at the watermark again; storing them again changes nothing."""

    stream: str  # "contacts", "calls", "Lead", "Task", ...
    kind: Literal["leads", "touches"]
    rows: list[dict[str, Any]]
    watermark: str
    notes: list[str] = field(default_factory=list)


WATERMARK_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def watermark(instant: datetime) -> str:
    """An instant as every watermark spells it: UTC to the microsecond, so text order is time
    order (the sync keeps the larger of two watermarks by comparing their text)."""
    return instant.astimezone(UTC).strftime(WATERMARK_FORMAT)


@dataclass(frozen=True)
class SettingField:
    """One field of a connector's form on the Integrations page. Secret fields are credentials:
    sealed at rest, never shown again (an empty value keeps the stored one)."""

    key: str
    label: str
    help: str
    default: Any = None
    secret: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) when there are few: a select box
    multiline: bool = False  # a PEM key: entered in a text area


class Puller(Protocol):
    """A connector bound to its settings and credentials."""

    name: str

    def chunks(self, watermarks: Mapping[str, str]) -> Iterator[Chunk]:
        """The changes since each stream's watermark (a missing stream: from the beginning),
        oldest first, leads before the touches that refer to them. May be called again
        (the sync reads the lead streams once more for touches whose lead came late)."""
        ...

    def close(self) -> None:
        """Release the HTTP client; the sync calls it once, at the end."""
        ...


class SyncError(RuntimeError):
    """A sync stopped; the message is shown to the admin as it is (never a credential)."""


class HttpError(SyncError):
    """The API refused a request (a 4xx other than 401): its status and its own answer."""

    def __init__(self, message: str, status: int, body: str):
        super().__init__(message)
        self.status, self.body = status, body


class TokenRevoked(SyncError):
    """The CRM refused the credentials even after a refresh: an admin must enter new ones."""


class RateLimited(SyncError):
    """The CRM kept answering 429 after every retry the budget allows."""
