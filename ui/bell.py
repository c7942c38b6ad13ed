"""The bell in the sidebar: how many of your notices are unread, and, opened, the newest ones.

Cheap on every run: one count query. The list (and the agreement's zone its times are told in)
is read only while the bell is open: the popover reruns the app as it opens and closes.
"""

import streamlit as st

from core.services import Actor, notifications
from ui import data
from ui.navigation import PAGES_DIR, spec
from ui.notifications import (
    BELL_KEY,
    about_line,
    follow_opened_notice,
    open_button,
    title_line,
)
from ui.services import call

BELL_ICON = ":material/notifications:"
BELL_ROWS = 10


def bell_label(unread: int) -> str:
    """The bell's label: the unread count, or "Notifications" when all are read."""
    return f"{unread:,}" if unread else "Notifications"


def render_bell(actor: Actor) -> None:
    """The bell, in the sidebar; opens the page of a notice opened in the last run."""
    follow_opened_notice()
    unread = call(notifications.unread_count, actor=actor)
    bell = st.sidebar.popover(
        bell_label(unread), icon=BELL_ICON, key=BELL_KEY, on_change="rerun",
        help=f"{unread:,} unread notification{'s' if unread != 1 else ''}" if unread
        else "No unread notification")
    with bell:
        if bell.open:
            _newest(actor, unread)


def _newest(actor: Actor, unread: int) -> None:
    notices = call(notifications.notifications, actor=actor, limit=BELL_ROWS)
    if not notices:
        st.caption("No notification yet. Alerts about your leads and the agreement's steps "
                   "show here.")
    zone = data.zone(actor=actor) if notices else "UTC"
    for notice in notices:
        with st.container(key=f"bell_row_{notice.id}"):
            text, action = st.columns([4, 1.3], vertical_alignment="center")
            text.markdown(title_line(notice))
            text.caption(about_line(notice, zone))
            with action:
                open_button(notice, actor, "bell")
    if unread and st.button("Mark all read", key="bell_mark_all", icon=":material/done_all:"):
        call(notifications.mark_read, actor=actor)  # the count tells: no message to show
        st.rerun()
    st.page_link(str(PAGES_DIR / spec("notifications").script), label="All notifications",
                 icon=":material/list:")
