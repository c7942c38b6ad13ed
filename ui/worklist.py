"""The rep's worklist: leads about to breach, with one-click touch, accept and reject."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from core import agreement as sla
from core.services import Actor, leads
from ui.feedback import run_service
from ui.tables import local_times
from ui.text import literal, words

BADGES = {"overdue": ("Overdue", "red"), "at_risk": ("At risk", "orange"),
          "pending": ("On time", "gray")}


def duration(seconds: float) -> str:
    """Seconds as "2 h 05 min" ("-3 h 10 min" when negative)."""
    minutes = int(abs(seconds) // 60)
    text = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return f"-{text}" if seconds < 0 else text


def business_time(seconds: float, day_seconds: int) -> str:
    """Business time in business days once it spans one: "3 business days 2 h", "5 h 10 min"
    (`day_seconds`: a working day's length; 0 keeps hours)."""
    whole = abs(seconds)
    if not day_seconds or whole < day_seconds:
        return duration(whole)
    days, rest = divmod(int(whole), day_seconds)
    text = f"{days} business day{'s' if days != 1 else ''}"
    hours = rest // 3600
    return f"{text} {hours} h" if hours else text


def wall_time(seconds: float) -> str:
    """Calendar time: hours and minutes within two days, else whole days ("12 days")."""
    whole = abs(seconds)
    if whole < 2 * 86400:
        return duration(whole)
    days = int(whole // 86400)
    return f"{days} days"


def percent(value: float | None) -> str:
    """A percentage for a metric, "–" when there is none."""
    return "–" if value is None or pd.isna(value) else f"{value:.1f}%"


@dataclass(frozen=True)
class Reading:
    """How the worklist tells people and times: names by username, a working day's length
    (business time in days once it spans one) and the agreement's zone."""

    names: Mapping[str, str] = field(default_factory=dict)
    day_seconds: int = 0
    timezone: str = "UTC"

    def name(self, username: str | None) -> str:
        return self.names.get(username, username) if username else "nobody"


def reading_of(document: sla.Document | None, names: Mapping[str, str]) -> Reading:
    """The worklist's reading under the signed agreement (its calendar's day and zone)."""
    if document is None:
        return Reading(names)
    return Reading(names, sla.business_calendar(document).working_day_seconds(),
                   document.calendar.timezone)


def render_urgent(rows: pd.DataFrame, actor: Actor, reasons: list[str],
                  reading: Reading = Reading(), limit: int = 10) -> None:
    """At-risk leads first (still savable, least time left first), then overdue ones (most
    overdue first), each with its own buttons; says how many more the table below holds."""
    shown = False
    for state, title in (("at_risk", "At risk: act now"), ("overdue", "Overdue")):
        group = rows[rows["state"] == state]
        if group.empty:
            continue
        shown = True
        st.markdown(f"##### {title} ({len(group):,})")
        for row in group.head(limit).itertuples():
            _render_row(row, actor, reasons, reading)
        if len(group) > limit:
            st.caption(f"{len(group) - limit:,} more {BADGES[state][0].lower()} leads are in "
                       "the table of all open clocks.")
    if not shown:
        st.success("Nothing is at risk or overdue.")


def _render_row(row, actor: Actor, reasons: list[str], reading: Reading) -> None:
    with st.container(border=True, key=f"work_row_{row.id}"):
        lead, timing, actions = st.columns([2, 1.8, 3.2], vertical_alignment="center")
        label, colour = BADGES[row.state]
        with lead:
            st.markdown(f"**{literal(row.external_id)}** · {literal(row.name or '?')} · "
                        f"{literal(row.company or 'no company')}")
            st.badge(label, color=colour)
            if row.owner != actor.username:  # the head of sales sees every rep's leads
                st.caption(f"Owner: {literal(reading.name(row.owner))}")
        timing.markdown(timing_text(row.commitment, row.business_seconds_left,
                                    row.calendar_seconds_left, reading.day_seconds))
        with actions:
            _buttons(row.id, actor, reasons)


def timing_text(commitment: str, business_left: float, calendar_left: float,
                day_seconds: int = 0) -> str:
    """How much time a clock has left, in business time first and on the wall clock after."""
    name = words(commitment)
    late = business_time(business_left, day_seconds)
    if business_left < 0:
        unit = "" if "business" in late else " of business time"
        return f"{name}: **overdue by {late}**{unit}  \ndue {wall_time(calendar_left)} ago"
    return (f"{name}: **{late}** of business time left  \n"
            f"due in {wall_time(calendar_left)}")


def _buttons(lead_id: int, actor: Actor, reasons: list[str]) -> None:
    call, email, accept, reject = st.columns(4)
    for column, kind in ((call, "call"), (email, "email")):
        if column.button(kind.title(), key=f"work_{kind}_{lead_id}", icon=":material/call:"
                         if kind == "call" else ":material/mail:"):
            run_service(leads.log_touch, f"Logged a {kind}.", actor=actor, lead_id=lead_id,
                        kind=kind)
            st.rerun()
    if accept.button("Accept", key=f"work_accept_{lead_id}"):
        run_service(leads.accept_lead, "Lead accepted.", actor=actor, lead_id=lead_id)
        st.rerun()
    with reject.popover("Reject", disabled=not reasons):
        reason = st.selectbox("Reason", reasons, key=f"work_reason_{lead_id}",
                              format_func=words)
        if st.button("Reject lead", key=f"work_reject_{lead_id}"):
            run_service(leads.reject_lead, f"Lead rejected: {words(reason)}.", actor=actor,
                        lead_id=lead_id, reason=reason)
            st.rerun()


def open_table(rows: pd.DataFrame, reading: Reading = Reading()) -> pd.DataFrame:
    """Every open lead for the table: names, badges, and times in words and in the
    agreement's zone."""
    def left(seconds: float) -> str:
        told = business_time(seconds, reading.day_seconds)
        return f"overdue by {told}" if seconds < 0 else told

    return pd.DataFrame({
        "Lead": rows["external_id"], "Name": rows["name"], "Company": rows["company"],
        "Owner": rows["owner"].map(reading.name), "Commitment": rows["commitment"].map(words),
        "Status": rows["state"].map(lambda state: BADGES[state][0]),
        "Business time left": rows["business_seconds_left"].map(left),
        "Calendar time left": rows["calendar_seconds_left"].map(
            lambda seconds: f"{wall_time(seconds)} ago" if seconds < 0 else wall_time(seconds)),
        f"Due ({reading.timezone})": local_times(rows["due"], reading.timezone, named=False),
    })
