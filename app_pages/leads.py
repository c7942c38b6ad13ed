"""Leads: the worklist of leads about to breach, then any lead found by search and filters.
A rep sees their own leads; the head of sales sees every rep's, by rep and team."""

import streamlit as st

from core.errors import InvalidInput
from core.permissions import Role
from core.services import agreements, leads
from ui import data
from ui.auth import require_page
from ui.exports import table_download
from ui.feedback import show_flash
from ui.lead_finder import find_leads
from ui.live import follow_changes
from ui.services import call
from ui.text import words
from ui.worklist import (
    open_table,
    overturned_notices,
    percent,
    reading_of,
    render_urgent,
    team_filter,
)

actor = require_page("leads")
own = actor.role == Role.SALES_REP
st.title("My worklist" if own else "Leads")
show_flash()
follow_changes("leads")

as_of = data.as_of()
document = call(agreements.signed_document)
reasons = document.rejection_reasons if document else []
reading = reading_of(document, data.people(actor=actor))
overturned_notices(call(leads.overturned_rejections, actor=actor), reading)
try:
    work = data.worklist(as_of, actor=actor)
except InvalidInput as error:
    st.info(f"No clocks run yet: {error.message}.")
    work = None
if work is not None:
    if own:  # the rep next to the team, this month
        versus = data.rep_versus_team(as_of, actor=actor)
        for column, row in zip(st.columns(max(len(versus), 1)), versus.itertuples(), strict=False):
            mine, team = (percent(value) for value in (row.mine_pct, row.team_pct))
            column.metric(f"My {words(row.commitment, capitalized=False)} this month", mine,
                          help=f"Within {row.within}; target {row.target_pct:g}%. "
                               f"The team: {team}.")
            column.caption(f"Team: {team} · target {row.target_pct:g}%")
        mine = work
    else:  # the head of sales: the team at a glance, then one rep or team
        mine = team_filter(work, call(leads.sales_reps, actor=actor), reading)
    st.subheader("Breaching next")
    render_urgent(mine, actor, reasons, reading)
    with st.expander(f"All open clocks ({len(mine):,})"):
        table = open_table(mine, reading)
        st.dataframe(table, hide_index=True, width="stretch", key="work_table")
        table_download(table, "worklist", key="work_csv")

st.subheader("Find a lead")
find_leads(actor, work, reading)
