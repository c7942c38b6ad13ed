"""Leads at scale, the writing side: reassigning with an owner history, touches with an outcome
and a note, rejecting with a chosen reason, undoing a decision within the window, correcting a
lead, a lead's page and timeline, and disputes to the end. Every new "no" is tested here."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.errors import InvalidInput
from core.permissions import PermissionDenied
from core.services import leads, workspace
from core.services.agreements import WorkflowError
from core.services.lead_record import lead_record
from core.services.leads import NotYourLead
from db.engine import session_scope
from db.models import AuditEvent, Lead, LeadDecision, LeadOwnerChange, Touch, User, utcnow
from tests.service.conftest import add_people
from tests.service.test_lead_actions import open_leads
from tests.service.test_races import at_once

MQL = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
RACES = 10


@pytest.fixture
def lead_ids(session, people) -> dict[str, int]:
    """An active agreement, and one open lead owned by each rep (ana, ben)."""
    return open_leads(session, people)


def audit(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id)).all())


def backdate_decisions(session, minutes: int) -> None:
    for decision in session.exec(select(LeadDecision)).all():
        decision.decided_at = utcnow() - timedelta(minutes=minutes)
        session.add(decision)
    session.flush()


# --- reassigning -----------------------------------------------------------------------------


def test_the_head_reassigns_with_a_reason_and_the_history_keeps_each_move(session, people,
                                                                         lead_ids):
    moved = leads.reassign_leads(session=session, actor=people["sofia"],
                                 lead_ids=[lead_ids["ana"], lead_ids["ben"]], to_owner="ben",
                                 reason="Ana is on leave")
    assert moved == 1  # ben's own lead stays as it is
    assert session.get(Lead, lead_ids["ana"]).owner == "ben"
    change = session.exec(select(LeadOwnerChange)).one()
    assert (change.lead_id, change.from_owner, change.to_owner, change.changed_by,
            change.reason) == (lead_ids["ana"], "ana", "ben", "sofia", "Ana is on leave")
    event = audit(session, "lead.reassign")[0]
    assert event.before == {"owner": "ana"}
    assert event.after == {"owner": "ben", "reason": "Ana is on leave"}
    # ana's worklist no longer holds it; ben's does
    assert leads.work_queue(session=session, actor=people["ana"]).empty
    assert set(leads.work_queue(session=session, actor=people["ben"])["external_id"]) == {
        "L-ana", "L-ben"}


@pytest.mark.parametrize("who", ["ana", "marco", "mia", "erin", "root"])
def test_only_the_head_of_sales_reassigns(session, people, lead_ids, who):
    with pytest.raises(PermissionDenied, match="may not reassign a lead"):
        leads.reassign_leads(session=session, actor=people[who], lead_ids=[lead_ids["ben"]],
                             to_owner="ana", reason="mine now")
    assert session.get(Lead, lead_ids["ben"]).owner == "ben"
    assert not session.exec(select(LeadOwnerChange)).all()


def test_a_reassignment_needs_a_reason_an_active_rep_and_a_bounded_selection(session, people,
                                                                             lead_ids):
    reassign = leads.reassign_leads
    with pytest.raises(InvalidInput, match="reason"):
        reassign(session=session, actor=people["sofia"], lead_ids=[lead_ids["ana"]],
                 to_owner="ben", reason="  ")
    for not_a_rep in ("sofia", "nobody", "mia"):
        with pytest.raises(InvalidInput, match="to_owner.*not an active sales rep"):
            reassign(session=session, actor=people["sofia"], lead_ids=[lead_ids["ana"]],
                     to_owner=not_a_rep, reason="why not")
    ben = session.exec(select(User).where(User.username == "ben")).one()
    ben.active = False
    session.add(ben)
    session.flush()
    with pytest.raises(InvalidInput, match="to_owner"):
        reassign(session=session, actor=people["sofia"], lead_ids=[lead_ids["ana"]],
                 to_owner="ben", reason="why not")
    with pytest.raises(InvalidInput, match="lead_ids.*at most 1,000"):
        reassign(session=session, actor=people["sofia"], lead_ids=list(range(1, 1_502)),
                 to_owner="ana", reason="everything")
    with pytest.raises(InvalidInput, match="lead_ids"):
        reassign(session=session, actor=people["sofia"], lead_ids=[], to_owner="ana",
                 reason="nothing")
    assert session.get(Lead, lead_ids["ana"]).owner == "ana"


def test_reassigning_keeps_the_clocks_as_they_are(session, people, lead_ids):
    before = session.get(Lead, lead_ids["ana"])
    stamps = (before.created_at, before.mql_at, before.accepted_at)
    leads.reassign_leads(session=session, actor=people["sofia"], lead_ids=[lead_ids["ana"]],
                         to_owner="ben", reason="cover")
    after = session.get(Lead, lead_ids["ana"])
    assert (after.created_at, after.mql_at, after.accepted_at) == stamps


def test_two_reassignments_of_one_lead_at_once_keep_a_true_history(concurrent_engine):
    with session_scope(concurrent_engine) as session:
        people = add_people(session)
        ids = open_leads(session, people)
    for trial in range(RACES):
        sides = [lambda s, to=to, trial=trial: leads.reassign_leads(
            session=s, actor=people["sofia"], lead_ids=[ids["ana"]], to_owner=to,
            reason=f"trial {trial}") for to in ("ben", "ana")]
        at_once(concurrent_engine, *sides)
    with session_scope(concurrent_engine) as session:
        history = session.exec(select(LeadOwnerChange).where(
            LeadOwnerChange.lead_id == ids["ana"]).order_by(LeadOwnerChange.id)).all()
        owner = session.get(Lead, ids["ana"]).owner
    # Each move starts from where the one before it left the lead: none was lost or doubled.
    assert history, "no reassignment happened"
    assert history[0].from_owner == "ana"
    for earlier, later in zip(history, history[1:], strict=False):
        assert later.from_owner == earlier.to_owner
        assert later.from_owner != later.to_owner
    assert history[-1].to_owner == owner


# --- touches with substance ------------------------------------------------------------------


def test_a_touch_carries_an_outcome_and_a_note(session, people, lead_ids):
    leads.log_touch(session=session, actor=people["ana"], lead_id=lead_ids["ana"], kind="call",
                    outcome="voicemail", note="  Left a message about the demo  ")
    touch = session.exec(select(Touch)).one()
    assert (touch.outcome, touch.note) == ("voicemail", "Left a message about the demo")
    assert audit(session, "lead.touch")[0].after["outcome"] == "voicemail"


def test_a_touch_with_an_unknown_outcome_or_an_endless_note_is_refused(session, people,
                                                                      lead_ids):
    with pytest.raises(InvalidInput, match="outcome.*'maybe' is not one of connected"):
        leads.log_touch(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                        kind="call", outcome="maybe")
    with pytest.raises(InvalidInput, match="note.*at most 5,000"):
        leads.log_touch(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                        kind="call", note="x" * 5_001)
    assert not session.exec(select(Touch)).all()


# --- rejecting with care, and undoing --------------------------------------------------------


@pytest.mark.parametrize("reason", [None, ""])
def test_a_rejection_without_a_chosen_reason_is_refused(session, people, lead_ids, reason):
    with pytest.raises(InvalidInput, match="reason.*choose why"):
        leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                          reason=reason, note="not for us")
    assert session.get(Lead, lead_ids["ana"]).rejected_at is None
    assert not session.exec(select(LeadDecision)).all()


def test_a_rejection_keeps_its_note_and_the_lead_page_shows_it(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit", note="Student, no budget")
    record = lead_record(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    assert (record.rejection_reason, record.rejection_note) == ("not_a_fit", "Student, no budget")
    assert record.timeline[0].what == "Rejected: not a fit"
    assert record.timeline[0].detail == "Student, no budget"


def test_the_author_undoes_within_the_window_and_the_undo_is_audited(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    offered = leads.undoable_decision(session=session, actor=people["ana"],
                                      lead_id=lead_ids["ana"])
    assert offered is not None and offered.kind == "reject"
    assert offered.author_until - offered.decided_at == timedelta(minutes=15)
    assert leads.undo_decision(session=session, actor=people["ana"],
                               lead_id=lead_ids["ana"]) == "reject"
    lead = session.get(Lead, lead_ids["ana"])
    assert (lead.rejected_at, lead.rejection_reason) == (None, None)
    event = audit(session, "lead.reject_undone")[0]
    assert event.actor == "ana" and event.before["rejection_reason"] == "not_a_fit"
    assert event.after == {"rejected_at": None, "rejection_reason": None}
    decision = session.exec(select(LeadDecision)).one()
    assert decision.undone_by == "ana" and decision.undone_at is not None
    with pytest.raises(WorkflowError, match="no accept or reject to undo"):
        leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ana"])


def test_an_accept_undone_restores_the_lead_as_it_was(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["sofia"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    leads.accept_lead(session=session, actor=people["sofia"], lead_id=lead_ids["ana"])
    leads.undo_decision(session=session, actor=people["sofia"], lead_id=lead_ids["ana"])
    lead = session.get(Lead, lead_ids["ana"])
    assert lead.accepted_at is None and lead.rejection_reason == "not_a_fit"


def test_after_the_window_only_the_head_of_sales_undoes(session, people, lead_ids):
    leads.accept_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    backdate_decisions(session, minutes=16)
    assert leads.undoable_decision(session=session, actor=people["ana"],
                                   lead_id=lead_ids["ana"]) is None
    with pytest.raises(PermissionDenied, match="undo window of 15 minutes has passed"):
        leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    assert session.get(Lead, lead_ids["ana"]).accepted_at is not None
    assert leads.undo_decision(session=session, actor=people["sofia"],
                               lead_id=lead_ids["ana"]) == "accept"
    assert session.get(Lead, lead_ids["ana"]).accepted_at is None
    assert [e.actor for e in audit(session, "lead.accept_undone")] == ["sofia"]


def test_the_workspace_sets_the_window(session, people, lead_ids):
    workspace.set_undo_window(session=session, actor=people["root"], minutes=60)
    leads.accept_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    backdate_decisions(session, minutes=30)
    leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    with pytest.raises(PermissionDenied, match="may not change the workspace settings"):
        workspace.set_undo_window(session=session, actor=people["sofia"], minutes=600)
    for bad in (-1, 7 * 24 * 60 + 1, "15", 2.5, True):
        with pytest.raises(InvalidInput, match="undo_window_minutes"):
            workspace.set_undo_window(session=session, actor=people["root"], minutes=bad)
    assert workspace.undo_minutes(session=session, actor=people["ana"]) == 60
    assert audit(session, "workspace.undo_window")[0].after == {"minutes": 60}


def test_a_rep_never_undoes_someone_elses_decision(session, people, lead_ids):
    # the head of sales accepted ana's lead: ana may not undo it, even at once
    leads.accept_lead(session=session, actor=people["sofia"], lead_id=lead_ids["ana"])
    with pytest.raises(PermissionDenied, match="only their own"):
        leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    # nor a decision on another rep's lead
    leads.accept_lead(session=session, actor=people["ben"], lead_id=lead_ids["ben"])
    with pytest.raises(NotYourLead):
        leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ben"])


@pytest.mark.parametrize("who", ["mia", "marco", "erin", "root"])
def test_nobody_outside_sales_undoes_a_rejection(session, people, lead_ids, who):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    with pytest.raises(PermissionDenied, match="may not undo an accept/reject"):
        leads.undo_decision(session=session, actor=people[who], lead_id=lead_ids["ana"])
    assert session.get(Lead, lead_ids["ana"]).rejected_at is not None


def test_a_disputed_rejection_is_resolved_not_undone(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    leads.dispute_rejection(session=session, actor=people["mia"], lead_id=lead_ids["ana"],
                            comment="They asked for a demo")
    with pytest.raises(WorkflowError, match="disputed"):
        leads.undo_decision(session=session, actor=people["sofia"], lead_id=lead_ids["ana"])


def test_an_undo_never_rewrites_what_came_after(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    dispute = leads.dispute_rejection(session=session, actor=people["mia"],
                                      lead_id=lead_ids["ana"], comment="good lead")
    leads.resolve_dispute(session=session, actor=people["sofia"], dispute_id=dispute,
                          overturn=True, comment="Agreed, call them")
    # the rejection was overturned since: there is nothing of ana's left to undo
    with pytest.raises(WorkflowError, match="no accept or reject to undo"):
        leads.undo_decision(session=session, actor=people["ana"], lead_id=lead_ids["ana"])


def test_a_rep_and_the_head_undoing_at_once_undo_once(concurrent_engine):
    with session_scope(concurrent_engine) as session:
        people = add_people(session)
        ids = open_leads(session, people)
    for _ in range(RACES):
        with session_scope(concurrent_engine) as session:
            leads.reject_lead(session=session, actor=people["ana"], lead_id=ids["ana"],
                              reason="not_a_fit")
        outcomes = at_once(concurrent_engine, *(
            lambda s, who=who: leads.undo_decision(session=s, actor=people[who],
                                                   lead_id=ids["ana"])
            for who in ("ana", "sofia")))
        assert sorted(type(outcome).__name__ for outcome in outcomes) == ["WorkflowError",
                                                                          "str"], outcomes
    with session_scope(concurrent_engine) as session:
        assert len(audit(session, "lead.reject_undone")) == RACES


# --- correcting a lead -----------------------------------------------------------------------


def test_a_head_corrects_a_lead_and_the_correction_is_audited(session, people, lead_ids):
    changed = leads.edit_lead(session=session, actor=people["marco"], lead_id=lead_ids["ana"],
                              changes={"company": "Acme Corp", "name": "Lead of ana"})
    assert changed == {"company": "Acme Corp"}
    event = audit(session, "lead.edit")[0]
    assert (event.before, event.after) == ({"company": "Acme"}, {"company": "Acme Corp"})
    record = lead_record(session=session, actor=people["sofia"], lead_id=lead_ids["ana"])
    assert record.timeline[0].what == "Corrected the lead"
    assert record.timeline[0].detail == "company: Acme → Acme Corp"


def test_a_correction_is_checked_field_by_field(session, people, lead_ids):
    edit = leads.edit_lead
    with pytest.raises(InvalidInput, match="owner.*cannot be edited here"):
        edit(session=session, actor=people["sofia"], lead_id=lead_ids["ana"],
             changes={"owner": "ben"})
    with pytest.raises(InvalidInput, match="email.*not an email address"):
        edit(session=session, actor=people["sofia"], lead_id=lead_ids["ana"],
             changes={"email": "nope"})
    with pytest.raises(InvalidInput, match="channel.*at most 64"):
        edit(session=session, actor=people["sofia"], lead_id=lead_ids["ana"],
             changes={"channel": "x" * 65})
    for who in ("ana", "mia", "erin", "root"):
        with pytest.raises(PermissionDenied, match="may not correct a lead"):
            edit(session=session, actor=people[who], lead_id=lead_ids["ana"],
                 changes={"company": "Other"})
    assert session.get(Lead, lead_ids["ana"]).company == "Acme"


# --- the lead page ---------------------------------------------------------------------------


def test_the_timeline_tells_everything_newest_first_with_names(session, people, lead_ids):
    leads.log_touch(session=session, actor=people["ana"], lead_id=lead_ids["ana"], kind="call",
                    outcome="no_answer", at=MQL + timedelta(hours=1))
    leads.reassign_leads(session=session, actor=people["sofia"], lead_ids=[lead_ids["ana"]],
                         to_owner="ben", reason="Ana is on leave")
    leads.reject_lead(session=session, actor=people["ben"], lead_id=lead_ids["ana"],
                      reason="not_a_fit", note="Wrong country")
    dispute = leads.dispute_rejection(session=session, actor=people["mia"],
                                      lead_id=lead_ids["ana"], comment="They are in Canada")
    leads.resolve_dispute(session=session, actor=people["sofia"], dispute_id=dispute,
                          overturn=True, comment="Canada is ours")
    record = lead_record(session=session, actor=people["ben"], lead_id=lead_ids["ana"])
    told = [(event.what, event.detail) for event in record.timeline]
    assert told == [  # the dispute's resolution is recorded just after the lead's change
        ("Overturned the rejection", "Canada is ours"),
        ("Rejection overturned: the lead is back with sales", None),
        ("Disputed the rejection", "They are in Canada"),
        ("Rejected: not a fit", "Wrong country"),
        ("Reassigned from Ana to Ben", "Ana is on leave"),
        ("Call: no answer", None),
        ("Reached MQL", None),  # the stages the CRM set, by no one in the app
        ("Created", None),
    ]
    assert record.name(record.timeline[-3].who) == "Ana"
    assert [d.state for d in record.disputes] == ["overturned"]
    assert record.disputes[0].resolution == "Canada is ours"
    assert dict(record.stages)["MQL"] == MQL


def test_a_rep_opens_only_their_own_leads_page(session, people, lead_ids):
    with pytest.raises(NotYourLead):
        lead_record(session=session, actor=people["ana"], lead_id=lead_ids["ben"])
    for who in ("sofia", "marco", "mia", "erin", "root"):
        assert lead_record(session=session, actor=people[who], lead_id=lead_ids["ben"]).ref == \
            "crm/L-ben"


# --- disputes to the end ---------------------------------------------------------------------


def test_an_overturned_rejection_reaches_the_rep_with_its_note(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    dispute = leads.dispute_rejection(session=session, actor=people["mia"],
                                      lead_id=lead_ids["ana"], comment="They booked a demo")
    assert leads.overturned_rejections(session=session, actor=people["ana"]) == []
    leads.resolve_dispute(session=session, actor=people["sofia"], dispute_id=dispute,
                          overturn=True, comment="Demo booked: work it")
    told = leads.overturned_rejections(session=session, actor=people["ana"])
    assert [(d.lead, d.resolution, d.name(d.resolved_by)) for d in told] == [
        ("crm/L-ana", "Demo booked: work it", "Sofia")]
    assert leads.overturned_rejections(session=session, actor=people["ben"]) == []
    # the marketer sees the outcome among every dispute
    every = leads.list_disputes(session=session, actor=people["mia"], state=None)
    assert [(d.state, d.resolution) for d in every] == [("overturned", "Demo booked: work it")]
    assert leads.list_disputes(session=session, actor=people["mia"]) == []
    with pytest.raises(PermissionDenied):
        leads.overturned_rejections(session=session, actor=people["mia"])


def test_sales_reps_are_listed_with_their_teams(session, people):
    reps = leads.sales_reps(session=session, actor=people["sofia"])
    assert [(rep.username, rep.name) for rep in reps] == [("ana", "Ana"), ("ben", "Ben")]
