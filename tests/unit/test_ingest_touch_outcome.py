"""A touch's outcome and note in touch files: the CRM words for outcomes, the bound on notes,
and the columns that carry them in HubSpot and Salesforce activity exports."""

import pytest

from core.ingest import (
    TOUCH_FIELDS,
    parse_touches,
    read_table,
    resolve_mapping,
    suggest_mapping,
)
from core.ingest.fields import TOUCH_NOTE_MAX_CHARS, TOUCH_OUTCOMES
from core.ingest.touches import _OUTCOME_SYNONYMS
from core.services.leads import NOTE_MAX_CHARS
from db import models

ALLOWED = "use connected, voicemail, no_answer, meeting_booked"


def touches(text: str, **options):
    """A touch file parsed with the suggested mapping (or `preset`)."""
    table = read_table(text.encode(), "touches.csv")
    mapping = resolve_mapping(table.columns, kind="touches", **options)
    return parse_touches(table, mapping, tz="UTC")


def errors(parsed) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.reason) for e in parsed.errors]


def test_outcome_and_note_are_touch_fields_bounded_like_the_app():
    assert TOUCH_FIELDS[-2:] == ("outcome", "note")
    assert TOUCH_OUTCOMES == models.TOUCH_OUTCOMES
    assert TOUCH_NOTE_MAX_CHARS == NOTE_MAX_CHARS == 5_000


def test_a_file_with_outcome_and_note_columns_reads_them():
    parsed = touches(
        "lead,at,kind,outcome,note\n"
        'L-1,2026-11-02 10:00,call,connected,"Wants a quote,\ncall back Monday"\n'
        "L-1,2026-11-03 10:00,call,,\n"
        "L-2,2026-11-03 11:00,meeting,meeting_booked,  Demo on Friday  \n"
    )
    assert errors(parsed) == []
    assert {"outcome", "note"} <= parsed.supplied
    frame = parsed.frame
    assert frame["outcome"].tolist() == ["connected", None, "meeting_booked"]
    assert frame["note"].tolist() == ["Wants a quote,\ncall back Monday", None, "Demo on Friday"]
    assert frame["outcome"].dtype == object and frame["note"].dtype == object


@pytest.mark.parametrize(("word", "outcome"), [
    # HubSpot call outcomes (hs_call_disposition labels) in any case or spelling
    ("Connected", "connected"), ("Left voicemail", "voicemail"), ("No answer", "no_answer"),
    ("Left live message", "voicemail"), ("Wrong number", "no_answer"), ("Busy", "no_answer"),
    ("LEFT_VOICEMAIL", "voicemail"), ("no-answer", "no_answer"), ("  busy ", "no_answer"),
    # HubSpot's default outcome ids, as an export by internal name holds them
    ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "connected"),
    ("b2cf5968-551e-4856-9783-52b3da59a7d0", "voicemail"),
    ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "voicemail"),
    ("73a0d17f-1163-4015-bdd5-ec830791da20", "no_answer"),
    ("9d9162e7-6cf3-4944-bf63-4dff82258764", "no_answer"),
    ("17B47FEE-58DE-441E-A44C-C6300D46F273", "no_answer"),
    # HubSpot meeting outcomes (hs_meeting_outcome)
    ("Scheduled", "meeting_booked"), ("COMPLETED", "meeting_booked"),
    ("RESCHEDULED", "meeting_booked"), ("NO_SHOW", "no_answer"),
    # Salesforce CallDisposition, free text
    ("Left Message", "voicemail"), ("Meeting Scheduled", "meeting_booked"),
    ("Not interested", "connected"), ("Spoke with", "connected"), ("VM", "voicemail"),
    # the canonical names themselves
    *((name, name) for name in TOUCH_OUTCOMES),
    # words that say nothing came of it: no outcome, as an empty cell
    ("n/a", None), ("None", None), ("CANCELED", None), ("Cancelled", None),
])  # fmt: skip
def test_crm_words_for_outcomes_map_to_the_canonical_ones(word, outcome):
    parsed = touches(f"lead,at,Call outcome\nL-1,2026-11-02 10:00,{word}\n")
    assert errors(parsed) == []
    assert parsed.frame["outcome"].tolist() == [outcome]


def test_no_crm_word_maps_to_two_outcomes_and_every_target_is_allowed():
    words = [word for names in _OUTCOME_SYNONYMS.values() for word in names]
    assert len(words) == len(set(words))
    assert set(_OUTCOME_SYNONYMS) == {*TOUCH_OUTCOMES, None}


def test_an_unknown_outcome_is_a_row_error_naming_the_line_column_and_allowed_values():
    parsed = touches(
        "lead,at,CallDisposition\n"
        "L-1,2026-11-02 10:00,Connected\n"
        "L-2,2026-11-02 11:00,Sent a fax\n"
        "L-3,2026-11-02 12:00,???\n"
    )
    assert errors(parsed) == [
        (3, "CallDisposition", f"unknown outcome 'Sent a fax' ({ALLOWED}, a CRM's word for one "
                               "of them, or leave it empty)"),
        (4, "CallDisposition", f"unknown outcome '???' ({ALLOWED}, a CRM's word for one of "
                               "them, or leave it empty)"),
    ]  # fmt: skip
    assert (parsed.read, parsed.rejected) == (3, 2)
    assert parsed.frame["outcome"].tolist() == ["connected"]


