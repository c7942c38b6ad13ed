"""Working leads in the app: a rep's leads, touches, accept/reject, and rejection disputes."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import case, func, select
from sqlmodel import Session, col

from core.errors import InvalidInput, NotFound
from core.permissions import Action, PermissionDenied, Role, require
from core.services import workflow_notices
from core.services.accounts import Actor, display_names
from core.services.agreements import WorkflowError, signed_document
from core.services.audit import record
from core.services.validation import bounded_text
from core.services.workspace import undo_window
from db import locks
from db.models import (
    TOUCH_OUTCOMES,
    Dispute,
    Lead,
    LeadDecision,
    LeadOwnerChange,
    Touch,
    User,
    utcnow,
)

HUMAN_KINDS = ("call", "email", "meeting")
NOTE_MAX_CHARS = 5_000  # a touch's or a decision's note
REASSIGN_MAX_LEADS = 1_000  # one reassignment moves at most this many leads
# The fields a head may correct on a lead (the stages come from the CRM; the owner changes by
# reassignment, with its history).
EDITABLE_FIELDS = {"name": 200, "company": 200, "email": 254, "channel": 64, "segment": 64,
                   "region": 64, "country": 64}  # field: its length limit (db.models.Lead)


class NotYourLead(PermissionDenied):
    """A sales rep tried to work a lead another rep owns."""

    def __init__(self, actor: Actor, lead: Lead):
        super().__init__(actor.role, Action.WORK_LEADS)
        self.args = (f"{lead.source}/{lead.external_id} belongs to {lead.owner or 'nobody'}: "
                     "a sales rep works only their own leads.",)


@dataclass(frozen=True)
class DisputeView:
    """A dispute of a rejection, with the lead it is about."""

    id: int
    lead_id: int
    lead: str
    owner: str | None
    rejection_reason: str | None
    opened_by: str
    opened_at: datetime
    comment: str
    state: str
    resolved_by: str | None
    resolution: str | None
    title: str = ""  # the lead as people know it: "D-011908 · Ava Reed (Acme)"
    names: dict[str, str] = field(default_factory=dict)  # display names of the people above
    resolved_at: datetime | None = None

    def name(self, username: str | None) -> str:
        return self.names.get(username, username) if username else "nobody"


def work_queue(*, session: Session, actor: Actor, include_decided: bool = False,
               limit: int = 500) -> pd.DataFrame:
    """Leads to work: a rep's own, or every rep's for the head of sales; newest MQLs first."""
    require(actor.role, Action.WORK_LEADS)
    human = case((col(Touch.automated).is_(False), 1), else_=0)
    touches = (select(Touch.lead_id, func.sum(human).label("touches"),
                      func.max(case((col(Touch.automated).is_(False), Touch.at))).label(
                          "last_touch_at"))
               .group_by(Touch.lead_id).subquery())
    query = (
        select(Lead.id, Lead.source, Lead.external_id, Lead.name, Lead.company, Lead.channel,
               Lead.owner, Lead.mql_at, Lead.accepted_at, Lead.rejected_at,
               Lead.rejection_reason, Lead.recycled,
               func.coalesce(touches.c.touches, 0).label("touches"), touches.c.last_touch_at)
        .outerjoin(touches, touches.c.lead_id == Lead.id)
        .where(col(Lead.mql_at).is_not(None))
        .order_by(col(Lead.mql_at).desc()).limit(limit)
    )
    if actor.role == Role.SALES_REP:
        query = query.where(Lead.owner == actor.username)
    if not include_decided:
        query = query.where(col(Lead.accepted_at).is_(None), col(Lead.rejected_at).is_(None))
    frame = pd.DataFrame(session.execute(query).all(), columns=[
        "id", "source", "external_id", "name", "company", "channel", "owner", "mql_at",
        "accepted_at", "rejected_at", "rejection_reason", "recycled", "touches",
        "last_touch_at"])
    # max() over a CASE loses the column type on SQLite: read the text back as instants.
    frame["last_touch_at"] = pd.to_datetime(frame["last_touch_at"], utc=True, format="ISO8601")
    return frame


def log_touch(*, session: Session, actor: Actor, lead_id: int, kind: str,
              outcome: str | None = None, note: str | None = None,
              at: datetime | None = None) -> int:
    """Record a call, email or meeting on a lead (a human touch: it counts as a response),
    with what came of it (one of TOUCH_OUTCOMES) and a note, both optional; returns the
    touch's id."""
    if kind not in HUMAN_KINDS:
        raise InvalidInput("kind", f"'{kind}' is not one of {', '.join(HUMAN_KINDS)}")
    if outcome is not None and outcome not in TOUCH_OUTCOMES:
        raise InvalidInput("outcome", f"'{outcome}' is not one of {', '.join(TOUCH_OUTCOMES)}")
    note = bounded_text("note", note, required=None, limit=NOTE_MAX_CHARS) or None
    lead = _workable(session, actor, lead_id)
    touch = Touch(lead_id=lead.id, at=at or utcnow(), kind=kind, rep=actor.username,
                  outcome=outcome, note=note)
    session.add(touch)
    session.flush()
    record(session, actor=actor.username, action="lead.touch", object_type="lead",
           object_id=_lead_ref(lead), after={"kind": kind, "at": touch.at.isoformat(),
                                             "outcome": outcome, "note": note})
    return touch.id


