"""Disputes: marketing disputes rejections it disagrees with; the heads resolve them."""

import streamlit as st

from core.permissions import Action, can
from core.services import leads
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.services import call
from ui.text import code, literal

actor = require_page("disputes")
st.title("Disputed rejections")
show_flash()

open_disputes = call(leads.list_disputes, actor=actor)

st.subheader(f"Open disputes ({len(open_disputes)})")
if not open_disputes:
    st.caption("No open disputes.")
for dispute in open_disputes:
    with st.container(border=True):
        st.markdown(f"**{literal(dispute.lead)}** (owner {literal(dispute.owner or '—')}) "
                    f"rejected as {code(dispute.rejection_reason or 'no reason')} · disputed by "
                    f"{literal(dispute.opened_by)} on {dispute.opened_at:%d %b %Y}")
        st.markdown(literal(dispute.comment))
        if actor.role in leads.RESOLVERS:
            note = st.text_input("Resolution note", key=f"disputes_note_{dispute.id}")
            uphold, overturn = st.columns(2)
            if uphold.button("Uphold the rejection", key=f"disputes_uphold_{dispute.id}"):
                run_service(leads.resolve_dispute, "Rejection upheld.", actor=actor,
                            dispute_id=dispute.id, overturn=False, comment=note)
                st.rerun()
            if overturn.button("Overturn: back to sales", key=f"disputes_overturn_{dispute.id}"):
                run_service(leads.resolve_dispute, "Rejection overturned.", actor=actor,
                            dispute_id=dispute.id, overturn=True, comment=note)
                st.rerun()

if can(actor.role, Action.DISPUTE_REJECTION):
    st.subheader("Dispute a rejection")
    rejected = call(leads.rejected_leads, actor=actor)
    open_to_dispute = rejected[~rejected["disputed"].astype(bool)]
    if open_to_dispute.empty:
        st.caption("No rejected lead to dispute.")
    else:
        lead_of = {f"{row.external_id} — {row.company or '?'} · {row.rejection_reason}"
                   f" · by {row.owner or '?'}": row.id for row in open_to_dispute.itertuples()}
        with st.form("disputes_new", clear_on_submit=True):
            lead_id = lead_of[st.selectbox("Rejected lead", list(lead_of), key="disputes_lead")]
            comment = st.text_area("Why was this a good lead?", key="disputes_comment")
            if st.form_submit_button("Dispute", type="primary"):
                run_service(leads.dispute_rejection, "Dispute opened.", actor=actor,
                            lead_id=lead_id, comment=comment)
                st.rerun()
