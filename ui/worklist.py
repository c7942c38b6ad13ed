"""The rep's worklist: leads about to breach, with one-click touch, accept and reject."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from core import agreement as sla
from core.services import Actor
from ui.lead_actions import WORKED_KEY, decide_buttons, touch_form, undo_button
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
    """The leads just worked (with their clocks now), then at-risk leads (still savable, least
    time left first), then overdue ones (most overdue first), each with its own buttons; says
    how many more the table below holds."""
    shown = False
    worked = [i for i in st.session_state.get(WORKED_KEY, []) if i in set(rows["id"])]
    if worked:
        shown = True
        st.markdown("##### Just worked")
        for row in rows.set_index("id").loc[worked].reset_index().itertuples():
            _render_row(row, actor, reasons, reading)
    rest = rows[~rows["id"].isin(worked)]
    for state, title in (("at_risk", "At risk: act now"), ("overdue", "Overdue")):
        group = rest[rest["state"] == state]
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
        lead, timing, actions = st.columns([1.8, 1.7, 3.5], vertical_alignment="center")
        label, colour = BADGES[row.state]
        with lead:
            st.markdown(f"**[{literal(row.external_id)}]({lead_link(row.id)})** · "
                        f"{literal(row.name or '?')} · {literal(row.company or 'no company')}")
            st.badge(label, color=colour)
            if row.owner != actor.username:  # the head of sales sees every rep's leads
                st.caption(f"Owner: {literal(reading.name(row.owner))}")
        with timing:
            st.markdown(timing_text(row.commitment, row.business_seconds_left,
                                    row.calendar_seconds_left, reading.day_seconds))
            attempts = attempts_text(  # the time once: the line above tells an attempts clock's
                row.attempts_done, row.attempts_required,
                None if row.commitment == row.attempts_commitment else row.attempts_seconds_left,
                reading.day_seconds)
            if attempts:
                st.markdown(attempts)
        with actions:
            touch, decide = st.columns([1.3, 2])
            with touch:
                touch_form(row.id, actor, key="work")
            with decide:
                decide_buttons(row.id, actor, reasons, key="work", accepted=bool(row.accepted))
                undo_button(row.id, actor, reading.timezone, key="work")


def lead_link(lead_id: int) -> str:
    """The address of a lead's page (deep-linkable; relative, so it works under a proxy's
    path too)."""
    return f"lead?lead={lead_id}"


def attempts_text(done, required, seconds_left, day_seconds: int = 0) -> str:
    """"**1 of 3 attempts** · 4 business days left for the next attempt", for a lead with an
    open attempts clock ("" without one)."""
    if pd.isna(done) or pd.isna(required):
        return ""
    told = f"**{int(done)} of {int(required)} attempts**"
    if pd.isna(seconds_left):
        return told
    left = business_time(seconds_left, day_seconds)
    return f"{told} · overdue by {left}" if seconds_left < 0 else \
        f"{told} · {left} left for the next attempt"


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


def team_filter(rows: pd.DataFrame, reps: list, reading: Reading) -> pd.DataFrame:
    """The head of sales' view of the team: at-risk and overdue leads per rep, and a choice of
    one team or rep; returns the open clocks of that choice."""
    teams = sorted({rep.team for rep in reps if rep.team})
    team_of = {rep.username: rep.team for rep in reps}
    counts = (rows.assign(at_risk=rows["state"] == "at_risk", overdue=rows["state"] == "overdue")
              .groupby("owner", dropna=False)[["at_risk", "overdue"]].sum())
    if not counts.empty:
        counts = counts.sort_values(["overdue", "at_risk"], ascending=False)
        st.dataframe(pd.DataFrame({
            "Rep": [reading.name(owner) if isinstance(owner, str) else "nobody"
                    for owner in counts.index],
            "Team": [team_of.get(owner) or "–" for owner in counts.index],
            "At risk": counts["at_risk"].astype(int).to_numpy(),
            "Overdue": counts["overdue"].astype(int).to_numpy(),
        }), hide_index=True, width="stretch", height=min(38 + 35 * len(counts), 250),
            key="work_counts")
    team_column, rep_column = st.columns(2)
    team = team_column.selectbox("Team", teams, index=None, placeholder="Every team",
                                 key="work_team", disabled=not teams)
    chosen = [rep for rep in reps if team is None or rep.team == team]
    names = {rep.username: rep.name for rep in chosen}
    rep = rep_column.selectbox("Rep", list(names), index=None, format_func=names.get,
                               placeholder="Every rep", key="work_rep")
    if rep is not None:
        return rows[rows["owner"] == rep]
    if team is not None:
        return rows[rows["owner"].isin(list(names))]
    return rows


def overturned_notices(disputes: list, reading: Reading) -> None:
    """Rejections a head overturned lately: the lead is back, and why."""
    for dispute in disputes:
        note = f": “{literal(dispute.resolution)}”" if dispute.resolution else ""
        st.warning(f"**Rejection overturned** · [{literal(dispute.title)}]"
                   f"({lead_link(dispute.lead_id)}) is back with sales. "
                   f"{literal(dispute.name(dispute.resolved_by))} overturned the rejection "
                   f"“{literal(words(dispute.rejection_reason or 'no reason'))}”{note}",
                   icon=":material/undo:")


def time_left(seconds: float, reading: Reading) -> str:
    """Business time left, or "overdue by …" once it is negative."""
    told = business_time(seconds, reading.day_seconds)
    return f"overdue by {told}" if seconds < 0 else told


def open_table(rows: pd.DataFrame, reading: Reading = Reading()) -> pd.DataFrame:
    """Every open lead for the table: names, badges, and times in words and in the
    agreement's zone."""
    return pd.DataFrame({
        "Lead": rows["external_id"], "Name": rows["name"], "Company": rows["company"],
        "Owner": rows["owner"].map(reading.name), "Commitment": rows["commitment"].map(words),
        "Status": rows["state"].map(lambda state: BADGES[state][0]),
        "Business time left": rows["business_seconds_left"].map(
            lambda seconds: time_left(seconds, reading)),
        "Calendar time left": rows["calendar_seconds_left"].map(
            lambda seconds: f"{wall_time(seconds)} ago" if seconds < 0 else wall_time(seconds)),
        f"Due ({reading.timezone})": local_times(rows["due"], reading.timezone, named=False),
    })
