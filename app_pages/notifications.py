"""Notifications: a person's own notices (newest first, unread marked), and how they reach them
by email: per kind of notice, and the hours to keep quiet."""

import streamlit as st

from core.services import notifications
from ui import data
from ui.auth import require_page
from ui.feedback import show_flash
from ui.notifications import mark_read, notice_list, preferences_form, quiet_hours_form
from ui.services import call
from ui.text import literal

PAGE_ROWS = 50

actor = require_page("notifications")
st.title("Notifications")
show_flash()
zone = data.zone(actor=actor)

notices = call(notifications.notifications, actor=actor, limit=PAGE_ROWS)
unread = sum(notice.read_at is None for notice in notices)
if not notices:
    st.info("No notification yet. Alerts about your leads (about to breach, breached, moved "
            "to you) and the agreement's steps show here.")
else:
    told, button = st.columns([4, 1], vertical_alignment="center")
    told.caption(f"The newest {len(notices)}: {unread} unread. Times in {zone}.")
    if unread and button.button("Mark all read", key="notices_mark_all",
                                icon=":material/done_all:"):
        mark_read(actor, None, "All your notifications are marked read.")
        st.rerun()
    notice_list(notices, actor, zone)

st.header("Email me")
st.caption("Every notice is always listed here. These choose which ones also reach you by email"
           f" ({literal(actor.email or 'no address on your account')}), once mail is set up.")
preferences_form(actor)

st.header("Quiet hours")
st.caption("Alerts by email wait for your working hours (the agreement's calendar), or outside "
           "your quiet hours if you set them; urgent breaches do not wait. Everything is always "
           "listed here.")
quiet_hours_form(actor, zone)
