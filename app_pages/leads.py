"""Leads: a rep's own leads (the head of sales sees every rep's): log touches, accept, reject."""

import streamlit as st

from core.permissions import Role
from core.services import agreements, leads
from db.engine import get_session
from ui.auth import require_page
from ui.feedback import run_service, show_flash

actor = require_page("leads")
own = actor.role == Role.SALES_REP
st.title("My leads" if own else "Leads")
show_flash()

show_decided = st.toggle("Show accepted and rejected leads too", key="leads_show_decided")
LIMIT = 500
with get_session() as session:
    document = agreements.signed_document(session)
    queue = leads.work_queue(session=session, actor=actor, include_decided=show_decided,
                             limit=LIMIT)
if queue.empty:
    st.info("No open leads." if own else "No open leads for any rep.")
    st.stop()

shown = f"the {LIMIT} newest leads" if len(queue) == LIMIT else \
    f"{len(queue):,} lead{'s' if len(queue) != 1 else ''}"
st.caption(f"Showing {shown}, newest MQL first.")
hidden = ["id", "source"] + (["owner"] if own else []) + (
    [] if show_decided else ["accepted_at", "rejected_at", "rejection_reason"])
when = {"format": "YYYY-MM-DD HH:mm", "timezone": "UTC"}
st.dataframe(
    queue.drop(columns=hidden), hide_index=True, width="stretch", height=320, key="leads_table",
    column_config={
        "external_id": "Lead", "name": "Name", "company": "Company", "channel": "Channel",
        "owner": "Owner", "rejection_reason": "Reason", "recycled": "Recycled",
        "touches": "Human touches",
        "mql_at": st.column_config.DatetimeColumn("MQL (UTC)", **when),
        "accepted_at": st.column_config.DatetimeColumn("Accepted (UTC)", **when),
        "rejected_at": st.column_config.DatetimeColumn("Rejected (UTC)", **when),
        "last_touch_at": st.column_config.DatetimeColumn("Last touch (UTC)", **when),
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
    reasons = document.rejection_reasons if document else []
    reason = st.selectbox("Reason", reasons, key="leads_reject_reason",
                          placeholder="No agreement is active", disabled=not reasons)
    if st.button("Reject", key="leads_reject", disabled=not reasons):
        run_service(leads.reject_lead, f"Lead rejected: {reason}.", actor=actor, lead_id=lead_id,
                    reason=reason)
        st.rerun()
