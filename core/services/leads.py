"""Working leads in the app: a rep's leads, touches, accept/reject, and rejection disputes."""

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import case, func, select
from sqlmodel import Session, col

from core.errors import InvalidInput, NotFound
from core.permissions import Action, PermissionDenied, Role, require
from core.services.accounts import Actor, display_names
from core.services.agreements import WorkflowError, signed_document
from core.services.audit import record
from core.services.validation import bounded_text
from db import locks
from db.models import Dispute, Lead, Touch, utcnow

HUMAN_KINDS = ("call", "email", "meeting")


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
              at: datetime | None = None) -> None:
    """Record a call, email or meeting on a lead (a human touch: it counts as a response)."""
    lead = _workable(session, actor, lead_id)
    if kind not in HUMAN_KINDS:
        raise InvalidInput("kind", f"'{kind}' is not one of {', '.join(HUMAN_KINDS)}")
    touch = Touch(lead_id=lead.id, at=at or utcnow(), kind=kind, rep=actor.username)
    session.add(touch)
    session.flush()
    record(session, actor=actor.username, action="lead.touch", object_type="lead",
           object_id=_lead_ref(lead), after={"kind": kind, "at": touch.at.isoformat()})


def accept_lead(*, session: Session, actor: Actor, lead_id: int,
                at: datetime | None = None) -> None:
    """Sales accepts the lead as worth working (it becomes a SAL)."""
    lead = _workable(session, actor, lead_id)
    if lead.accepted_at is not None and lead.rejected_at is None:
        raise WorkflowError(f"{_lead_ref(lead)} is already accepted")
    _decide(session, actor, lead, "lead.accept", accepted_at=at or utcnow())


def reject_lead(*, session: Session, actor: Actor, lead_id: int, reason: str,
                at: datetime | None = None) -> None:
    """Sales rejects the lead with one of the agreement's reasons."""
    lead = _workable(session, actor, lead_id)
    document = signed_document(session)
    allowed = document.rejection_reasons if document else None
    if not reason or (allowed is not None and reason not in allowed):
        raise InvalidInput("reason", f"'{reason}' is not a rejection reason of the agreement"
                           + (f" ({', '.join(allowed)})" if allowed else ""))
    _decide(session, actor, lead, "lead.reject", rejected_at=at or utcnow(),
            rejection_reason=reason)


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


def list_disputes(*, session: Session, actor: Actor, state: str | None = "open"
                  ) -> list[DisputeView]:
    """Disputes (open ones by default), oldest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    query = select(Dispute, Lead).join(Lead, col(Lead.id) == Dispute.lead_id).order_by(
        col(Dispute.opened_at))
    if state:
        query = query.where(Dispute.state == state)
    rows = session.execute(query).all()
    names = display_names(session, {who for d, lead in rows
                                    for who in (lead.owner, d.opened_by, d.resolved_by) if who})
    return [
        DisputeView(d.id, d.lead_id, _lead_ref(lead), lead.owner, d.rejection_reason,
                    d.opened_by, d.opened_at, d.comment, d.state, d.resolved_by, d.resolution,
                    _lead_title(lead), names)
        for d, lead in rows
    ]


def _workable(session: Session, actor: Actor, lead_id: int) -> Lead:
    """The lead, if this actor may log touches on it and accept or reject it."""
    require(actor.role, Action.WORK_LEADS)
    locks.hold(session, _lock(lead_id))
    lead = _lead(session, lead_id)
    if actor.role == Role.SALES_REP and lead.owner != actor.username:
        raise NotYourLead(actor, lead)
    return lead


def _decide(session: Session, actor: Actor, lead: Lead, action: str, **changes) -> None:
    before = {name: _iso(getattr(lead, name)) for name in changes}
    for name, value in changes.items():
        setattr(lead, name, value)
    session.add(lead)
    session.flush()
    record(session, actor=actor.username, action=action, object_type="lead",
           object_id=_lead_ref(lead), before=before,
           after={name: _iso(value) for name, value in changes.items()})


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

