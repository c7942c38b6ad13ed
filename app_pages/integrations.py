"""Integrations (admin): the CRM connectors (state, last and next run, counts, errors, sync
now, pause and resume, settings and credentials), the worker's runs, the REST API's tokens."""

import streamlit as st

from core.services import api_tokens, jobs, sync
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.integrations import (
    NEW_TOKEN_KEY,
    connector_state,
    runs_table,
    settings_form,
    show_new_token,
    tokens_table,
)
from ui.services import call

actor = require_page("integrations")
st.title("Integrations")
show_flash()
zone = data.zone(actor=actor)

st.header("CRM connectors")
st.caption("Each connector reads what changed in the CRM since its last sync and imports it "
           "exactly as a file import would: the same checks, the same row errors, one batch "
           "per page on the Import page. The worker (`make run` starts it) syncs on schedule.")
for view in call(sync.connectors, actor=actor):
    with st.container(border=True, key=f"integrations_{view.name}"):
        connector_state(view, zone)
        now_column, pause_column, _rest = st.columns([1, 1, 4])
        if now_column.button("Sync now", key=f"integrations_{view.name}_now",
                             disabled=not view.configured):
            run_service(sync.request_sync, f"{view.label}: a sync is queued; the worker runs "
                        "it within seconds.", actor=actor, name=view.name)
            st.rerun()
        if pause_column.button("Resume" if view.paused else "Pause",
                               key=f"integrations_{view.name}_pause",
                               disabled=not view.configured):
            run_service(sync.set_paused, f"{view.label} is "
                        f"{'resumed' if view.paused else 'paused'}.", actor=actor,
                        name=view.name, paused=not view.paused)
            st.rerun()
        with st.expander("Settings and credentials", expanded=not view.configured):
            settings_form(view, sync.connector_module(view.name).SETTINGS,
                          f"integrations_{view.name}_form", actor=actor)

st.header("Worker runs")
runs_table(call(jobs.recent_runs, actor=actor), zone)

st.header("REST API tokens")
st.caption("A token lets a CRM or a script post leads and touches (write) or read the report "
           "(read) at /api/v1 (docs/api.md). Only its hash is kept: it is shown once.")
show_new_token()
tokens = call(api_tokens.list_tokens, actor=actor)
tokens_table(tokens, zone)
create_column, revoke_column = st.columns(2)
with create_column.form("integrations_token_new", clear_on_submit=True):
    name = st.text_input("Client", placeholder="Zapier, the website form…",
                         key="integrations_token_name")
    scope = st.radio("Scope", api_tokens.SCOPES, horizontal=True, key="integrations_token_scope",
                     format_func={"read": "read: the report",
                                  "write": "write: leads, touches and the report"}.get)
    if st.form_submit_button("Create token", type="primary"):
        created = run_service(api_tokens.create_token, f"Created a {scope} token for {name}.",
                              actor=actor, name=name, scope=scope)
        if created:
            st.session_state[NEW_TOKEN_KEY] = (created[0].name, created[1])
        st.rerun()
active = [t for t in tokens if t.active]
if active:
    with revoke_column.form("integrations_token_revoke"):
        chosen = st.selectbox("Token", [t.id for t in active], key="integrations_token_chosen",
                              format_func=lambda i: next(f"#{t.id} {t.name} ({t.scope})"
                                                         for t in active if t.id == i))
        if st.form_submit_button("Revoke"):
            run_service(api_tokens.revoke_token, f"Token #{chosen} is revoked.", actor=actor,
                        token_id=chosen)
            st.rerun()
