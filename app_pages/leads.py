"""Leads: the worklist of leads about to breach, then every lead: log touches, accept, reject.
A rep sees their own leads; the head of sales sees every rep's."""

import streamlit as st

from core.errors import InvalidInput
from core.permissions import Role
from core.services import agreements, leads
from ui import data
from ui.auth import require_page
from ui.exports import table_download
from ui.feedback import run_service, show_flash
from ui.services import call
from ui.tables import readable_values
from ui.text import literal, words
from ui.worklist import open_table, percent, reading_of, render_urgent

actor = require_page("leads")
own = actor.role == Role.SALES_REP
st.title("My worklist" if own else "Leads")
show_flash()

as_of = data.as_of()
version = data.data_version()
document = call(agreements.signed_document)
reasons = document.rejection_reasons if document else []
try:
    work = data.worklist(as_of, actor=actor)
except InvalidInput as error:
    st.info(f"No clocks run yet: {literal(error.message)}.")
else:
    if own:  # the rep next to the team, this month
        versus = data.rep_versus_team(as_of, actor=actor)
        for column, row in zip(st.columns(max(len(versus), 1)), versus.itertuples(), strict=False):
            mine, team = (percent(value) for value in (row.mine_pct, row.team_pct))
            column.metric(f"My {words(row.commitment, capitalized=False)} this month", mine,
                          help=f"Within {row.within}; target {row.target_pct:g}%. "
                               f"The team: {team}.")
            column.caption(f"Team: {team} · target {row.target_pct:g}%")
    reading = reading_of(document, data.people(actor=actor))
    st.subheader("Breaching next")
    render_urgent(work, actor, reasons, reading)
    with st.expander(f"All open clocks ({len(work):,})"):
        table = open_table(work, reading)
        st.dataframe(table, hide_index=True, width="stretch", key="work_table")
        table_download(table, "worklist", key="work_csv")

st.subheader("All my leads" if own else "All leads")

show_decided = st.toggle("Show accepted and rejected leads too", key="leads_show_decided")
LIMIT = 500
queue = call(leads.work_queue, actor=actor, include_decided=show_decided, limit=LIMIT)
if queue.empty:
    st.info("No open leads." if own else "No open leads for any rep.")
    st.stop()

shown = f"the {LIMIT} newest leads" if len(queue) == LIMIT else \
    f"{len(queue):,} lead{'s' if len(queue) != 1 else ''}"
st.caption(f"Showing {shown}, newest MQL first.")
hidden = ["id", "source"] + (["owner"] if own else []) + (
    [] if show_decided else ["accepted_at", "rejected_at", "rejection_reason"])
zone = document.calendar.timezone if document else "UTC"
st.dataframe(
    readable_values(queue.drop(columns=hidden), data.people(actor=actor), zone),
    hide_index=True, width="stretch", height=320, key="leads_table",
    column_config={
        "external_id": "Lead", "name": "Name", "company": "Company", "channel": "Channel",
        "owner": "Owner", "rejection_reason": "Reason", "recycled": "Recycled",
        "touches": "Human touches", "mql_at": "MQL", "accepted_at": "Accepted",
        "rejected_at": "Rejected", "last_touch_at": "Last touch",
    },
)

lead_of = {f"{row.external_id} — {row.name or '?'} ({row.company or 'no company'})": row.id
           for row in queue.itertuples()}
lead_id = lead_of[st.selectbox("Lead", list(lead_of), key="leads_pick")]
touch_column, accept_column, reject_column = st.columns(3, border=True)
with touch_column:
    kind = st.radio("Touch", leads.HUMAN_KINDS, horizontal=True, key="leads_touch_kind")
    if st.button("Log touch", key="leads_log_touch", type="primary"):
        run_service(leads.log_touch, f"Logged a {kind}.", actor=actor, lead_id=lead_id, kind=kind)
        st.rerun()
with accept_column:
    st.write("Worth working?")
    if st.button("Accept", key="leads_accept"):
        run_service(leads.accept_lead, "Lead accepted.", actor=actor, lead_id=lead_id)
        st.rerun()
with reject_column:
    reason = st.selectbox("Reason", reasons, key="leads_reject_reason", format_func=words,
                          placeholder="No agreement is active", disabled=not reasons)
    if st.button("Reject", key="leads_reject", disabled=not reasons):
        run_service(leads.reject_lead, f"Lead rejected: {words(reason)}.", actor=actor,
                    lead_id=lead_id, reason=reason)
        st.rerun()
