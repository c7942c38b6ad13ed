"""The rep's worklist: leads about to breach, with one-click touch, accept and reject."""

import pandas as pd
import streamlit as st

from core.services import Actor, leads
from ui.feedback import run_service
from ui.text import literal

BADGES = {"overdue": ("Overdue", "red"), "at_risk": ("At risk", "orange"),
          "pending": ("On time", "gray")}


def duration(seconds: float) -> str:
    """Seconds as "2h 05m" ("-3h 10m" when negative)."""
    minutes = int(abs(seconds) // 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
    return f"-{text}" if seconds < 0 else text


def percent(value: float | None) -> str:
    """A percentage for a metric, "–" when there is none."""
    return "–" if value is None or pd.isna(value) else f"{value:.1f}%"


def render_urgent(rows: pd.DataFrame, actor: Actor, reasons: list[str], limit: int = 10) -> None:
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
            _render_row(row, actor, reasons)
        if len(group) > limit:
            st.caption(f"{len(group) - limit:,} more {BADGES[state][0].lower()} leads are in "
                       "the table of all open clocks.")
    if not shown:
        st.success("Nothing is at risk or overdue.")


def _render_row(row, actor: Actor, reasons: list[str]) -> None:
    with st.container(border=True, key=f"work_row_{row.id}"):
        lead, timing, actions = st.columns([2, 1.8, 3.2], vertical_alignment="center")
        label, colour = BADGES[row.state]
        with lead:
            st.markdown(f"**{literal(row.external_id)}** · {literal(row.name or '?')} · "
                        f"{literal(row.company or 'no company')}")
            st.badge(label, color=colour)
            if row.owner != actor.username:  # the head of sales sees every rep's leads
                st.caption(f"Owner: {literal(row.owner or 'nobody')}")
        timing.markdown(timing_text(row.commitment, row.business_seconds_left,
                                    row.calendar_seconds_left))
        with actions:
            _buttons(row.id, actor, reasons)


def timing_text(commitment: str, business_left: float, calendar_left: float) -> str:
    """How much time a clock has left, in business time first and on the wall clock after."""
    name = commitment.replace("-", " ").capitalize()
    if business_left < 0:
        return (f"{name}: **overdue by {duration(-business_left)}** of business time  \n"
                f"due {duration(-calendar_left)} ago")
    return (f"{name}: **{duration(business_left)}** of business time left  \n"
            f"due in {duration(calendar_left)}")


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
        reason = st.selectbox("Reason", reasons, key=f"work_reason_{lead_id}")
        if st.button("Reject lead", key=f"work_reject_{lead_id}"):
            run_service(leads.reject_lead, f"Lead rejected: {reason}.", actor=actor,
                        lead_id=lead_id, reason=reason)
            st.rerun()


def open_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Every open lead for the table: badges and times in words."""
    return pd.DataFrame({
        "Lead": rows["external_id"], "Name": rows["name"], "Company": rows["company"],
        "Owner": rows["owner"], "Commitment": rows["commitment"],
        "Status": rows["state"].map(lambda state: BADGES[state][0]),
        "Business time left": rows["business_seconds_left"].map(duration),
        "Calendar time left": rows["calendar_seconds_left"].map(duration),
        "Due (UTC)": rows["due"],
    })
