"""Channels (admin): the ways notices leave the app (the mail server, chat webhooks), and the
delivery log of every email and post with its attempts."""

import streamlit as st

from core.services import deliveries
from ui import data
from ui.auth import require_page
from ui.channels import (
    add_webhook_form,
    attempts_history,
    delivery_table,
    log_filters,
    mail_section,
    webhook_actions,
    webhooks_table,
)
from ui.feedback import show_flash
from ui.services import call

actor = require_page("channels")
st.title("Channels")
show_flash()
zone = data.zone(actor=actor)
channels = call(deliveries.channels, actor=actor)
mail = next((channel for channel in channels if channel.kind == deliveries.EMAIL), None)
hooks = [channel for channel in channels if channel.kind != deliveries.EMAIL]

st.header("Mail")
st.caption("Each person's notices go out by email as they choose on their Notifications page, "
           "in their working hours; a person's alerts of a few minutes make one email.")
mail_section(mail, actor)

st.header("Chat webhooks")
st.caption("A channel gets one post per kind of notice and alert pass, listing its leads.")
webhooks_table(hooks)
for hook in hooks:
    webhook_actions(hook, actor)
with st.expander("Add a webhook", expanded=not hooks):
    add_webhook_form(actor)

st.header("Delivery log")
st.caption(f"Every email and chat post, newest first, times in {zone}. A failed send is tried "
           "again after 30 s, 1, 2, 4 and 8 minutes, then gives up. Select a row for its "
           "attempts.")
state, channel = log_filters([deliveries.EMAIL, *(hook.name for hook in hooks)])
names = data.people(actor=actor)
chosen = delivery_table(call(deliveries.delivery_log, actor=actor, state=state,
                             channel=channel), zone, names)
if chosen is not None:
    attempts_history(chosen, zone, names)
