"""The agreement's escalation rules carried out: warn before a breach, tell after it, and act.

One pass (`run_pass`: the worker's every minute, `alerts run` from the command line) measures
every open clock of the team's worklist as of an instant, from the same read and measurement as
the worklist (core.services.measurement.every_open_clock), so an alert and the worklist never
disagree. Each clock is governed by the rules of the agreement version it is measured against:

- `at_risk` fires while the clock is at risk; `breached` once it is overdue, or, with `after`,
  once it has been overdue for that much business time (`2d`: two working days past due). A
  breach whose moment passed more than a day (CATCH_UP) before the pass is not acted on: the
  rule was not watching then (history imported later, a ladder signed later).
- A rule fires once per lead, ever: its AlertFiring row has a unique key, so of two workers
  passing at once exactly one inserts it, and only that one tells people and acts.
- Whom it names get a notice (core.services.notifications: in the app, and by email in their
  working hours); a `reassign` action hands the lead round robin to the next active rep of the
  team (not its owner), through the leads service's reassignment (owner history, audit), and
  the new owner is told too.
- Chat channels get one post per kind per pass (core.services.deliveries), then everything due
  is sent.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import agreement as sla
from core import clock as now_clock
from core.calendar import NAT_NS, Clock, format_business_duration
from core.errors import InvalidInput
from core.notify.webhooks import Item
from core.permissions import Role
from core.services import deliveries, digests, measurement, notifications
from core.services.accounts import Actor
from core.services.leads import reassign_leads
from core.services.notifications import Notice
from core.wording import words
from db import locks
from db.models import AlertFiring, User

# The agreement acts through this actor: a signed rule carries the head of sales' authority to
# reassign (audited as "handoff").
ESCALATION_ACTOR = Actor(username="handoff", display_name="Handoff (escalation rule)",
                         role=Role.SALES_HEAD)
FIRINGS_PER_PASS = 500  # the most rules one pass fires (the most urgent first; the rest next)
ROUND_ROBIN_MEMORY = 500  # how many recent reassignments the round robin looks back over
TRIGGER_KIND = {"at_risk": "at_risk", "breached": "breached"}
CATCH_UP = pd.Timedelta(hours=24)  # how late a breach rule still fires (see _due_rules)


@dataclass(frozen=True)
class Fired:
    """A rule that fired for a lead in a pass: whom it told and what it did."""

    lead_id: int
    lead: str
    rule: str
    commitment: str
    trigger: str
    version: int
    notified: list[str]
    reassigned_to: str | None = None
    note: str | None = None


@dataclass
class PassResult:
    as_of: datetime
    fired: list[Fired] = field(default_factory=list)
    digests: dict[str, list[str]] = field(default_factory=dict)
    dispatch: dict | None = None

    def as_json(self) -> dict:
        return {"as_of": self.as_of.isoformat().replace("+00:00", "Z"),
                "fired": [asdict(fired) for fired in self.fired],
                "counts": {trigger: sum(f.trigger == trigger for f in self.fired)
                           for trigger in TRIGGER_KIND},
                "digests": self.digests, "dispatch": self.dispatch}


def run_pass(sessions: Callable[[], AbstractContextManager[Session]],
             as_of: str | datetime | None = None, *, send: bool = True) -> PassResult:
    """One alerts pass as of `as_of` (default now; a naive text is read in the agreement's
    zone): fire the rules due (one transaction), make the digests due (another), then send what
    is due (deliveries.dispatch)."""
    with sessions() as session:
        instant = _instant(session, as_of)
        result = PassResult(instant, fire(session, instant))
    with sessions() as session:
        result.digests = digests.run_digests(session, instant, ESCALATION_ACTOR)
    if send:
        result.dispatch = deliveries.dispatch(sessions, now=instant).as_json()
    return result


def _instant(session: Session, as_of: str | datetime | None) -> datetime:
    if as_of is None:
        return now_clock.now()
    try:
        zone = measurement.context(session=session, actor=ESCALATION_ACTOR).timezone
    except (InvalidInput, measurement.AmbiguousAgreement):
        zone = "UTC"
    return measurement.instant(as_of, zone).to_pydatetime()


def fire(session: Session, as_of: datetime) -> list[Fired]:
    """Fire every rule due as of `as_of` that has not fired for its lead yet. One pass at a
    time (a lock to the end of the transaction): a second pass waits, then finds the firings
    made, so two workers never split a pass's leads into two messages."""
    locks.hold(session, "alerts pass")
    try:
        signed = measurement.context(session=session, actor=ESCALATION_ACTOR, as_of=as_of)
    except (InvalidInput, measurement.AmbiguousAgreement):
        return []  # no signed agreement (or several, as for the worklist): nothing to carry out
    if not any(version.document.escalations for version in signed.versions):
        return []  # no rules: nothing to measure for
    scope, clocks = measurement.every_open_clock(session=session, actor=ESCALATION_ACTOR,
                                                 as_of=as_of)
    documents = {version.number: version.document for version in scope.versions}
    due = list(_due_rules(clocks, documents, pd.Timestamp(as_of)))
    fired_before = _fired_keys(session, scope.agreement_id, {row.id for row, _, _ in due})
    calendar = sla.business_calendar(scope.document)
    fired: list[Fired] = []
    posts: dict[str, list[Item]] = {}
    for row, rule, version in due:
        if (int(row.id), rule.id) in fired_before:
            continue
        if len(fired) >= FIRINGS_PER_PASS:
            break
        firing = _claim(session, scope.agreement_id, version, row, rule, as_of)
        if firing is None:
            continue  # another pass fired it first
        one = _carry_out(session, firing, row, rule, documents[version], calendar, as_of)
        fired.append(one)
        posts.setdefault(_kind(one), []).append(Item(
            _chat_line(one, row, rule),
            deliveries.absolute_link(deliveries.app_url(), _lead_link(one.lead_id))))
    for kind, items in posts.items():
        deliveries.post_to_channels(session, kind, _chat_title(kind, len(items)), items,
                                    cause="escalations", now=as_of)
    return fired