def accept_lead(*, session: Session, actor: Actor, lead_id: int, note: str | None = None,
                at: datetime | None = None) -> None:
    """Sales accepts the lead as worth working (it becomes a SAL); its author may undo it
    within the workspace's undo window."""
    note = bounded_text("note", note, required=None, limit=NOTE_MAX_CHARS) or None
    lead = _workable(session, actor, lead_id)
    if lead.accepted_at is not None and lead.rejected_at is None:
        raise WorkflowError(f"{_lead_ref(lead)} is already accepted")
    before = _decide(session, actor, lead, "lead.accept", told={"note": note},
                     accepted_at=at or utcnow())
    _remember_decision(session, actor, lead, "accept", before=before, note=note)


def reject_lead(*, session: Session, actor: Actor, lead_id: int, reason: str | None,
                note: str | None = None, at: datetime | None = None) -> None:
    """Sales rejects the lead with one of the agreement's reasons, chosen (never assumed), and
    an optional note; its author may undo it within the workspace's undo window."""
    note = bounded_text("note", note, required=None, limit=NOTE_MAX_CHARS) or None
    if not reason:
        raise InvalidInput("reason", "choose why the lead is rejected")
    lead = _workable(session, actor, lead_id)
    document = signed_document(session)
    allowed = document.rejection_reasons if document else None
    if allowed is not None and reason not in allowed:
        raise InvalidInput("reason", f"'{reason}' is not a rejection reason of the agreement"
                           f" ({', '.join(allowed)})")
    before = _decide(session, actor, lead, "lead.reject", told={"note": note},
                     rejected_at=at or utcnow(), rejection_reason=reason)
    _remember_decision(session, actor, lead, "reject", before=before, reason=reason, note=note)


@dataclass(frozen=True)
class Undoable:
    """The decision on a lead that an undo would revert, and until when its author may."""

    decision_id: int
    kind: str  # accept | reject
    decided_by: str
    decided_at: datetime
    author_until: datetime  # after this, only a head of sales may undo it


def undoable_decision(*, session: Session, actor: Actor, lead_id: int) -> Undoable | None:
    """The lead's latest decision this actor may undo now, if any (what the Undo button
    offers)."""
    try:
        decision, lead = _undo_target(session, actor, lead_id, lock=False)
    except (PermissionDenied, WorkflowError):
        return None
    if decision is None:
        return None
    return Undoable(decision.id, decision.kind, decision.decided_by, decision.decided_at,
                    decision.decided_at + undo_window(session))


def undo_decision(*, session: Session, actor: Actor, lead_id: int) -> str:
    """Revert the lead's latest accept or reject: its author within the workspace's undo
    window, the head of sales at any time; audited. Returns what was undone (accept | reject).
    """
    decision, lead = _undo_target(session, actor, lead_id, lock=True)
    if decision is None:
        raise WorkflowError(f"{_lead_ref(lead)} has no accept or reject to undo")
    restored = {name: _instant(value) for name, value in decision.before.items()}
    _decide(session, actor, lead, f"lead.{decision.kind}_undone", **restored)
    decision.undone_by, decision.undone_at = actor.username, utcnow()
    session.add(decision)
    session.flush()
    return decision.kind


