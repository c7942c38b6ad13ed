"""`parse_touches`: touch rows as canonical fields, with a lead id and a time on every row, the
kind read from its many synonyms (empty is "other") and the automated flag from true/false,
yes/no or 1/0 (empty is false)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import limits
from core.ingest.arrays import _filled
from core.ingest.mapping import _check_mapping
from core.ingest.problems import _bad_reasons
from core.ingest.results import ParsedFile, Table
from core.ingest.rows import _check_widths, _column, _Reader
from core.ingest.values import _letters, _lookup, _optional_text

_KIND_SYNONYMS = {
    "call": (
        "call", "calls", "phone", "phonecall", "loggedcall", "outboundcall", "inboundcall",
        "voicemail", "dial",
    ),
    "email": ("email", "emails", "mail", "sentemail", "emailsent", "outboundemail", "listemail"),
    "meeting": ("meeting", "meetings", "meet", "demo", "visit", "videocall", "appointment"),
    "other": ("other", "note", "task", "sms", "text", "linkedin", "chat", "whatsapp", "social"),
}  # fmt: skip
_KIND_BY_NAME = {name: kind for kind, names in _KIND_SYNONYMS.items() for name in names}

_TRUE = ("true", "yes", "y", "t", "1", "1.0")
_FALSE = ("false", "no", "n", "f", "0", "0.0", "")


def parse_touches(
    table: Table, mapping: dict[str, list[str]], *, tz: str, date_format: str | None = None
) -> ParsedFile:
    """Touch rows as canonical fields; kind defaults to "other", automated to False."""
    reader = _Reader(table, _check_mapping(table, mapping, "touches"), tz, date_format)
    size = len(table.rows)
    leads = reader.text("lead_external_id")
    reader.problems.add_missing(
        np.flatnonzero(~_filled(leads)), reader.label("lead_external_id"), "missing lead id"
    )
    at_text = reader.text("at")
    reader.problems.add_missing(
        np.flatnonzero(~_filled(at_text)), reader.label("at"), "missing touch time"
    )
    _check_widths(reader, limits.TOUCH_FIELD_MAX_CHARS)
    mapped = reader.mapping
    frame = pd.DataFrame(
        {
            "lead_external_id": _optional_text(leads),
            "at": _column("at", reader.dates("at").utc),
            "kind": _kinds(reader) if "kind" in mapped else np.full(size, "other", object),
            "rep": _optional_text(reader.text("rep")) if "rep" in mapped else [None] * size,
            "automated": _automated(reader) if "automated" in mapped else np.zeros(size, bool),
        }
    )
    frame["kind"] = frame["kind"].astype(object)
    frame["rep"] = frame["rep"].astype(object)
    return reader.result(frame, "touches")


def _kinds(reader: _Reader) -> np.ndarray:
    """call, email, meeting or other (synonyms allowed, empty = other)."""
    kinds = reader.text("kind")
    found, known = _lookup(kinds, {**_KIND_BY_NAME, "": "other"}, _letters)
    unknown = np.flatnonzero(~known)
    reader.problems.add(
        unknown,
        reader.label("kind"),
        _bad_reasons(kinds, unknown, "unknown kind '{value}' (use call, email, meeting or other)"),
    )
    found[unknown] = "other"
    return found


def _automated(reader: _Reader) -> np.ndarray:
    """True/false from true/false, yes/no, 1/0 in any case; empty = false."""
    flags = reader.text("automated")
    truth = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
    found, known = _lookup(flags, truth, str.casefold)
    unknown = np.flatnonzero(~known)
    reader.problems.add(
        unknown,
        reader.label("automated"),
        _bad_reasons(
            flags, unknown, "'{value}' is not true or false (use true, false, yes, no, 1 or 0)"
        ),
    )
    found[unknown] = False
    return found.astype(bool)
