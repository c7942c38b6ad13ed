"""Home: greets the user and says what their role can do here."""

import streamlit as st

from core import services
from core.permissions import WHAT_YOU_CAN_DO, Role, allowed_actions
from db.engine import get_session
from ui.auth import require_page

actor = require_page("home")

st.title(f"Welcome, {actor.display_name.split()[0]}")
st.write(
    "Handoff holds the one service level agreement that sales and marketing signed, "
    "and measures both sides against it."
)
with get_session() as session:
    overview = services.workspace_overview(session=session, actor=actor)

st.subheader(f"As {Role(actor.role).label.lower()}, you can")
for action in allowed_actions(actor.role):
    st.markdown(f"- {WHAT_YOU_CAN_DO[action]}")

st.subheader("In this workspace")
columns = st.columns(4)
columns[0].metric("Leads", f"{overview.leads:,}")
columns[1].metric("MQLs", f"{overview.mqls:,}")
columns[2].metric("Sales touches", f"{overview.touches:,}")
columns[3].metric("Active users", f"{overview.active_users:,}")
if overview.first_mql_at and overview.last_mql_at:
    st.caption(
        f"MQLs on record from {overview.first_mql_at:%d %b %Y} to {overview.last_mql_at:%d %b %Y}."
    )
else:
    st.caption("No leads yet: import a CRM export to start measuring.")
