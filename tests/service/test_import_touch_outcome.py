"""A touch's outcome and note through `import touches`, on a real database: stored in the
canonical words, updated on a re-import that changes them, put back by `import undo`."""

import pytest
from sqlmodel import select

from core.errors import InvalidInput
from core.services import import_undo, imports
from db.models import AuditEvent, Touch

LEADS = (b"id,created,owner\n"
         b"L1,2026-11-01 09:00,ana\n"
         b"L2,2026-11-01 09:30,ben\n")
CALLS = ("lead,at,kind,rep,Call outcome,Call notes\n"
         'L1,2026-11-02 10:00,call,ana,Left voicemail,"Asked for a callback,\nafter 3pm"\n'
         "L1,2026-11-03 10:00,call,ana,Connected,\n"
         "L2,2026-11-02 11:00,meeting,ben,Scheduled,Demo on Friday\t(room \\2)\n"
         "L2,2026-11-02 12:00,call,ben,,\n")


def import_leads(session, actor):
    summary = imports.import_leads(
        session=session, actor=actor, data=LEADS, filename="leads.csv", source="crm", tz="UTC",
        overrides={"external_id": "id", "created_at": "created", "owner": "owner"})
    assert summary.inserted == 2


def import_calls(session, actor, text: str = CALLS, **options):
    return imports.import_touches(session=session, actor=actor, data=text.encode(),
                                  filename="calls.csv", source="crm", tz="UTC", **options)


def stored(session) -> list[tuple]:
    session.expire_all()
    return [(t.at.strftime("%d %H:%M"), t.kind, t.outcome, t.note) for t in session.exec(
        select(Touch).order_by(Touch.lead_id, Touch.at)).all()]


FIRST_STATE = [("02 10:00", "call", "voicemail", "Asked for a callback,\nafter 3pm"),
               ("03 10:00", "call", "connected", None),
               ("02 11:00", "meeting", "meeting_booked", "Demo on Friday\t(room \\2)"),
               ("02 12:00", "call", None, None)]


def test_outcomes_and_notes_import_in_canonical_words_then_a_reimport_changes_nothing(
        session, people):
    import_leads(session, people["marco"])
    first = import_calls(session, people["marco"])
    assert (first.read, first.inserted, first.updated, first.unchanged, first.rejected) == \
        (4, 4, 0, 0, 0)
    assert stored(session) == FIRST_STATE
    again = import_calls(session, people["marco"])
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 0)
    assert stored(session) == FIRST_STATE
    assert not session.exec(select(AuditEvent).where(
        AuditEvent.action == "touch.import_update")).all()


def test_a_reimport_with_a_changed_note_or_outcome_updates_the_touch(session, people):
    import_leads(session, people["marco"])
    import_calls(session, people["marco"])
    changed = ("lead,at,kind,rep,Call outcome,Call notes\n"
               "L1,2026-11-02 10:00,call,ana,Left voicemail,Called back: wants a quote\n"
               "L1,2026-11-03 10:00,call,ana,,Talked pricing\n"  # empty outcome: kept
               "L2,2026-11-02 11:00,meeting,ben,Completed,\n"  # empty note: kept
               "L2,2026-11-02 12:00,call,ben,,\n")
    summary = import_calls(session, people["sofia"], changed)
    assert (summary.inserted, summary.updated, summary.unchanged, summary.rejected) == \
        (0, 2, 2, 0)  # "Completed" is meeting_booked already: unchanged
    assert stored(session) == [
        ("02 10:00", "call", "voicemail", "Called back: wants a quote"),
        ("03 10:00", "call", "connected", "Talked pricing"),
        ("02 11:00", "meeting", "meeting_booked", "Demo on Friday\t(room \\2)"),
        ("02 12:00", "call", None, None)]
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action == "touch.import_update").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.object_type, e.batch_id, e.before, e.after) for e in events] == [
        ("sofia", "touch", summary.batch_id, {"note": "Asked for a callback,\nafter 3pm"},
         {"note": "Called back: wants a quote"}),
        ("sofia", "touch", summary.batch_id, {"note": None}, {"note": "Talked pricing"})]
    again = import_calls(session, people["sofia"], changed)
    assert (again.updated, again.unchanged) == (0, 4)


def test_a_file_without_outcome_or_note_columns_leaves_them_alone(session, people):
    import_leads(session, people["marco"])
    import_calls(session, people["marco"])
    plain = import_calls(session, people["marco"],
                         "lead,at,kind,rep\nL1,2026-11-02 10:00,call,ana\n")
    assert (plain.inserted, plain.updated, plain.unchanged) == (0, 0, 1)
    assert stored(session) == FIRST_STATE


def test_an_unknown_outcome_and_an_over_long_note_are_row_errors(session, people):
    import_leads(session, people["marco"])
    summary = import_calls(session, people["marco"],
                           "lead,at,kind,CallDisposition,Description\n"
                           "L1,2026-11-02 10:00,call,Sent a fax,\n"
                           f"L1,2026-11-02 11:00,call,Connected,{'x' * 5001}\n"
                           "L2,2026-11-02 12:00,call,Left Message,ok\n")
    assert (summary.read, summary.inserted, summary.rejected) == (3, 1, 2)
    assert [(e.line, e.column, e.reason) for e in summary.errors] == [
        (2, "CallDisposition", "unknown outcome 'Sent a fax' (use connected, voicemail, "
                               "no_answer, meeting_booked, a CRM's word for one of them, or "
                               "leave it empty)"),
        (3, "Description", "note is 5,001 characters long; at most 5,000 are allowed")]
    assert [(t.outcome, t.note) for t in session.exec(select(Touch)).all()] == \
        [("voicemail", "ok")]
    assert summary.as_json()["updated"] == 0


def test_the_salesforce_preset_imports_a_task_export(session, people):
    import_leads(session, people["marco"])
    summary = import_calls(session, people["marco"],
                           "Id,WhoId,CreatedDate,TaskSubtype,OwnerId,CallDisposition,Description\n"
                           "00T1,L1,2026-11-02T10:00:00Z,Call,ana,No Answer,Rang out\n",
                           preset="salesforce")
    assert (summary.inserted, summary.rejected) == (1, 0)
    assert stored(session) == [("02 10:00", "call", "no_answer", "Rang out")]


def test_undo_puts_back_the_outcomes_and_notes_a_batch_changed(session, people):
    import_leads(session, people["marco"])
    first = import_calls(session, people["marco"])
    changed = CALLS.replace("Demo on Friday", "Demo moved to Monday").replace(
        "L2,2026-11-02 12:00,call,ben,,", "L2,2026-11-02 12:00,call,ben,Busy,Line busy")
    second = import_calls(session, people["marco"], changed)
    assert second.updated == 2
    with pytest.raises(InvalidInput, match=r"cannot be undone: 2 of its touches changed after "
                                           r"it \(touch \d+, \d+\)"):
        import_undo.undo_batch(session=session, actor=people["marco"], batch_id=first.batch_id)
    undone = import_undo.undo_batch(session=session, actor=people["marco"],
                                    batch_id=second.batch_id)
    assert (undone.deleted, undone.restored) == (0, 2)
    assert stored(session) == FIRST_STATE
    undone = import_undo.undo_batch(session=session, actor=people["marco"],
                                    batch_id=first.batch_id)
    assert (undone.deleted, undone.restored) == (4, 0)
    assert stored(session) == []
