"""The Integrations page's widgets: a connector's state and form, the worker's runs, the API
tokens. Values come from core.services; nothing here decides anything."""


import pandas as pd
import streamlit as st

from core.services import sync
from core.services.api_tokens import TokenView
from core.services.jobs import RunView
from core.services.sync import ConnectorView
from ui.feedback import run_service
from ui.text import literal, local_time

STATE_BADGES = {"not configured": ":gray-badge[Not configured]", "idle": ":green-badge[Idle]",
                "running": ":blue-badge[Syncing]", "failed": ":red-badge[Failed]",
                "paused": ":orange-badge[Paused]"}
NEW_TOKEN_KEY = "integrations_new_token"


def when(value, zone: str) -> str:
    return local_time(value, zone) if value else "never"


def connector_state(view: ConnectorView, zone: str) -> None:
    """State, last and next run, the last run's counts, its error and row errors."""
    st.markdown(f"**{view.label}** {STATE_BADGES.get(view.state, view.state)}")
    counts = view.last_counts
    last, next_run, read, changed, rejected = st.columns(5)
    last.metric("Last run", when(view.last_finished_at or view.last_started_at, zone))
    next_run.metric("Next run", "paused" if view.paused else when(view.next_run_at, zone)
                    if view.next_run_at else ("at the worker's next check" if view.configured
                                              else "—"))
    read.metric("Rows read", f"{counts.get('read', 0):,}")
    changed.metric("Rows changed", f"{counts.get('inserted', 0) + counts.get('updated', 0):,}")
    rejected.metric("Rows rejected", f"{counts.get('rejected', 0):,}")
    if view.last_success_at:
        st.caption(f"Last successful sync: {when(view.last_success_at, zone)}. Synced up to: "
                   + ", ".join(f"{stream} {local_time(mark, zone)}"
                               for stream, mark in sorted(view.watermarks.items())))
    if view.last_error:
        st.error(f"The last sync stopped: {literal(view.last_error)}")
    for note in counts.get("notes", []):
        st.caption(literal(note))
    if errors := counts.get("errors"):
        st.caption(f"Rows the CRM sent that could not be stored (the first {len(errors)}; each "
                   "batch on the Import page lists all of them):")
        st.dataframe(pd.DataFrame(errors).rename(columns=str.title), hide_index=True,
                     width="stretch", key=f"integrations_{view.name}_errors")


def settings_form(view: ConnectorView, fields: list, key: str, *, actor) -> None:
    """The connector's settings and credentials form. Saving happens in the button's callback,
    which then empties the credential boxes: a typed credential never stays in the page."""
    with st.form(key):
        for field in fields:
            _input(field, view, f"{key}_{field.key}")
        st.number_input("Sync every (minutes)", 1, 1440, view.every_minutes, key=f"{key}_every")
        st.form_submit_button("Save", type="primary", on_click=_save,
                              args=(view, fields, key, actor))


def _save(view: ConnectorView, fields: list, key: str, actor) -> None:
    values = {field.key: _typed(field, st.session_state.get(f"{key}_{field.key}"))
              for field in fields}
    settings = {f.key: values[f.key] for f in fields if not f.secret}
    credentials = {f.key: values[f.key] or "" for f in fields if f.secret}
    run_service(sync.configure_connector, f"{view.label}'s settings are saved.", actor=actor,
                name=view.name, settings={**settings, "every_minutes": int(
                    st.session_state[f"{key}_every"])}, credentials=credentials)
    for field in fields:
        if field.secret:
            st.session_state[f"{key}_{field.key}"] = ""


def _typed(field, value):
    """A widget's value as the setting's type: a list from lines, an int, stripped text."""
    if isinstance(field.default, list | tuple):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]
    if isinstance(field.default, int) and not isinstance(field.default, bool):
        return int(value)
    return value.strip() if isinstance(value, str) else value


def _input(field, view: ConnectorView, key: str) -> None:
    current = view.settings.get(field.key, field.default)
    if field.secret:
        stored = f" (stored: {view.secret_hint}; leave empty to keep it)" if view.configured \
            else ""
        if field.multiline:
            st.text_area(field.label + stored, help=field.help, key=key)
        else:
            st.text_input(field.label + stored, type="password", help=field.help, key=key)
    elif field.choices:
        labels = dict(field.choices)
        index = list(labels).index(current) if current in labels else 0
        st.selectbox(field.label, list(labels), index=index, format_func=labels.get,
                     help=field.help, key=key)
    elif isinstance(field.default, bool):
        st.checkbox(field.label, value=bool(current), help=field.help, key=key)
    elif isinstance(field.default, int):
        st.number_input(field.label, value=int(current), step=1, help=field.help, key=key)
    elif isinstance(field.default, list | tuple):
        st.text_area(field.label, "\n".join(map(str, current or [])),
                     help=field.help + " One per line.", key=key)
    else:
        st.text_input(field.label, str(current or ""), help=field.help, key=key)


JOB_NAMES = {"advance_time": "Agreement versions on with time",
             "schedule_syncs": "Queue the syncs that are due"}


def job_name(job: str) -> str:
    """A job as people name it: "sync:hubspot" → "HubSpot sync"."""
    if job.startswith("sync:"):
        return f"{sync.CONNECTORS.get(job[5:], job[5:])} sync"
    return JOB_NAMES.get(job, job)


def runs_table(runs: list[RunView], zone: str) -> None:
    if not runs:
        st.caption("The worker has run no job yet. `make run` starts it beside the app.")
        return
    st.dataframe(pd.DataFrame({
        "Job": [job_name(run.job) for run in runs],
        "Attempt": [run.attempt for run in runs],
        "State": [run.state for run in runs],
        "Started": [local_time(run.started_at, zone, seconds=True) for run in runs],
        "Seconds": [round(run.seconds, 1) if run.seconds is not None else None for run in runs],
        "Error": [run.error or "" for run in runs],
    }), hide_index=True, width="stretch", key="integrations_runs")


def tokens_table(tokens: list[TokenView], zone: str) -> None:
    if not tokens:
        st.caption("No API token yet.")
        return
    st.dataframe(pd.DataFrame({
        "#": [t.id for t in tokens], "Client": [t.name for t in tokens],
        "Scope": [t.scope for t in tokens], "Token": [t.shown for t in tokens],
        "Created": [f"{when(t.created_at, zone)} by {t.created_by}" for t in tokens],
        "Last used": [when(t.last_used_at, zone) for t in tokens],
        "State": ["active" if t.active else f"revoked {when(t.revoked_at, zone)}"
                  for t in tokens],
    }), hide_index=True, width="stretch", key="integrations_tokens")


def show_new_token() -> None:
    """The token just created, once: only its hash is kept."""
    if shown := st.session_state.pop(NEW_TOKEN_KEY, None):
        name, token = shown
        st.success(f"The token for {literal(name)}. Copy it now: it is not shown again.")
        st.code(token, language=None)