def _undo_target(session: Session, actor: Actor, lead_id: int, *, lock: bool
                 ) -> tuple[LeadDecision | None, Lead]:
    """The decision an undo by this actor would revert (None: nothing to undo), after every
    check: the role, a rep's own lead, authorship and the window, an open dispute."""
    require(actor.role, Action.UNDO_DECISION)
    if lock:
        locks.hold(session, _lock(lead_id))
    lead = _lead(session, lead_id)
    if actor.role == Role.SALES_REP and lead.owner != actor.username:
        raise NotYourLead(actor, lead)
    decision = session.scalars(
        select(LeadDecision).where(LeadDecision.lead_id == lead.id)
        .order_by(col(LeadDecision.decided_at).desc(), col(LeadDecision.id).desc()).limit(1)
    ).first()
    if decision is None or decision.undone_at is not None or not _still_standing(decision, lead):
        return None, lead
    if actor.role == Role.SALES_REP:
        window = undo_window(session)
        if decision.decided_by != actor.username:
            raise PermissionDenied.because(
                actor.role, Action.UNDO_DECISION,
                "a sales rep may undo only their own accept or reject")
        if utcnow() - decision.decided_at > window:
            raise PermissionDenied.because(
                actor.role, Action.UNDO_DECISION,
                f"the undo window of {_minutes(window)} has passed: ask the head of sales")
    if decision.kind == "reject" and session.exec(
            select(Dispute.id).where(Dispute.lead_id == lead.id, Dispute.state == "open")
    ).first():
        raise WorkflowError(f"{_lead_ref(lead)}'s rejection is disputed: a head resolves the "
                            "dispute instead")
    return decision, lead


def _still_standing(decision: LeadDecision, lead: Lead) -> bool:
    """Whether the lead still says what the decision made it say (a dispute overturned, a
    later import or a newer decision would make an undo rewrite someone else's change)."""
    accepted, rejected = lead.accepted_at, lead.rejected_at
    if decision.kind == "accept":  # when both happened the later one counts (a tie: accepted)
        return accepted is not None and (rejected is None or accepted >= rejected)
    return rejected is not None and lead.rejection_reason == decision.reason and (
        accepted is None or rejected > accepted)


def _remember_decision(session: Session, actor: Actor, lead: Lead, kind: str, *,
                       before: dict, reason: str | None = None, note: str | None = None) -> None:
    session.add(LeadDecision(lead_id=lead.id, kind=kind, reason=reason, note=note,
                             decided_by=actor.username, before=before))
    session.flush()


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _instant(value):
    """A decision field restored from its JSON copy (instants were kept as ISO text)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def reassign_leads(*, session: Session, actor: Actor, lead_ids: list[int], to_owner: str,
                   reason: str) -> int:
    """The head of sales hands leads to another rep, with a reason. Their clocks keep running
    as they were (the customer has waited all along); each move is kept in the lead's owner
    history and audited. Returns how many leads changed owner (a lead the rep already owns
    is left as it is)."""
    require(actor.role, Action.REASSIGN_LEADS)
    reason = bounded_text("reason", reason, "say why the leads change hands")
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not ids:
        raise InvalidInput("lead_ids", "choose at least one lead")
    if len(ids) > REASSIGN_MAX_LEADS:
        raise InvalidInput("lead_ids", f"{len(ids):,} leads; at most {REASSIGN_MAX_LEADS:,} "
                           "move in one reassignment")
    rep = session.scalars(select(User).where(User.username == to_owner)).first()
    if rep is None or not rep.active or rep.role != Role.SALES_REP:
        raise InvalidInput("to_owner", f"'{to_owner}' is not an active sales rep")
    moved = 0
    now = utcnow()
    for lead_id in ids:  # in id order: two reassignments at once queue up without deadlock
        locks.hold(session, _lock(lead_id))
        lead = _lead(session, lead_id)
        if lead.owner == to_owner:
            continue
        session.add(LeadOwnerChange(lead_id=lead.id, at=now, from_owner=lead.owner,
                                    to_owner=to_owner, changed_by=actor.username,
                                    reason=reason))
        _decide(session, actor, lead, "lead.reassign", told={"reason": reason}, owner=to_owner)
        moved += 1
    return moved


def edit_lead(*, session: Session, actor: Actor, lead_id: int, changes: dict[str, str | None]
              ) -> dict[str, str | None]:
    """A head corrects a lead's descriptive fields (EDITABLE_FIELDS); audited with before and
    after. Returns the fields that changed."""
    require(actor.role, Action.EDIT_LEADS)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"cannot be edited here; editable: "
                           f"{', '.join(EDITABLE_FIELDS)}")
    cleaned = {}
    for name, value in changes.items():
        text = bounded_text(name, value, required=None, limit=EDITABLE_FIELDS[name]) or None
        if name == "email" and text and ("@" not in text or " " in text):
            raise InvalidInput("email", f"'{text}' is not an email address")
        cleaned[name] = text
    locks.hold(session, _lock(lead_id))
    lead = _lead(session, lead_id)
    changed = {name: value for name, value in cleaned.items() if getattr(lead, name) != value}
    if changed:
        _decide(session, actor, lead, "lead.edit", **changed)
    return changed


def rejected_leads(*, session: Session, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """Rejected leads, newest rejection first, with whether a dispute is open on them."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    open_dispute = (select(Dispute.lead_id).where(Dispute.state == "open")).subquery()
    query = (
        select(Lead.id, Lead.source, Lead.external_id, Lead.name, Lead.company, Lead.channel,
               Lead.owner, Lead.rejected_at, Lead.rejection_reason,
               (open_dispute.c.lead_id.is_not(None)).label("disputed"))
        .outerjoin(open_dispute, open_dispute.c.lead_id == Lead.id)
        .where(col(Lead.rejected_at).is_not(None))
        .order_by(col(Lead.rejected_at).desc()).limit(limit)
    )
    return pd.DataFrame(session.execute(query).all(), columns=[
        "id", "source", "external_id", "name", "company", "channel", "owner", "rejected_at",
        "rejection_reason", "disputed"])


