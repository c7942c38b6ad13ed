"""Handoff entry point: page config, login, role-based navigation, run the page."""

import streamlit as st

from ui import auth
from ui.navigation import land_after_login, navigation

st.set_page_config(page_title="Handoff", page_icon=":handshake:", layout="wide")

actor = auth.session_actor()
# Navigation before the authenticator and the login form: a deep link keeps its URL
# through the login, and a stranger never runs a page.
page = navigation(actor.role if actor else None)
authenticator = auth.authenticator()
auth.sync_cookie(authenticator)
if actor is None:
    if auth.restore_from_cookie(authenticator):
        st.rerun()
    auth.login_form()
    st.stop()
if st.session_state.pop("auth_just_logged_in", False):
    land_after_login(page, actor.role)
st.sidebar.caption(f"Signed in as **{actor.display_name}** · {actor.role.replace('_', ' ')}")
auth.logout_button()
page.run()