def _due_rules(clocks: pd.DataFrame, documents: dict[int, sla.Document], as_of: pd.Timestamp
               ) -> Iterator[tuple[object, sla.Escalation, int]]:
    """(clock row, rule, version) for every rule whose trigger holds for an open clock, the
    most urgent clocks first (the worklist's order). A breach rule whose moment (the due, or
    `after` past it) is more than CATCH_UP old is not fired: that lead was overdue before the
    rule was watching (history just imported, a ladder just signed), and a worker that was
    down for less than that still catches up."""
    for number, document in documents.items():
        if not document.escalations:
            continue
        governed = clocks[clocks["version"] == number]
        for rule in document.escalations:
            rows = governed[governed["commitment"] == rule.commitment]
            if rule.trigger == "at_risk":  # a state that ends by itself: never stale
                rows = rows[rows["state"] == "at_risk"]
            else:
                rows = rows[rows["state"] == "overdue"]
                moments = rows["due"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
                if rule.after and len(rows):
                    moments = _escalated_by(document, rule.after, rows["due"])
                rows = rows[(moments <= as_of.value) &
                            (moments >= (as_of - CATCH_UP).value)]
            for row in rows.itertuples(index=False):
                yield row, rule, number


def _escalated_by(document: sla.Document, after: str, dues: pd.Series) -> np.ndarray:
    """Epoch ns at which each due is `after` business time behind (NAT_NS → never)."""
    amount, unit = sla.parse_within(after)
    calendar = sla.business_calendar(document)
    low = dues.min() - pd.Timedelta(days=1)
    clock = Clock(calendar, low.to_pydatetime(), dues.max().to_pydatetime())
    instants = dues.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    moments = (clock.due_days(instants, amount) if unit == "d"
               else clock.due(instants, amount * (3600 if unit == "h" else 60)))
    return np.where(moments == NAT_NS, np.iinfo(np.int64).max, moments)


def _fired_keys(session: Session, agreement_id: int, lead_ids: set[int]) -> set[tuple[int, str]]:
    if not lead_ids:
        return set()
    found = set()
    ordered = sorted(lead_ids)
    for start in range(0, len(ordered), 1_000):
        found |= set(session.exec(select(AlertFiring.lead_id, AlertFiring.rule_id).where(
            AlertFiring.agreement_id == agreement_id,
            col(AlertFiring.lead_id).in_(ordered[start:start + 1_000]))).all())
    return found


def _claim(session: Session, agreement_id: int, version: int, row, rule: sla.Escalation,
           as_of: datetime) -> AlertFiring | None:
    """Insert the rule's firing for the lead; None when it exists (another pass's)."""
    firing = AlertFiring(agreement_id=agreement_id, version=version, lead_id=int(row.id),
                         rule_id=rule.id, commitment=rule.commitment, trigger=rule.trigger,
                         owner=row.owner, due=None if pd.isna(row.due) else row.due.to_pydatetime(),
                         fired_at=as_of, outcome={})
    try:
        with session.begin_nested():
            session.add(firing)
    except IntegrityError:
        return None
    return firing


def _carry_out(session: Session, firing: AlertFiring, row, rule: sla.Escalation,
               document: sla.Document, calendar, as_of: datetime) -> Fired:
    """Act (a reassignment) and tell the people the rule names."""
    owner = row.owner
    new_owner, note = None, None
    if rule.action is not None:
        new_owner, note = _reassign(session, row, rule, owner)
        firing.outcome = {"reassigned_to": new_owner, "team": note} if new_owner else {
            "not_reassigned": note}
        session.add(firing)
    named = notifications.people_named(
        session, [sla.recipient_kind(entry) for entry in rule.notify], owner)
    notifications.notify(session, named, _notice(row, rule, document, owner, new_owner, note),
                         now=as_of, calendar=calendar)
    if new_owner:
        notifications.notify(session, [new_owner], Notice(
            kind="reassigned", title=f"{_lead_ref(row)} is yours now: {_what(rule)} overdue "
                                     f"by {_after_words(rule.after)}, moved from "
                                     f"{owner or 'nobody'} by rule {rule.id}",
            cause=f"escalation {rule.id}", link=_lead_link(int(row.id)), lead_id=int(row.id),
            urgent=rule.urgent), now=as_of, calendar=calendar)
        named.add(new_owner)
    return Fired(int(row.id), str(row.external_id), rule.id, rule.commitment, rule.trigger,
                 firing.version, sorted(named), new_owner,
                 None if new_owner or rule.action is None else note)


def _reassign(session: Session, row, rule: sla.Escalation, owner: str | None
              ) -> tuple[str | None, str]:
    """Hand the lead to the team's next rep; (the rep, the team) or (None, why not)."""
    target = rule.action.reassign
    if target == "owner_team":
        team = session.exec(select(User.team).where(User.username == owner)).first() \
            if owner else None
        if not team:
            return None, f"{owner or 'the owner'} has no team"
    else:
        team = target.removeprefix("team:")
    rep = next_rep(session, team, exclude=owner)
    if rep is None:
        return None, f"team {team} has no other active sales rep"
    reassign_leads(session=session, actor=ESCALATION_ACTOR, lead_ids=[int(row.id)],
                   to_owner=rep, reason=f"escalation rule {rule.id}: {_what(rule)} overdue by "
                                        f"{_after_words(rule.after)}")
    return rep, team


def next_rep(session: Session, team: str, exclude: str | None = None) -> str | None:
    """The team's next active sales rep in round-robin order (by username, after the one the
    rules last gave a lead of this team), never `exclude`. Held under the team's lock, so two
    passes at once take turns."""
    locks.hold(session, f"round robin {team}")
    reps = sorted(session.exec(select(User.username).where(
        User.team == team, User.role == Role.SALES_REP.value, User.active)).all())
    choices = [rep for rep in reps if rep != exclude]
    if not choices:
        return None
    recent = session.exec(select(AlertFiring.outcome).order_by(col(AlertFiring.id).desc())
                          .limit(ROUND_ROBIN_MEMORY)).all()
    last = next((outcome.get("reassigned_to") for outcome in recent
                 if outcome and outcome.get("team") == team and outcome.get("reassigned_to")),
                None)
    if last is None:
        return choices[0]
    later = [rep for rep in choices if rep > last]
    return later[0] if later else choices[0]


# --- what the notices say -------------------------------------------------------------------


def _notice(row, rule: sla.Escalation, document: sla.Document, owner: str | None,
            new_owner: str | None, note: str | None) -> Notice:
    ref, lead_id = _lead_ref(row), int(row.id)
    zone = document.calendar.timezone
    due = "" if pd.isna(row.due) else pd.Timestamp(row.due).tz_convert(zone).strftime(
        "%a %d %b %H:%M %Z")
    if rule.trigger == "at_risk":
        left = format_business_duration(max(int(row.business_seconds_left), 0))
        kind, title = "at_risk", f"{ref}: {_what(rule)} at risk, {left} of business time left"
        body = f"Due {due}. Owner: {owner or 'nobody'}."
    elif new_owner:
        kind = "reassigned"
        title = (f"{ref}: {_what(rule)} overdue by {_after_words(rule.after)}; moved from "
                 f"{owner or 'nobody'} to {new_owner}")
        body = f"Was due {due}. Rule {rule.id} hands it to the next rep of the team."
    else:
        kind, title = "breached", f"{ref}: {_what(rule)} breached (was due {due})"
        if rule.after:
            title = f"{ref}: {_what(rule)} overdue by {_after_words(rule.after)}"
        body = f"Owner: {owner or 'nobody'}." + (f" Not reassigned: {note}." if note else "")
    return Notice(kind=kind, title=title, body=body, cause=f"escalation {rule.id}",
                  link=_lead_link(lead_id), lead_id=lead_id, urgent=rule.urgent)


def _kind(fired: Fired) -> str:
    return "reassigned" if fired.reassigned_to else TRIGGER_KIND[fired.trigger]


def _chat_line(fired: Fired, row, rule: sla.Escalation) -> str:
    told = ", ".join(fired.notified) or "nobody"
    moved = f"; moved to {fired.reassigned_to}" if fired.reassigned_to else ""
    return f"{_lead_ref(row)}: {_what(rule)} {words(rule.trigger, capitalized=False)}" \
           f"{moved} (rule {rule.id}; told {told})"


def _chat_title(kind: str, count: int) -> str:
    return f"Handoff: {count} lead{'s' if count != 1 else ''} " + {
        "at_risk": "about to breach", "breached": "breached",
        "reassigned": "reassigned by escalation"}[kind]


def _what(rule: sla.Escalation) -> str:
    return words(rule.commitment, capitalized=False)


def _after_words(after: str | None) -> str:
    if not after:
        return "its due time"
    amount, unit = sla.parse_within(after)
    name = {"m": "business minute", "h": "business hour", "d": "business day"}[unit]
    return f"{amount} {name}{'s' if amount != 1 else ''}"


def _lead_ref(row) -> str:
    name = row.name if isinstance(row.name, str) and row.name else None
    return f"{row.external_id} · {name}" if name else str(row.external_id)


def _lead_link(lead_id: int) -> str:
    return f"/lead?lead={lead_id}"