def dispute_rejection(*, session: Session, actor: Actor, lead_id: int, comment: str) -> int:
    """Marketing disputes a rejection, saying why the lead was good."""
    require(actor.role, Action.DISPUTE_REJECTION)
    comment = bounded_text("comment", comment, "say why the rejection is wrong")
    locks.hold(session, _lock(lead_id))
    lead = _lead(session, lead_id)
    if lead.rejected_at is None:
        raise WorkflowError(f"{_lead_ref(lead)} is not rejected")
    if session.execute(select(Dispute.id).where(Dispute.lead_id == lead.id,
                                                Dispute.state == "open")).first():
        raise WorkflowError(f"{_lead_ref(lead)} already has an open dispute")
    dispute = Dispute(lead_id=lead.id, rejection_reason=lead.rejection_reason,
                      opened_by=actor.username, comment=comment)
    session.add(dispute)
    session.flush()
    record(session, actor=actor.username, action="dispute.open", object_type="lead",
           object_id=_lead_ref(lead), after={"dispute": dispute.id, "comment": dispute.comment})
    workflow_notices.dispute_opened(session, actor, lead.id, _lead_ref(lead), lead.owner,
                                    comment)
    return dispute.id


def resolve_dispute(*, session: Session, actor: Actor, dispute_id: int, overturn: bool,
                    comment: str = "") -> None:
    """A head upholds the rejection, or overturns it (the lead goes back to sales)."""
    require(actor.role, Action.RESOLVE_DISPUTE)
    comment = bounded_text("comment", comment or "", required=None)
    locks.hold(session, f"dispute:{dispute_id}")
    dispute = session.get(Dispute, dispute_id, populate_existing=True)
    if dispute is None:
        raise NotFound(f"no dispute {dispute_id}")
    if dispute.state != "open":
        raise WorkflowError(f"dispute {dispute_id} is already {dispute.state}")
    dispute.state = "overturned" if overturn else "upheld"
    dispute.resolved_by, dispute.resolved_at = actor.username, utcnow()
    dispute.resolution = comment or None
    session.add(dispute)
    lead = _lead(session, dispute.lead_id)
    if overturn:
        _decide(session, actor, lead, "lead.rejection_overturned", rejected_at=None,
                rejection_reason=None)
    record(session, actor=actor.username, action=f"dispute.{dispute.state}", object_type="lead",
           object_id=_lead_ref(lead), after={"dispute": dispute.id,
                                             "resolution": dispute.resolution})
    workflow_notices.dispute_resolved(session, actor, lead.id, _lead_ref(lead), dispute.opened_by,
                                      lead.owner, dispute.state, dispute.resolution)


