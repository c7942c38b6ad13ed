"""Notices to people: what the alert engine and the workflow tell someone, listed in the app
(the bell) and sent by email as each person chooses (core.services.deliveries sends them).

- Every notice is in its person's in-app list, whatever they chose for email.
- By email, per kind: `immediately` (the default, when mail is set up), in the daily `digest`,
  or `off`.
- An email waits for the person's working hours: their own zone and quiet hours when they set
  them, else the agreement calendar's working windows. A notice marked urgent does not wait.
  The wait is decided when the notice is made (`deliver_after`); deliveries batches what is
  due for one person into one message.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from core import agreement as sla
from core.calendar import NAT_NS, BusinessCalendar, Clock
from core.errors import InvalidInput
from core.permissions import Role
from core.services.accounts import Actor
from db.models import Notification, NotificationPreference, User, utcnow

# Each kind of notice, as the preferences form names it.
KINDS = {
    "at_risk": "A lead of mine is about to breach",
    "breached": "A lead breached its clock",
    "reassigned": "A lead moved by an escalation rule",
    "digest": "Digests: the morning list, the weekly scorecards",
    "workflow": "Agreement, dispute and review steps",
}
MODES = {"immediately": "Email at once", "digest": "In the daily digest", "off": "No email"}
DEFAULT_MODE = "immediately"
LIST_MAX = 200  # the most notices a list shows
OPENING_LOOKAHEAD = timedelta(days=21)  # how far a wait for the next opening looks


@dataclass(frozen=True)
class Notice:
    """What to tell someone: its kind (KINDS), a one-line title, more text, a page of the app
    (`/lead?lead=7`), and why (the rule or event). A notice with a `once_key` is made once per
    person, ever (a day's digest, a workflow event)."""

    kind: str
    title: str
    cause: str
    body: str = ""
    link: str | None = None
    lead_id: int | None = None
    urgent: bool = False
    once_key: str | None = None


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    cause: str
    created_at: datetime
    read_at: datetime | None
    email_state: str


def notify(session: Session, usernames: Iterable[str], notice: Notice, *, now: datetime,
           calendar: BusinessCalendar | None = None, mail_ready: bool | None = None
           ) -> list[int]:
    """Make the notice for each of these people (active users; the rest are skipped) and return
    the notifications made. Email waits for each person's working hours (`calendar`: the
    agreement's, for people without quiet hours of their own) unless the notice is urgent."""
    if notice.kind not in KINDS:
        raise ValueError(f"unknown notice kind {notice.kind!r}")
    names = sorted(set(usernames))
    if not names:
        return []
    users = session.exec(select(User).where(col(User.username).in_(names), User.active)).all()
    modes = _modes(session, [user.username for user in users], notice.kind)
    if mail_ready is None:
        from core.services import deliveries  # sends what this module makes
        mail_ready = deliveries.mail_ready(session)
    made = []
    for user in users:
        mode = modes.get(user.username, DEFAULT_MODE)
        email = ("none" if not (mail_ready and user.email) or mode == "off"
                 else "digest" if mode == "digest" and notice.kind != "digest" else "pending")
        row = Notification(
            username=user.username, kind=notice.kind, title=notice.title[:200],
            body=notice.body, link=notice.link, cause=notice.cause[:120],
            lead_id=notice.lead_id, urgent=notice.urgent,
            once_key=f"{notice.once_key}:{user.username}"[:160] if notice.once_key else None,
            created_at=now, email_state=email,
            deliver_after=now if notice.urgent else deliverable_from(user, now, calendar))
        if row.once_key is None:
            session.add(row)
            session.flush()
        else:  # made once per person: a second pass finds it made
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                continue
        made.append(row.id)
    return made


def tell(session: Session, usernames: Iterable[str], notice: Notice) -> list[int]:
    """Notify now (a workflow step), email waiting for the active agreement's working hours;
    the person who acted is told by the page, so callers leave them out."""
    from core.services.agreements import active_document  # its steps tell people through here

    document = active_document(session)
    calendar = sla.business_calendar(document) if document else None
    return notify(session, usernames, notice, now=utcnow(), calendar=calendar)


def _modes(session: Session, usernames: list[str], kind: str) -> dict[str, str]:
    rows = session.exec(select(NotificationPreference).where(
        col(NotificationPreference.username).in_(usernames),
        NotificationPreference.kind == kind)).all()
    return {row.username: row.mode for row in rows}


# --- when a person may be told -------------------------------------------------------------


def deliverable_from(user: User, now: datetime, calendar: BusinessCalendar | None) -> datetime:
    """The first instant from `now` on when an email may reach the person: outside their own
    quiet hours when they set them, else inside the agreement calendar's working windows (now
    itself when it is inside one), else now."""
    if user.quiet_start and user.quiet_end:
        zone = user.timezone or (calendar.timezone if calendar else "UTC")
        return _after_quiet_hours(now, local_zone(zone), user.quiet_start, user.quiet_end)
    return now if calendar is None else next_opening(calendar, now)


@lru_cache(maxsize=64)
def next_opening(calendar: BusinessCalendar, now: datetime) -> datetime:
    """Now when inside the calendar's working windows, else its next opening (a pass tells
    many people at one instant: the calendar's table is built once for them all)."""
    clock = Clock(calendar, now - timedelta(days=1), now + OPENING_LOOKAHEAD)
    opening = int(clock.next_opening(np.array([pd.Timestamp(now).value]))[0])
    return now if opening == NAT_NS else pd.Timestamp(opening, tz="UTC").to_pydatetime()


def _after_quiet_hours(now: datetime, zone: ZoneInfo, start: str, end: str) -> datetime:
    """Now, or the end of the quiet span (local `start` to `end`, across midnight when end is
    earlier) that now falls in."""
    local = now.astimezone(zone)
    begins, ends = clock_time(start), clock_time(end)
    today = local.date()
    for day in (today - timedelta(days=1), today):  # a span that began yesterday may run now
        opened = datetime.combine(day, begins, zone)
        closed = datetime.combine(day + timedelta(days=1) if ends <= begins else day, ends, zone)
        if opened <= local < closed:
            return closed.astimezone(now.tzinfo)
    return now


def clock_time(text: str) -> time:
    """A stored "HH:MM" as a time of day."""
    hours, minutes = text.split(":")
    return time(int(hours) % 24, int(minutes))


def local_zone(name: str) -> ZoneInfo:
    """A person's zone (UTC when it no longer exists)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- a person's own notices and choices ----------------------------------------------------


def notifications(*, session: Session, actor: Actor, unread_only: bool = False,
                  limit: int = 50) -> list[NotificationView]:
    """The actor's own notices, newest first (at most LIST_MAX)."""
    query = select(Notification).where(Notification.username == actor.username)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    rows = session.exec(query.order_by(col(Notification.created_at).desc(),
                                       col(Notification.id).desc())
                        .limit(max(1, min(int(limit), LIST_MAX)))).all()
    return [NotificationView(row.id, row.kind, row.title, row.body, row.link, row.cause,
                             row.created_at, row.read_at, row.email_state) for row in rows]


def unread_count(*, session: Session, actor: Actor) -> int:
    """How many of the actor's notices are unread (the bell's number)."""
    return session.exec(select(func.count()).select_from(Notification).where(
        Notification.username == actor.username, col(Notification.read_at).is_(None))).one()


def mark_read(*, session: Session, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notices read (these, or all of them); returns how many changed.
    Another person's notice is never touched, whatever id is given."""
    query = update(Notification).where(Notification.username == actor.username,
                                       col(Notification.read_at).is_(None))
    if ids is not None:
        wanted = sorted({int(value) for value in ids})
        if not wanted:
            return 0
        query = query.where(col(Notification.id).in_(wanted))
    return session.execute(query.values(read_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount


def preferences(*, session: Session, actor: Actor) -> dict[str, str]:
    """The actor's email choice per kind (DEFAULT_MODE where they made none)."""
    chosen = _modes_of(session, actor.username)
    return {kind: chosen.get(kind, DEFAULT_MODE) for kind in KINDS}


def _modes_of(session: Session, username: str) -> dict[str, str]:
    rows = session.exec(select(NotificationPreference).where(
        NotificationPreference.username == username)).all()
    return {row.kind: row.mode for row in rows}


def set_preference(*, session: Session, actor: Actor, kind: str, mode: str) -> dict[str, str]:
    """The actor chooses how one kind reaches them by email (every role may; only their own)."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    if mode not in MODES:
        raise InvalidInput("mode", f"'{mode}' is not one of {', '.join(MODES)}")
    row = session.get(NotificationPreference, (actor.username, kind))
    if row is None:
        row = NotificationPreference(username=actor.username, kind=kind, mode=mode)
    row.mode, row.updated_at = mode, utcnow()
    session.add(row)
    session.flush()
    return preferences(session=session, actor=actor)


@dataclass(frozen=True)
class QuietHours:
    timezone: str | None
    start: str | None
    end: str | None


def quiet_hours(*, session: Session, actor: Actor) -> QuietHours:
    user = _user(session, actor)
    return QuietHours(user.timezone, user.quiet_start, user.quiet_end)


def set_quiet_hours(*, session: Session, actor: Actor, timezone: str | None,
                    start: str | None, end: str | None) -> QuietHours:
    """The actor's own zone and quiet hours ("HH:MM" local; both or neither; the span may cross
    midnight). Without them, alerts wait for the agreement's working hours."""
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("timezone", f"'{timezone}' is not an IANA time zone such as "
                                           "America/New_York") from None
    if bool(start) != bool(end):
        raise InvalidInput("quiet_hours", "give both the start and the end of quiet hours, "
                                          "or neither")
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        if value and not _is_clock_time(value):
            raise InvalidInput(name, f"'{value}' is not a time of day like 21:00")
    if start and start == end:
        raise InvalidInput("quiet_end", "quiet hours must end at another time than they start")
    user = _user(session, actor)
    user.timezone, user.quiet_start, user.quiet_end = timezone or None, start or None, end or None
    session.add(user)
    session.flush()
    return QuietHours(user.timezone, user.quiet_start, user.quiet_end)


def _is_clock_time(text: str) -> bool:
    parts = text.split(":")
    return (len(parts) == 2 and all(part.isdigit() and len(part) == 2 for part in parts)
            and int(parts[0]) < 24 and int(parts[1]) < 60)


def _user(session: Session, actor: Actor) -> User:
    user = session.exec(select(User).where(User.username == actor.username)).first()
    if user is None:
        raise InvalidInput("user", f"no user '{actor.username}'")
    return user


# --- whom a rule names ---------------------------------------------------------------------

HEAD_ROLES = {"sales_head": Role.SALES_HEAD, "marketing_head": Role.MARKETING_HEAD,
              "exec": Role.EXEC}


def people_named(session: Session, names: Iterable[tuple[str, str | None]], owner: str | None
                 ) -> set[str]:
    """The active users a rule's `notify` names, given as (kind, value) pairs
    (core.agreement.recipient_kind): the lead's owner, the owner's team, a head, a team or a
    role."""
    users = session.exec(select(User).where(User.active)).all()
    owner_team = next((user.team for user in users if user.username == owner), None)
    found: set[str] = set()
    for kind, value in names:
        if kind == "owner":
            found |= {user.username for user in users if user.username == owner}
        elif kind == "owner_team":
            found |= {user.username for user in users if owner_team and user.team == owner_team}
        elif kind in HEAD_ROLES:
            found |= {user.username for user in users if user.role == HEAD_ROLES[kind]}
        elif kind == "team":
            found |= {user.username for user in users if user.team == value}
        elif kind == "role":
            found |= {user.username for user in users if user.role == value}
    return found
