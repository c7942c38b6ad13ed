"""The canonical fields of the two kinds of file, leads and touches: which there are, which hold
timestamps, numbers or ids, and which a file must map; a touch's outcomes and the bound on its
note. `_fields_of` checks a kind's name."""

from __future__ import annotations

from core.ingest.results import UsageError

LEAD_FIELDS: tuple[str, ...] = (
    "external_id", "created_at", "mql_at", "accepted_at", "rejected_at", "rejection_reason",
    "sql_at", "opportunity_at", "won_at", "lost_at", "owner", "channel", "segment", "region",
    "country", "company", "name", "email", "score", "amount",
)  # fmt: skip
LEAD_TIMESTAMPS: tuple[str, ...] = (
    "created_at", "mql_at", "accepted_at", "rejected_at", "sql_at", "opportunity_at", "won_at",
    "lost_at",
)  # fmt: skip
LEAD_NUMBERS: tuple[str, ...] = ("score", "amount")
TOUCH_FIELDS: tuple[str, ...] = (
    "lead_external_id", "at", "kind", "rep", "automated", "outcome", "note",
)  # fmt: skip
TOUCH_KINDS = ("call", "email", "meeting", "other")
# What came of a touch, as db.models.TOUCH_OUTCOMES stores it (core.ingest stays free of db).
TOUCH_OUTCOMES = ("connected", "voicemail", "no_answer", "meeting_booked")
# A touch's note: as core.services.leads.NOTE_MAX_CHARS bounds a note logged in the app.
TOUCH_NOTE_MAX_CHARS = 5_000
KINDS = ("leads", "touches")

_FIELDS = {"leads": LEAD_FIELDS, "touches": TOUCH_FIELDS}
_REQUIRED = {"leads": ("external_id",), "touches": ("lead_external_id", "at")}
_IDS = ("external_id", "lead_external_id")


def _fields_of(kind: str) -> tuple[str, ...]:
    """The canonical fields of a kind of file."""
    if kind not in _FIELDS:
        raise UsageError(f"unknown kind of file '{kind}'; use one of: {', '.join(KINDS)}")
    return _FIELDS[kind]
