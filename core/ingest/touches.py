"""`parse_touches`: touch rows as canonical fields, with a lead id and a time on every row, the
kind read from its many synonyms (empty is "other"), the automated flag from true/false,
yes/no or 1/0 (empty is false), the outcome from the words CRMs use for it (empty is none) and a
note of at most TOUCH_NOTE_MAX_CHARS characters."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core import limits
from core.ingest.arrays import _filled
from core.ingest.fields import TOUCH_NOTE_MAX_CHARS, TOUCH_OUTCOMES
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

# What came of a touch, in the words CRMs export it, compared by `_outcome_key` (case, spaces and
# punctuation ignored: "Left voicemail", "LEFT_VOICEMAIL" and "left-voicemail" are one). HubSpot's
# call outcomes (hs_call_disposition: its labels, and the ids of its six default outcomes, which
# an export by internal name holds), its meeting outcomes (hs_meeting_outcome), Salesforce's
# free-text CallDisposition ("Call Result") and the usual dialer words. "Left live message" (a
# message left with a person, not the lead) and a busy line or a wrong number did not reach the
# lead: voicemail, no_answer. A meeting scheduled, rescheduled or completed was booked.
# A value not listed is a row error naming the allowed values; "none", "n/a" and a canceled
# meeting say nothing came of it: no outcome (as an empty cell).
_OUTCOME_SYNONYMS: dict[str | None, tuple[str, ...]] = {
    "connected": (
        "connected", "connect", "answered", "reached", "spoke", "spoketo", "spokewith",
        "talked", "conversation", "liveconversation", "contacted", "interested",
        "notinterested", "connectedqualified", "connectednotqualified",
        "f240bbac87c94f6ebf70924b57d47db7",  # HubSpot: Connected
    ),
    "voicemail": (
        "voicemail", "vm", "leftvoicemail", "leftvm", "voicemailleft", "leftmessage",
        "messageleft", "leftlivemessage", "livemessage",
        "b2cf5968551e4856978352b3da59a7d0",  # HubSpot: Left voicemail
        "a4c4c377d2464b32a13b75a56a4cd0ff",  # HubSpot: Left live message
    ),
    "no_answer": (
        "noanswer", "notanswered", "unanswered", "nopickup", "noresponse", "busy", "linebusy",
        "wrongnumber", "badnumber", "invalidnumber", "disconnected", "noshow",
        "73a0d17f11634015bdd5ec830791da20",  # HubSpot: No answer
        "9d9162e76cf34944bf634dff82258764",  # HubSpot: Busy
        "17b47fee58de441ea44cc6300d46f273",  # HubSpot: Wrong number
    ),
    "meeting_booked": (
        "meetingbooked", "meetingscheduled", "meetingset", "booked", "scheduled",
        "rescheduled", "completed", "appointmentset", "appointmentbooked",
        "appointmentscheduled", "demobooked", "demoscheduled",
    ),
    None: ("", "none", "na", "canceled", "cancelled"),
}  # fmt: skip
_OUTCOME_BY_NAME = {name: outcome for outcome, names in _OUTCOME_SYNONYMS.items() for name in names}
_OUTCOME_WORDS = ", ".join(TOUCH_OUTCOMES)

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
    _check_widths(reader, {**limits.TOUCH_FIELD_MAX_CHARS, "note": TOUCH_NOTE_MAX_CHARS})
    mapped = reader.mapping
    frame = pd.DataFrame(
        {
            "lead_external_id": _optional_text(leads),
            "at": _column("at", reader.dates("at").utc),
            "kind": _kinds(reader) if "kind" in mapped else np.full(size, "other", object),
            "rep": _optional_text(reader.text("rep")) if "rep" in mapped else [None] * size,
            "automated": _automated(reader) if "automated" in mapped else np.zeros(size, bool),
            "outcome": pd.Series(
                _outcomes(reader) if "outcome" in mapped else [None] * size, dtype=object
            ),
            "note": _optional_text(reader.text("note")) if "note" in mapped else [None] * size,
        }
    )
    for name in ("kind", "rep", "outcome", "note"):
        frame[name] = frame[name].astype(object)
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


def _outcomes(reader: _Reader) -> np.ndarray:
    """connected, voicemail, no_answer or meeting_booked, from a CRM's words; None when empty."""
    outcomes = reader.text("outcome")
    found, known = _lookup(outcomes, _OUTCOME_BY_NAME, _outcome_key)
    unknown = np.flatnonzero(~known)
    reader.problems.add(
        unknown,
        reader.label("outcome"),
        _bad_reasons(
            outcomes,
            unknown,
            f"unknown outcome '{{value}}' (use {_OUTCOME_WORDS}, a CRM's word for one of them, "
            "or leave it empty)",
        ),
    )
    found[unknown] = None
    return found


def known_outcome(value: str | None) -> str | None:
    """The stored outcome a CRM's word names ("Left voicemail" → voicemail), or None when it
    names none of them (a connector then keeps the word in the note instead)."""
    return _OUTCOME_BY_NAME.get(_outcome_key(value.strip())) if value and value.strip() else None


def _outcome_key(value: str) -> str:
    """An outcome compared loosely: its letters and digits, lowercased; "?" if it has none."""
    key = re.sub(r"[^a-z0-9]", "", value.casefold())
    return key or ("?" if value else "")


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
