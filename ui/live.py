"""Pages that follow the data: when a sync, an API batch or another user changes what a page
shows, the page reruns by itself (checked every HANDOFF_LIVE_SECONDS, default 30)."""

import os
from datetime import timedelta

import streamlit as st

from ui.data import data_version

DEFAULT_SECONDS = 30


def follow_changes(key: str) -> None:
    """Rerun the whole page once the data has changed since it was drawn."""
    shown = f"{key}_data_version"
    st.session_state[shown] = data_version()  # what this run draws

    @st.fragment(run_every=timedelta(seconds=_seconds()))
    def watch() -> None:
        if data_version() != st.session_state.get(shown):
            st.rerun(scope="app")

    watch()


def _seconds() -> float:
    return max(1.0, float(os.environ.get("HANDOFF_LIVE_SECONDS") or DEFAULT_SECONDS))
