"""One lead as a person reads it: its fields, its stages, and its timeline (touches, accept and
reject, owner changes, disputes, corrections and imports), newest first, from the audit trail
and the touches on record. Its clocks come from the read side (measurement.lead_clocks)."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from core.permissions import Action, Role, require
from core.services.accounts import Actor, display_names
from core.services.leads import (
    DisputeView,
    NotYourLead,
    _lead,
    _lead_ref,
    _lead_title,
    dispute_views,
)
from core.wording import words
from db.models import AuditEvent, Dispute, LeadDecision, Touch

TIMELINE_MAX = 200  # entries shown; the page says how many more there are
STAGES = (("Created", "created_at"), ("MQL", "mql_at"), ("Accepted (SAL)", "accepted_at"),
          ("Rejected", "rejected_at"), ("SQL", "sql_at"), ("Opportunity", "opportunity_at"),
          ("Won", "won_at"), ("Lost", "lost_at"))
FIELDS = ("name", "company", "email", "owner", "channel", "segment", "region", "country",
          "score", "amount", "recycled")


@dataclass(frozen=True)
class Event:
    """One line of a lead's timeline."""

    at: datetime
    who: str | None  # a username (Record.name tells it), None for the CRM's own stages
    what: str
    detail: str | None = None


@dataclass(frozen=True)
class Record:
    """Everything the lead page shows but the clocks."""

    id: int
    ref: str  # "source/external_id"
    title: str  # "D-011908 · Ava Reed (Acme)"
    fields: dict
    stages: list[tuple[str, datetime | None]]
    rejection_reason: str | None
    rejection_note: str | None
    decided: str | None  # what stands: "accepted", "rejected" or None (the later one wins)
    timeline: list[Event]
    timeline_total: int
    disputes: list[DisputeView]
    names: dict[str, str] = field(default_factory=dict)

    def name(self, username: str | None) -> str:
        return self.names.get(username, username) if username else "nobody"


def lead_record(*, session: Session, actor: Actor, lead_id: int) -> Record:
    """The lead's page: a rep opens only their own leads; every other role that sees
    dashboards opens any lead."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    lead = _lead(session, lead_id)
    if actor.role == Role.SALES_REP and lead.owner != actor.username:
        raise NotYourLead(actor, lead)
    ref = _lead_ref(lead)
    touches = session.exec(select(Touch).where(Touch.lead_id == lead.id)
                           .order_by(col(Touch.at).desc(), col(Touch.id).desc())
                           .limit(TIMELINE_MAX)).all()
    audits = session.exec(select(AuditEvent).where(
        AuditEvent.object_type == "lead", AuditEvent.object_id == ref,
        AuditEvent.action != "lead.touch")  # the touch itself is on the timeline
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(TIMELINE_MAX)).all()
    people = {touch.rep for touch in touches} | {event.actor for event in audits} | {
        (event.before or {}).get("owner") for event in audits} | {
        (event.after or {}).get("owner") for event in audits} | {lead.owner}
    names = display_names(session, {who for who in people if isinstance(who, str) and who})
    events = [_touch_event(touch) for touch in touches]
    events += [_audit_event(event, names) for event in audits]
    decided_in_app = {event.action for event in audits}
    events += [Event(at, None, f"Reached {label}" if label in ("MQL", "SQL") else label)
               for (label, column), (_, at) in reversed(list(zip(STAGES, _stages(lead),
                                                                 strict=True)))
               if at is not None and AUDITED_STAGES.get(column) not in decided_in_app]
    # (later stages first: at one instant, newest first still reads MQL above Created)
    events.sort(key=lambda event: event.at, reverse=True)
    total = len(events)
    decision = session.exec(
        select(LeadDecision).where(LeadDecision.lead_id == lead.id,
                                   LeadDecision.kind == "reject",
                                   col(LeadDecision.undone_at).is_(None))
        .order_by(col(LeadDecision.decided_at).desc())).first()
    disputes = dispute_views(session, Dispute.lead_id == lead.id,
                             order=col(Dispute.opened_at).desc())
    return Record(
        id=lead.id, ref=ref, title=_lead_title(lead),
        fields={"external_id": lead.external_id, "source": lead.source,
                **{name: getattr(lead, name) for name in FIELDS}},
        stages=_stages(lead),
        decided=_decided(lead),
        rejection_reason=lead.rejection_reason,
        rejection_note=decision.note if decision and lead.rejected_at else None,
        timeline=events[:TIMELINE_MAX], timeline_total=total, disputes=disputes,
        names=names,
    )


# A stage a person sets in the app is on the timeline as their audited decision instead.
AUDITED_STAGES = {"accepted_at": "lead.accept", "rejected_at": "lead.reject"}


def _stages(lead) -> list[tuple[str, datetime | None]]:
    return [(label, getattr(lead, column)) for label, column in STAGES]


def _decided(lead) -> str | None:
    accepted, rejected = lead.accepted_at, lead.rejected_at
    if accepted is not None and (rejected is None or accepted >= rejected):
        return "accepted"
    return "rejected" if rejected is not None else None


def _touch_event(touch: Touch) -> Event:
    what = f"{'Automated ' + touch.kind if touch.automated else touch.kind.capitalize()}"
    if touch.outcome:
        what += f": {words(touch.outcome, capitalized=False)}"
    return Event(touch.at, touch.rep or None, what, touch.note)


_SAID = {
    "lead.accept": "Accepted the lead",
    "lead.accept_undone": "Undid the accept",
    "lead.reject_undone": "Undid the rejection",
    "lead.rejection_overturned": "Rejection overturned: the lead is back with sales",
    "dispute.upheld": "Upheld the rejection",
    "dispute.overturned": "Overturned the rejection",
    "lead.import_update": "Updated by an import",
    "lead.import_undo_insert": "Import undone",
}


def _audit_event(event: AuditEvent, names: dict[str, str]) -> Event:
    """The timeline line of an audited change of the lead."""
    after, before = event.after or {}, event.before or {}

    def name(username: str | None) -> str:
        return names.get(username, username) if username else "nobody"

    who = event.actor
    if event.action == "lead.reject":
        return Event(event.at, who,
                     f"Rejected: {words(after.get('rejection_reason') or '?', capitalized=False)}",
                     after.get("note"))
    if event.action == "lead.reassign":
        return Event(event.at, who, f"Reassigned from {name(before.get('owner'))} to "
                                    f"{name(after.get('owner'))}", after.get("reason"))
    if event.action == "lead.edit":
        changed = "; ".join(f"{name}: {before.get(name) or '–'} → {value or '–'}"
                            for name, value in after.items())
        return Event(event.at, who, "Corrected the lead", changed)
    if event.action == "dispute.open":
        return Event(event.at, who, "Disputed the rejection", after.get("comment"))
    if event.action in ("dispute.upheld", "dispute.overturned"):
        return Event(event.at, who, _SAID[event.action], after.get("resolution"))
    if event.action == "lead.import_update":
        fields = ", ".join(name for name in after if name not in ("batch",))
        return Event(event.at, who, _SAID[event.action], fields or None)
    if event.action in _SAID:
        return Event(event.at, who, _SAID[event.action], after.get("note"))
    return Event(event.at, who, words(event.action.split(".", 1)[-1]))
