"""Digests, made by the alerts pass at the start of a working day, each once:

- **a rep's morning list**: their at-risk and overdue leads, as their worklist has them at that
  instant, and the notices they chose to get in the digest since the last one;
- **the heads' weekly scorecards** on the first working day of a week: both sides' commitments
  for the week before (the report of that week), against the week before it, the biggest slips
  first;
- **the exec's review to sign**: once a quarter is over and its review is not signed.

A person's day starts at the agreement calendar's first opening of the local day, or at the end
of their own quiet hours when they set them. A digest missed at the opening (the worker was
down) is still made later that day, never the next.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from core import agreement as sla
from core import dashboard, periods
from core.calendar import BusinessCalendar
from core.errors import InvalidInput
from core.permissions import Role
from core.services import measurement, notifications, reviews
from core.services.accounts import Actor, get_actor
from core.services.notifications import Notice
from core.wording import words
from db.models import Notification, QuarterlyReview, User

WORKLIST_STATES = ("overdue", "at_risk")
LISTED_MAX = 50  # the most leads or notices one digest lists
SLIPS = 3  # the biggest slips the weekly digest names first


@dataclass(frozen=True)
class Day:
    """A person's working day: its local date and when it starts and ends (aware)."""

    local_date: date
    starts: datetime
    ends: datetime


def run_digests(session: Session, as_of: datetime, actor: Actor) -> dict[str, list[str]]:
    """Make the digests due as of `as_of` that are not made yet; who got which."""
    try:
        context = measurement.context(session=session, actor=actor, as_of=as_of)
    except (InvalidInput, measurement.AmbiguousAgreement):
        return {}  # no signed agreement (or several, as for the worklist)
    in_force = periods.in_force_at(pd.Timestamp(as_of), list(context.versions)) \
        or context.versions[-1]
    calendar = sla.business_calendar(in_force.document)
    users = session.exec(select(User).where(User.active)).all()
    return {"morning": _mornings(session, users, as_of, calendar),
            "weekly": _weekly(session, users, as_of, calendar, actor),
            "review": _review_ready(session, users, as_of, calendar, actor, context)}


# --- a rep's morning list ------------------------------------------------------------------


def _mornings(session: Session, users: list[User], as_of: datetime,
              calendar: BusinessCalendar) -> list[str]:
    made = []
    for user in users:
        if user.role != Role.SALES_REP:
            continue
        day = working_day(user, as_of, calendar)
        if day is None or _made(session, f"digest:morning:{day.local_date}:{user.username}"):
            continue
        notice = morning_digest(session, get_actor(session=session, username=user.username),
                                as_of, day.local_date)
        if notifications.notify(session, [user.username], notice, now=as_of, calendar=calendar):
            made.append(user.username)
    return made


def morning_digest(session: Session, rep: Actor, as_of: datetime, day: date) -> Notice:
    """The rep's morning list: their worklist's overdue and at-risk leads as of `as_of`, and the
    notices they chose to get in the digest (those are marked digested)."""
    work = measurement.worklist(session=session, actor=rep, as_of=as_of)
    urgent = work[work["state"].isin(WORKLIST_STATES)]
    counts = {state: int((urgent["state"] == state).sum()) for state in WORKLIST_STATES}
    lines = [f"- {row.external_id} · {row.name or row.company or ''}: "
             f"{words(row.commitment, capitalized=False)} {words(row.state, capitalized=False)}"
             for row in urgent.head(LISTED_MAX).itertuples()]
    if len(urgent) > LISTED_MAX:
        lines.append(f"- and {len(urgent) - LISTED_MAX} more on your worklist")
    saved = _digested(session, rep.username)
    if saved:
        lines += ["", "Since your last digest:"] + [f"- {title}" for title in saved]
    title = (f"Your morning list: {counts['overdue']} overdue, {counts['at_risk']} at risk"
             if len(urgent) else "Your morning list: nothing overdue or at risk")
    return Notice(kind="digest", title=title, body="\n".join(lines) or "All clear.",
                  cause="morning digest", link="/leads", once_key=f"digest:morning:{day}",
                  urgent=True)


def _digested(session: Session, username: str) -> list[str]:
    """The titles of the person's notices waiting for the digest, marked as digested."""
    waiting = session.exec(select(Notification).where(
        Notification.username == username, Notification.email_state == "digest")
        .order_by(col(Notification.id))).all()
    if waiting:
        session.execute(update(Notification).where(
            col(Notification.id).in_([row.id for row in waiting]))
            .values(email_state="digested").execution_options(synchronize_session=False))
    return [row.title for row in waiting[:LISTED_MAX]]


# --- the heads' weekly scorecards -----------------------------------------------------------


