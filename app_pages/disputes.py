"""Disputes: marketing disputes rejections it disagrees with; the heads resolve them."""

import streamlit as st

from core.permissions import Action, can
from core.services import leads
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.services import call
from ui.text import literal, local_time, words
from ui.worklist import lead_link

actor = require_page("disputes")
st.title("Disputes")
st.caption("Rejections marketing disagrees with, and how the heads resolved them.")
show_flash()

every = call(leads.list_disputes, actor=actor, state=None)
open_disputes = [dispute for dispute in every if dispute.state == "open"]
resolved = sorted((dispute for dispute in every if dispute.state != "open"),
                  key=lambda dispute: dispute.resolved_at or dispute.opened_at, reverse=True)
zone = data.zone(actor=actor)

st.subheader(f"Open disputes ({len(open_disputes)})")
if not open_disputes:
    st.caption("No open disputes.")
for dispute in open_disputes:
    with st.container(border=True, key=f"disputes_open_{dispute.id}"):
        reason = words(dispute.rejection_reason) if dispute.rejection_reason else "no reason"
        st.markdown(f"**[{literal(dispute.title)}]({lead_link(dispute.lead_id)})** · owner "
                    f"{literal(dispute.name(dispute.owner))}"
                    f" · rejected as “{literal(reason)}” · disputed by "
                    f"{literal(dispute.name(dispute.opened_by))} on {dispute.opened_at:%d %b %Y}")
        st.markdown(literal(dispute.comment))
        if can(actor.role, Action.RESOLVE_DISPUTE):
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

st.subheader(f"Resolved ({len(resolved)})")
if not resolved:
    st.caption("No dispute has been resolved yet.")
for dispute in resolved:
    with st.container(border=True, key=f"disputes_resolved_{dispute.id}"):
        outcome = "Overturned: back to sales" if dispute.state == "overturned" else \
            "Upheld: the rejection stands"
        st.markdown(f"**[{literal(dispute.title)}]({lead_link(dispute.lead_id)})** · "
                    f"**{outcome}**")
        reason = words(dispute.rejection_reason) if dispute.rejection_reason else "no reason"
        st.markdown(
            f"Rejected as “{literal(reason)}” (owner {literal(dispute.name(dispute.owner))}) · "
            f"disputed by {literal(dispute.name(dispute.opened_by))} on "
            f"{local_time(dispute.opened_at, zone)}: “{literal(dispute.comment)}”  \n"
            f"{words(dispute.state)} by {literal(dispute.name(dispute.resolved_by))}"
            + (f" on {local_time(dispute.resolved_at, zone)}" if dispute.resolved_at else "")
            + (f": “{literal(dispute.resolution)}”" if dispute.resolution else " (no note)"))

if can(actor.role, Action.DISPUTE_REJECTION):
    st.subheader("Dispute a rejection")
    rejected = call(leads.rejected_leads, actor=actor)
    open_to_dispute = rejected[~rejected["disputed"].astype(bool)]
    if open_to_dispute.empty:
        st.caption("No rejected lead to dispute.")
    else:
        names = data.people(actor=actor)
        lead_of = {f"{row.external_id} — {row.company or '?'} · "
                   f"{words(row.rejection_reason or 'no reason')} · by "
                   f"{names.get(row.owner, row.owner or '?')}": row.id
                   for row in open_to_dispute.itertuples()}
        with st.form("disputes_new", clear_on_submit=True):
            lead_id = lead_of[st.selectbox("Rejected lead", list(lead_of), key="disputes_lead")]
            comment = st.text_area("Why was this a good lead?", key="disputes_comment")
            if st.form_submit_button("Dispute", type="primary"):
                run_service(leads.dispute_rejection, "Dispute opened.", actor=actor,
                            lead_id=lead_id, comment=comment)
                st.rerun()
