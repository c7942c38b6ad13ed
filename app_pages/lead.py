"""One lead: its stages, its clocks and what governs them, its timeline, and what a person may
do to it (log a touch, accept, reject, undo; reassign and correct it for a head).
Deep-linkable: /lead?lead=<id>."""

import pandas as pd
import streamlit as st

from core.errors import NotFound
from core.permissions import Action, PermissionDenied, can
from core.services import agreements, lead_record, leads, measurement
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.lead_actions import decide_buttons, touch_form, undo_button
from ui.lead_finder import reassign_form
from ui.services import call
from ui.text import literal, local_time, words
from ui.worklist import BADGES, business_time, reading_of

actor = require_page("lead")
show_flash()
asked = st.query_params.get("lead", "")
try:
    record = call(lead_record.lead_record, actor=actor, lead_id=int(asked))
except ValueError:
    st.title("Lead")
    st.warning("No lead was asked for: open one from the Leads page or a worklist card.")
    st.stop()
except (NotFound, PermissionDenied) as error:
    st.title("Lead")
    st.warning(literal(str(error)))
    st.stop()

document = call(agreements.signed_document)
reasons = document.rejection_reasons if document else []
reading = reading_of(document, data.people(actor=actor))
zone = reading.timezone
fields = record.fields

st.title(record.title)
st.caption(f"{literal(record.ref)} · owner **{literal(reading.name(fields['owner']))}**"
           + (f" · {literal(fields['email'])}" if fields["email"] else ""))

if can(actor.role, Action.WORK_LEADS) and (actor.role != "sales_rep" or
                                           fields["owner"] == actor.username):
    touch, decide, undo = st.columns([1, 2, 2])
    with touch:
        touch_form(record.id, actor, key="lead")
    with decide:
        decide_buttons(record.id, actor, reasons, key="lead",
                       accepted=record.decided == "accepted",
                       rejected=record.decided == "rejected")
    with undo:
        undo_button(record.id, actor, zone, key="lead")

facts, stages = st.columns(2)
with facts:
    st.subheader("The lead")
    shown = {"Company": fields["company"], "Name": fields["name"], "Email": fields["email"],
             "Channel": words(fields["channel"]) if fields["channel"] else None,
             "Segment": fields["segment"], "Region": fields["region"],
             "Country": fields["country"], "Score": fields["score"],
             "Amount": fields["amount"], "Recycled": "yes" if fields["recycled"] else "no"}
    st.dataframe(pd.DataFrame({"": list(shown), "Value": [
        "–" if value is None else str(value) for value in shown.values()]}),
        hide_index=True, width="stretch", key="lead_facts")
with stages:
    st.subheader("Stages")
    st.dataframe(pd.DataFrame({
        "Stage": [label for label, _ in record.stages],
        f"When ({zone})": [local_time(at, zone) if at else "–" for _, at in record.stages],
    }), hide_index=True, width="stretch", key="lead_stages")
    if record.decided == "rejected" and record.rejection_reason:
        st.markdown(f"Rejected as **{literal(words(record.rejection_reason))}**"
                    + (f": “{literal(record.rejection_note)}”" if record.rejection_note else ""))

st.subheader("Clocks")
clocks = call(measurement.lead_clocks, actor=actor, lead_id=record.id)
if clocks.empty:
    st.caption("No clock runs on this lead: no signed agreement version covers its start.")
else:
    def left(row) -> str:
        seconds = row.business_seconds_left
        if pd.isna(seconds):
            return "–"
        told = business_time(seconds, reading.day_seconds)
        return f"late by {told}" if seconds < 0 else f"{told} left" if pd.isna(
            row.stopped_at) else f"{told} to spare"

    states = {"met": "Met", "breached": "Breached", **{k: v[0] for k, v in BADGES.items()}}
    st.dataframe(pd.DataFrame({
        "Commitment": clocks["commitment"].map(words),
        "State": clocks["state"].map(lambda state: states.get(state, words(state))),
        "Attempts": [f"{int(d)} of {int(r)}" if pd.notna(r) else "–" for d, r in zip(
            clocks.get("attempts_done", pd.Series([None] * len(clocks))),
            clocks.get("attempts_required", pd.Series([None] * len(clocks))), strict=True)],
        "Business time": [left(row) for row in clocks.itertuples()],
        f"Started ({zone})": [local_time(at, zone) if pd.notna(at) else "–"
                              for at in clocks["start"]],
        f"Due ({zone})": [local_time(at, zone) if pd.notna(at) else "–"
                          for at in clocks["due"]],
        f"Stopped ({zone})": [local_time(at, zone) if pd.notna(at) else "–"
                              for at in clocks["stopped_at"]],
        "Counts for": clocks["owner"].map(reading.name),
        "Agreement version": clocks["version"].map(
            lambda number: f"v{int(number)}" if pd.notna(number) else "none"),
    }), hide_index=True, width="stretch", key="lead_clocks")

if record.disputes:
    st.subheader("Disputes")
    for dispute in record.disputes:
        with st.container(border=True):
            st.markdown(f"**{words(dispute.state)}** · disputed by "
                        f"{literal(dispute.name(dispute.opened_by))} on "
                        f"{local_time(dispute.opened_at, zone)}: {literal(dispute.comment)}")
            if dispute.state != "open":
                st.markdown(f"{words(dispute.state)} by "
                            f"**{literal(dispute.name(dispute.resolved_by))}**"
                            + (f" on {local_time(dispute.resolved_at, zone)}"
                               if dispute.resolved_at else "")
                            + (f": “{literal(dispute.resolution)}”" if dispute.resolution
                               else " (no note)"))

if can(actor.role, Action.REASSIGN_LEADS) or can(actor.role, Action.EDIT_LEADS):
    with st.expander("Reassign or correct this lead"):
        if can(actor.role, Action.REASSIGN_LEADS):
            reassign_form([record.id], actor, key="lead", label="Reassign this lead")
        if can(actor.role, Action.EDIT_LEADS):
            with st.form("lead_edit"):
                columns = st.columns(2)
                typed = {name: columns[index % 2].text_input(
                    words(name), value=fields[name] or "", key=f"lead_edit_{name}")
                    for index, name in enumerate(leads.EDITABLE_FIELDS)}
                if st.form_submit_button("Save corrections"):
                    run_service(leads.edit_lead, "Lead corrected.", actor=actor,
                                lead_id=record.id, changes=typed)
                    st.rerun()

st.subheader("Timeline")
if not record.timeline:
    st.caption("Nothing has happened to this lead yet.")
else:
    st.container(key="lead_timeline").dataframe(pd.DataFrame({
        f"When ({zone})": [local_time(event.at, zone) for event in record.timeline],
        "Who": [record.name(event.who) if event.who else "–" for event in record.timeline],
        "What": [event.what for event in record.timeline],
        "Note": [event.detail or "" for event in record.timeline],
    }), hide_index=True, width="stretch")
    if record.timeline_total > len(record.timeline):
        st.caption(f"The newest {len(record.timeline)} of {record.timeline_total:,} events.")