def _weekly(session: Session, users: list[User], as_of: datetime,
            calendar: BusinessCalendar, actor: Actor) -> list[str]:
    heads = [user for user in users if user.role in (Role.SALES_HEAD, Role.MARKETING_HEAD)]
    monday = _local_monday(as_of, calendar.timezone)
    made = []
    for user in heads:
        day = working_day(user, as_of, calendar)
        if day is None or _first_working_day(calendar, monday) != day.local_date:
            continue
        if _made(session, f"digest:weekly:{monday}:{user.username}"):
            continue
        notice = weekly_digest(session, actor, as_of, monday)
        if notice and notifications.notify(session, [user.username], notice, now=as_of,
                                           calendar=calendar):
            made.append(user.username)
    return made


def week_period(monday: date) -> str:
    """The period of the week before the one starting `monday` ("2026-03-02:2026-03-09")."""
    return f"{monday - timedelta(days=7)}:{monday}"


def weekly_digest(session: Session, actor: Actor, as_of: datetime, monday: date
                  ) -> Notice | None:
    """Both sides' scorecards for the week before `monday`, the biggest slips against the
    week before it first (None when no signed version covers that week)."""
    try:
        scope = measurement.scope(session=session, actor=actor, period=week_period(monday),
                                  as_of=as_of)
        before = measurement.scope(session=session, actor=actor,
                                   period=week_period(monday - timedelta(days=7)), as_of=as_of)
    except InvalidInput:
        return None
    report = measurement.report(session=session, actor=actor, scope=scope)
    try:
        previous = measurement.report(session=session, actor=actor, scope=before)
    except InvalidInput:
        previous = None
    card = dashboard.scorecard(report, previous)
    slips = card[card["trend_pct"].notna() & (card["trend_pct"] < 0)].nsmallest(
        SLIPS, "trend_pct")
    lines = [f"Week of {monday - timedelta(days=7)}:"]
    lines += [f"- {words(row.side)} · {words(row.id)}: {row.status_words.lower()}, "
              f"{row.headline}" for row in card.itertuples()]
    if len(slips):
        lines += ["", "Biggest slips against the week before:"]
        lines += [f"- {words(row.id)}: {row.trend_pct:+.1f} points" for row in
                  slips.itertuples()]
    missed = int((card["status"] == "missed").sum())
    return Notice(kind="digest", title=f"Weekly scorecard, week of {monday - timedelta(days=7)}:"
                                       f" {missed} of {len(card)} missed",
                  body="\n".join(lines), cause="weekly digest", link="/dashboard",
                  once_key=f"digest:weekly:{monday}", urgent=True)


def _local_monday(as_of: datetime, zone: str) -> date:
    today = pd.Timestamp(as_of).tz_convert(zone).date()
    return today - timedelta(days=today.weekday())


def _first_working_day(calendar: BusinessCalendar, monday: date) -> date | None:
    return next((day for day in (monday + timedelta(days=n) for n in range(7))
                 if calendar.day_windows(day)), None)


# --- the exec's review to sign ---------------------------------------------------------------


def _review_ready(session: Session, users: list[User], as_of: datetime,
                  calendar: BusinessCalendar, actor: Actor, context) -> list[str]:
    quarter = reviews.last_finished_quarter(session=session, actor=actor, as_of=as_of)
    signed = session.exec(select(QuarterlyReview.id).where(
        QuarterlyReview.agreement_id == context.agreement_id, QuarterlyReview.quarter == quarter,
        QuarterlyReview.state == "signed")).first()
    if signed is not None or not _covered(context, quarter):
        return []
    execs = [user.username for user in users if user.role == Role.EXEC]
    made = notifications.notify(session, execs, Notice(
        kind="workflow", title=f"The {quarter} review is ready to sign",
        body=f"{quarter} is over: its scorecard is final. Read it, discuss it and sign it off "
             "on the Quarterly review page.", cause="review ready",
        link="/review", once_key=f"review-ready:{context.agreement_id}:"
                                                    f"{quarter}"), now=as_of, calendar=calendar)
    return execs if made else []


def _covered(context, quarter: str) -> bool:
    window = periods.parse_period(quarter, context.timezone)
    return bool(periods.covering(window, list(context.versions)))


# --- days ------------------------------------------------------------------------------------


def working_day(user: User, as_of: datetime, calendar: BusinessCalendar) -> Day | None:
    """The person's working day holding `as_of`, if it has started and not ended: from the
    end of their quiet hours (on the calendar's working days), else the calendar's windows."""
    local_date = pd.Timestamp(as_of).tz_convert(calendar.timezone).date()
    windows = calendar.day_windows(local_date)
    if not windows:
        return None
    starts, ends = windows[0][0], windows[-1][1]
    if user.quiet_start and user.quiet_end:
        zone = notifications.local_zone(user.timezone or calendar.timezone)
        mine = pd.Timestamp(as_of).tz_convert(zone).date()
        starts = datetime.combine(mine, notifications.clock_time(user.quiet_end), zone)
        ends = datetime.combine(mine, notifications.clock_time(user.quiet_start), zone)
        if ends <= starts:
            ends += timedelta(days=1)
    if not starts <= as_of < ends:
        return None
    return Day(local_date, starts, ends)


def _made(session: Session, once_key: str) -> bool:
    return session.exec(select(Notification.id).where(Notification.once_key == once_key)
                        ).first() is not None
