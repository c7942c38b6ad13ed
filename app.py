"""Handoff entry point: page config, login, role-based navigation, run the page; each run of
the script leaves one "page" log line (ui.page_log)."""

import streamlit as st

from ui import auth, page_log
from ui.bell import render_bell
from ui.navigation import land_after_login, landing, navigation, refused, role_label
from ui.text import literal

page_log.configure()
with page_log.page_run() as run:
    st.set_page_config(page_title="Handoff", page_icon=":handshake:", layout="wide")

    actor = auth.session_actor()
    # Navigation before the authenticator and the login form: a deep link keeps its URL
    # through the login, and a stranger never runs a page.
    page = navigation(actor.role if actor else None)
    # The default page's url_path is "": the log names it
    run.set(page=page.url_path or landing(actor.role if actor else None),
            user=actor.username if actor else None)
    if actor is not None and st.session_state.pop("auth_just_logged_in", False):
        # Before the re-login cookie is written: switching pages ends this run, and a
        # component rendered in an ended run may never reach the browser. The landing page's
        # run writes it.
        land_after_login(page, actor.role)
    # One slot for the cookie components, so the page below keeps its place as they come and
    # go.
    with st.container():
        authenticator = auth.authenticator()
        auth.sync_cookie(authenticator)
    if actor is None:
        if auth.restore_from_cookie(authenticator):
            st.rerun()
        auth.login_form()
        st.stop()
    st.sidebar.caption(f"Signed in as **{literal(actor.display_name)}** · "
                       f"{role_label(actor.role)}")
    render_bell(actor)
    auth.logout_button()
    if "nav_refused" not in st.session_state:  # the address the session opened with, once
        asked = refused(actor.role, st.context.url)
        st.session_state["nav_refused"] = (asked.title, page.title) if asked else None
    shown = st.session_state["nav_refused"]
    if shown and shown[1] == page.title:  # until they move on
        st.warning(f"{role_label(actor.role, starting_a_sentence=True)} cannot open {shown[0]}: "
                   f"this is {shown[1]} instead.", icon=":material/block:")
    elif shown:
        st.session_state["nav_refused"] = ()
    page.run()
