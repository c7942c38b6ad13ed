"""Users (admin): add users, change roles, deactivate them, reset passwords; the workspace's
settings (its currency, the undo window of accepts and rejects)."""

import pandas as pd
import streamlit as st

from core import services
from core.permissions import Role
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.services import call
from ui.text import CURRENCY_SIGNS, money

actor = require_page("users")
ROLES = [role.value for role in Role]


def run(action, success: str, **kwargs) -> None:
    """Call a user service as the admin, then show its outcome after the rerun."""
    run_service(action, success, actor=actor, **kwargs)


st.title("Users")
show_flash()

users = call(services.list_users, actor=actor)
table = pd.DataFrame(
    {
        "Username": [u.username for u in users],
        "Name": [u.display_name for u in users],
        "Email": [u.email for u in users],
        "Role": [Role(u.role).label for u in users],
        "Team": [u.team or "" for u in users],
        "Active": [u.active for u in users],
    }
)
ROW_PX = 35
st.dataframe(table, hide_index=True, width="stretch", height=ROW_PX * (len(table) + 1) + 3,
             key="users_table")

add_tab, edit_tab = st.tabs(["Add a user", "Change a user"])
with add_tab, st.form("users_add", clear_on_submit=True):
    left, right = st.columns(2)
    username = left.text_input("Username", key="users_add_username")
    name = right.text_input("Display name", key="users_add_name")
    email = left.text_input("Email", key="users_add_email")
    team = right.text_input("Team (optional)", key="users_add_team")
    role = left.selectbox("Role", ROLES, index=ROLES.index(Role.SALES_REP.value),
                          format_func=lambda r: Role(r).label, key="users_add_role")
    password = right.text_input("Initial password", type="password", key="users_add_password")
    if st.form_submit_button("Add user", type="primary"):
        run(
            services.add_user, f"Added {username}.", username=username, display_name=name,
            email=email, role=role, password=password, team=team,
        )
        st.rerun()

with edit_tab:
    chosen = st.selectbox(
        "User", [u.username for u in users], key="users_edit_username",
        format_func=lambda name: next(f"{u.display_name} ({u.username})" for u in users
                                      if u.username == name),
    )
    user = next(u for u in users if u.username == chosen)
    st.caption("Each change below signs the user out on every device: their open sessions and "
               "re-login cookies stop working, and they log in again.")
    role_col, active_col, password_col = st.columns(3)
    with role_col.form("users_role"):
        new_role = st.selectbox(
            "Role", ROLES, index=ROLES.index(user.role), format_func=lambda r: Role(r).label,
            key="users_role_value",
        )
        if st.form_submit_button("Change role"):
            run(services.change_role,
                f"{chosen} is now {Role(new_role).label}, and signed out everywhere.",
                username=chosen, role=new_role)
            st.rerun()
    with active_col:
        st.write("Status: **active**" if user.active else "Status: **deactivated**")
        if st.button("Deactivate" if user.active else "Reactivate", key="users_toggle_active"):
            run(services.set_active,
                f"{chosen} is {'deactivated' if user.active else 'active again'}, and signed "
                "out everywhere.",
                username=chosen, active=not user.active)
            st.rerun()
    with password_col.form("users_password", clear_on_submit=True):
        new_password = st.text_input("New password", type="password", key="users_new_password")
        if st.form_submit_button("Reset password"):
            run(services.reset_password,
                f"Password of {chosen} reset; they are signed out everywhere.",
                username=chosen, new_password=new_password)
            st.rerun()

st.subheader("Workspace")
with st.form("users_workspace"):
    current = data.currency(actor=actor)
    codes = list(CURRENCY_SIGNS)
    chosen = st.selectbox("Currency of amounts (revenue, deal sizes)", codes,
                          index=codes.index(current) if current in codes else 0,
                          format_func=lambda code: f"{code} ({money(1234, code)})",
                          key="users_currency")
    window = call(services.undo_minutes, actor=actor)
    minutes = st.number_input(
        "Undo window (minutes)", min_value=0, max_value=services.MAX_UNDO_MINUTES,
        value=window, step=5, key="users_undo_window",
        help="How long a rep may undo their own accept or reject; the head of sales may undo "
             "at any time. 0: only the head of sales.")
    if st.form_submit_button("Save settings"):
        if chosen != current:
            run(services.set_currency, f"Amounts now show in {chosen}.", code=chosen)
        if int(minutes) != window:
            run(services.set_undo_window, f"Reps may undo a decision for {int(minutes)} "
                "minutes.", minutes=int(minutes))
        st.rerun()
