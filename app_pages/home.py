"""Home: the current period's two-sided scorecard, as of now."""

import streamlit as st

from core import services
from core.errors import InvalidInput
from core.periods import previous_period
from core.permissions import WHAT_YOU_CAN_DO, Role, allowed_actions
from ui import data
from ui.auth import require_page
from ui.live import follow_changes
from ui.scorecard import period_card, render_scorecard
from ui.services import call
from ui.text import literal, local_time

EARLY_WORKING_DAYS = 3  # before this many working days, the last complete period shows too

actor = require_page("home")

st.title(f"Welcome, {literal(actor.display_name.split()[0])}")
follow_changes("home")
as_of = data.as_of()
period = data.current_period(as_of, actor=actor)
version = data.data_version()
try:
    report = data.report(period, as_of, actor=actor)
except InvalidInput as error:
    st.info(f"Nothing to measure yet: {literal(error.message)}. Once both heads agree an SLA "
            "and the exec signs it, this page shows both sides' commitments.")
else:
    previous = data.previous_report(period, as_of, actor=actor)
    st.caption(f"{literal(report['agreement']['title'])} "
               f"(version {report['agreement']['version']}) · period {period} · "
               f"as of {local_time(report['as_of'], data.zone(actor=actor))}"
               + data.freshness(actor=actor))
    render_scorecard(period_card(report, previous, data.currency(actor=actor)), report, period)
    early = data.working_days_so_far(period, as_of, actor=actor) < EARLY_WORKING_DAYS
    if early and previous is not None:
        before = previous_period(period)
        st.subheader(f"The last complete period: {before}")
        st.caption(f"{period} has only begun: here is how {before} ended.")
        render_scorecard(period_card(previous, None, data.currency(actor=actor)), previous, before)

with st.expander(f"What you can do here as {Role(actor.role).label.lower()}"):
    for action in allowed_actions(actor.role):
        st.markdown(f"- {WHAT_YOU_CAN_DO[action]}")
    overview = call(services.workspace_overview, actor=actor)
    st.caption(f"In this workspace: {overview.leads:,} leads, {overview.mqls:,} MQLs, "
               f"{overview.touches:,} sales touches, {overview.active_users:,} active users.")