def list_disputes(*, session: Session, actor: Actor, state: str | None = "open"
                  ) -> list[DisputeView]:
    """Disputes in one state (open ones by default; None: every dispute), oldest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return dispute_views(session, *([Dispute.state == state] if state else []))


OVERTURNED_DAYS = 14  # how long a rep's worklist tells of an overturned rejection


def overturned_rejections(*, session: Session, actor: Actor,
                          days: int = OVERTURNED_DAYS) -> list[DisputeView]:
    """Rejections a head overturned in the last `days` days, on the leads the actor works (a
    rep's own; every one for the head of sales), newest first: the outcome and its note reach
    the rep whose rejection it was."""
    require(actor.role, Action.WORK_LEADS)
    conditions = [Dispute.state == "overturned",
                  col(Dispute.resolved_at) >= utcnow() - timedelta(days=days)]
    if actor.role == Role.SALES_REP:
        conditions.append(Lead.owner == actor.username)
    return dispute_views(session, *conditions, order=col(Dispute.resolved_at).desc())


def dispute_views(session: Session, *conditions, order=None) -> list[DisputeView]:
    """The disputes that meet the conditions (on Dispute and Lead), in this order, with their
    leads and people's names."""
    rows = session.execute(select(Dispute, Lead).join(Lead, col(Lead.id) == Dispute.lead_id)
                           .where(*conditions)
                           .order_by(col(Dispute.opened_at) if order is None else order,
                                     col(Dispute.id))).all()
    names = display_names(session, {who for d, lead in rows
                                    for who in (lead.owner, d.opened_by, d.resolved_by) if who})
    return [
        DisputeView(d.id, d.lead_id, _lead_ref(lead), lead.owner, d.rejection_reason,
                    d.opened_by, d.opened_at, d.comment, d.state, d.resolved_by, d.resolution,
                    _lead_title(lead), names, d.resolved_at)
        for d, lead in rows
    ]


@dataclass(frozen=True)
class Rep:
    """A sales rep leads can be given to."""

    username: str
    name: str
    team: str | None


def sales_reps(*, session: Session, actor: Actor) -> list[Rep]:
    """Active sales reps by name, with their teams (whom to reassign to, whom to filter by)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    users = session.scalars(select(User).where(User.role == Role.SALES_REP.value, User.active)
                         .order_by(col(User.display_name))).all()
    return [Rep(user.username, user.display_name, user.team) for user in users]


def _workable(session: Session, actor: Actor, lead_id: int) -> Lead:
    """The lead, if this actor may log touches on it and accept or reject it."""
    require(actor.role, Action.WORK_LEADS)
    locks.hold(session, _lock(lead_id))
    lead = _lead(session, lead_id)
    if actor.role == Role.SALES_REP and lead.owner != actor.username:
        raise NotYourLead(actor, lead)
    return lead


def _decide(session: Session, actor: Actor, lead: Lead, action: str,
            told: dict[str, str | None] | None = None, **changes) -> dict:
    """Change the lead's fields and audit it (with what the person wrote, `told`: a reason, a
    note); returns the fields as they were, as JSON."""
    before = {name: _iso(getattr(lead, name)) for name in changes}
    for name, value in changes.items():
        setattr(lead, name, value)
    session.add(lead)
    session.flush()
    after = {name: _iso(value) for name, value in changes.items()}
    after.update({key: text for key, text in (told or {}).items() if text})
    record(session, actor=actor.username, action=action, object_type="lead",
           object_id=_lead_ref(lead), before=before, after=after)
    return before


def _lock(lead_id: int) -> str:
    """The lock every decision on one lead holds (two people deciding at once queue up)."""
    return f"lead:{lead_id}"


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id, populate_existing=True)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead




def _lead_ref(lead: Lead) -> str:
    return f"{lead.source}/{lead.external_id}"


def _lead_title(lead: Lead) -> str:
    """"D-011908 · Ava Reed (Acme)": the CRM id, the person and the company."""
    who = lead.name or lead.email or "no name"
    return f"{lead.external_id} · {who}" + (f" ({lead.company})" if lead.company else "")


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value

