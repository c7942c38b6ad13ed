"""Pages that follow the data: when a sync, an API batch or another user changes what a page
shows, the page reruns by itself, checked every HANDOFF_LIVE_SECONDS (`make run` sets 30; unset,
pages redraw only when the user acts). Off unless set: a fragment's timer that outlives its page
(Streamlit keeps it when the user moves to another page) reran that other page in the middle
of a user's click, which made a browser test of the lead page flaky."""

import os
from datetime import timedelta

import streamlit as st

from ui.data import data_version


def follow_changes(key: str) -> None:
    """Rerun the whole page once the data has changed since it was drawn (when on)."""
    seconds = os.environ.get("HANDOFF_LIVE_SECONDS")
    if not seconds:
        return
    shown, drawing = f"{key}_data_version", f"{key}_drawing"
    st.session_state[shown] = data_version()  # what this run draws
    st.session_state[drawing] = True

    @st.fragment(run_every=timedelta(seconds=max(1.0, float(seconds))))
    def watch() -> None:
        # Only the timer's runs compare: the page's own run, which calls this at once, would
        # otherwise rerun itself when someone else wrote a moment ago, and lose what it was
        # showing ("Logged a call." after a touch, say).
        if st.session_state.pop(drawing, False):
            return
        if data_version() != st.session_state.get(shown):
            st.rerun(scope="app")

    watch()