def test_a_note_longer_than_the_limit_is_a_row_error_naming_the_limit():
    longest = "x" * TOUCH_NOTE_MAX_CHARS
    parsed = touches(
        f"lead,at,Call notes\nL-1,2026-11-02 10:00,{longest}\nL-2,2026-11-02 11:00,{longest}é\n"
    )
    assert errors(parsed) == [
        (3, "Call notes", "note is 5,001 characters long; at most 5,000 are allowed"),
    ]
    assert parsed.frame["note"].tolist() == [longest]


@pytest.mark.parametrize(("columns", "outcome", "note"), [
    (["Call outcome", "Call notes"], "Call outcome", "Call notes"),
    (["hs_call_disposition", "hs_call_body"], "hs_call_disposition", "hs_call_body"),
    (["Meeting outcome", "Activity notes"], "Meeting outcome", "Activity notes"),
    (["CallDisposition", "Description"], "CallDisposition", "Description"),
    (["Call Result", "Comments"], "Call Result", "Comments"),
])  # fmt: skip
def test_crm_outcome_and_note_columns_are_suggested_by_name(columns, outcome, note):
    suggested = suggest_mapping(["lead", "at", *columns], kind="touches")
    assert (suggested.get("outcome"), suggested.get("note")) == (outcome, note)


def test_the_hubspot_preset_maps_a_calls_export():
    labels = touches(
        "Record ID,Associated Contact IDs,Activity date,Activity assigned to,Call outcome,"
        "Call notes,Call direction\n"
        "9001,501,2026-11-02 10:00,ana,Left voicemail,Called twice,Outbound\n",
        preset="hubspot",
    )
    assert labels.columns == {
        "lead_external_id": "Associated Contact IDs", "at": "Activity date",
        "rep": "Activity assigned to", "outcome": "Call outcome", "note": "Call notes",
    }  # fmt: skip
    assert labels.frame[["lead_external_id", "outcome", "note"]].values.tolist() == [
        ["501", "voicemail", "Called twice"]
    ]
    internal = touches(
        "hs_object_id,Contact ID,hs_timestamp,hubspot_owner_id,hs_call_disposition,hs_call_body\n"
        "9001,501,2026-11-02T10:00:00Z,77,f240bbac-87c9-4f6e-bf70-924b57d47db7,Booked a demo\n",
        preset="hubspot",
    )
    assert internal.frame[["lead_external_id", "rep", "outcome", "note"]].values.tolist() == [
        ["501", "77", "connected", "Booked a demo"]
    ]


def test_the_salesforce_preset_maps_a_task_export():
    parsed = touches(
        "Id,WhoId,Subject,CompletedDateTime,CreatedDate,TaskSubtype,OwnerId,CallDisposition,"
        "Description\n"
        "00T1,00Q1,Call,2026-11-02T10:00:00Z,2026-11-02T09:59:00Z,Call,005A,No Answer,"
        "Rang out\n",
        preset="salesforce",
    )
    assert parsed.columns == {
        "lead_external_id": "WhoId", "at": "CompletedDateTime", "kind": "TaskSubtype",
        "rep": "OwnerId", "outcome": "CallDisposition", "note": "Description",
    }  # fmt: skip
    assert parsed.frame[["lead_external_id", "kind", "outcome", "note"]].values.tolist() == [
        ["00Q1", "call", "no_answer", "Rang out"]
    ]


@pytest.mark.parametrize(("columns", "expected"), [
    (["Record ID", "Associated Contact IDs", "Activity date", "Activity assigned to",
      "Call outcome", "Call notes"],
     {"lead_external_id": "Associated Contact IDs", "at": "Activity date",
      "rep": "Activity assigned to", "outcome": "Call outcome", "note": "Call notes"}),
    (["hs_object_id", "Contact ID", "hs_timestamp", "hs_engagement_type", "hubspot_owner_id",
      "hs_meeting_outcome", "hs_meeting_body"],
     {"lead_external_id": "Contact ID", "at": "hs_timestamp", "kind": "hs_engagement_type",
      "rep": "hubspot_owner_id", "outcome": "hs_meeting_outcome", "note": "hs_meeting_body"}),
    (["Id", "WhoId", "CreatedDate", "TaskSubtype", "OwnerId", "CallDisposition", "Description"],
     {"lead_external_id": "WhoId", "at": "CreatedDate", "kind": "TaskSubtype", "rep": "OwnerId",
      "outcome": "CallDisposition", "note": "Description"}),
])  # fmt: skip
def test_crm_activity_exports_are_mapped_by_name_without_a_preset(columns, expected):
    assert suggest_mapping(columns, kind="touches") == expected
