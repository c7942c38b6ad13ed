"""The Channels page's widgets: the mail server, the chat webhooks, the delivery log. Values
come from core.services.deliveries; nothing here decides anything. A URL typed here (it may
hold a password or a webhook's secret path) is emptied once sent: only its host is shown."""

import pandas as pd
import streamlit as st

from core.services import Actor, deliveries
from core.services.deliveries import ChannelView, DeliveryView
from core.services.notifications import KINDS
from ui.feedback import run_service
from ui.tables import local_times
from ui.text import code, literal, local_time

FORMATS = {"slack": "Slack", "teams": "Microsoft Teams", "json": "JSON (any other tool)"}
CHANNEL_KINDS = {deliveries.EMAIL: "Email", **FORMATS}
STATES = {"pending": "queued", "sending": "sending", "failed": "failed (will retry)",
          "sent": "sent", "gave_up": "gave up"}
SMTP_PLACEHOLDER = "smtp://user:password@mail.example.com:587?starttls=1"
MAIL_URL_KEY, MAIL_FROM_KEY = "channels_mail_url", "channels_mail_from"
HOOK_FIELDS = ("channels_add_name", "channels_add_format", "channels_add_url",
               "channels_add_kinds")
DEFAULT_HOOK_KINDS = list(deliveries.WEBHOOK_KINDS)
ANY = ""  # a filter that keeps every row
# The log's columns up to the last error fit a laptop's width (a long error is whole in the
# row's attempts); the cause is last.
LOG_COLUMNS = {"Time": st.column_config.TextColumn(width=135),
               "State": st.column_config.TextColumn(width=115),
               "Channel": st.column_config.TextColumn(width=100),
               "Recipient": st.column_config.TextColumn(width=170),
               "Subject": st.column_config.TextColumn(width=170),
               "Attempts": st.column_config.NumberColumn(width=70),
               "Last error": st.column_config.TextColumn(width=180)}


def state_label(state: str) -> str:
    return STATES.get(state, state)


# --- mail -----------------------------------------------------------------------------------


def mail_section(mail: ChannelView | None, actor: Actor) -> None:
    """Where emails go out, and the form that sets it (disabled when the environment does)."""
    if mail is not None and mail.set_by_environment:
        st.info(f"Set by {code('HANDOFF_SMTP_URL')}; the environment wins. Server "
                f"**{literal(mail.hint)}**, sender **{literal(mail.from_address or '')}** "
                f"({code('HANDOFF_MAIL_FROM')}).", icon=":material/lock:")
    elif mail is not None:
        st.markdown(f"Emails go out through **{literal(mail.hint)}** from "
                    f"**{literal(mail.from_address or deliveries.DEFAULT_SENDER)}**.")
    else:
        st.markdown("Mail is **not set up**: notices are listed in the app only, and nobody "
                    "gets an email.")
    fixed = mail is not None and mail.set_by_environment
    stored = f" (stored: {mail.hint}; leave empty to keep it)" if mail and not fixed else ""
    with st.form("channels_mail"):
        url, sender = st.columns([3, 2])
        url.text_input("SMTP URL" + stored, type="password", placeholder=SMTP_PLACEHOLDER,
                       key=MAIL_URL_KEY, disabled=fixed,
                       help="smtp://[user[:password]@]host[:port][?starttls=1], or "
                            "smtps://… for TLS. Sealed when saved; only its host is shown.")
        sender.text_input("Sender address", (mail.from_address if mail else None) or "",
                          placeholder="handoff@example.com", key=MAIL_FROM_KEY, disabled=fixed)
        st.form_submit_button("Save mail server", type="primary", disabled=fixed,
                              on_click=_save_mail, args=(actor,))
    if mail is not None and mail.id is not None and not fixed and st.button(
            "Remove the mail server", key="channels_mail_remove", icon=":material/delete:"):
        run_service(deliveries.remove_channel, "The mail server is removed: nobody gets an "
                    "email until one is set again.", actor=actor, channel_id=mail.id)
        st.rerun()


def _save_mail(actor: Actor) -> None:
    """Save, then empty the URL box: a typed password never stays in the page."""
    run_service(deliveries.set_mail, "The mail server is saved.", actor=actor,
                smtp_url=st.session_state.get(MAIL_URL_KEY) or "",
                mail_from=st.session_state.get(MAIL_FROM_KEY) or "")
    st.session_state[MAIL_URL_KEY] = ""


# --- chat webhooks --------------------------------------------------------------------------


def kinds_text(kinds: list[str]) -> str:
    """The notice kinds a channel gets, as the preferences name them."""
    return "; ".join(KINDS.get(kind, kind) for kind in kinds) or "nothing"


def webhooks_table(hooks: list[ChannelView]) -> None:
    if not hooks:
        st.caption("No chat webhook yet.")
        return
    st.dataframe(pd.DataFrame({
        "Name": [hook.name for hook in hooks],
        "Format": [CHANNEL_KINDS.get(hook.kind, hook.kind) for hook in hooks],
        "Host": [hook.hint for hook in hooks],
        "Gets": [kinds_text(hook.kinds) for hook in hooks],
        "State": ["active" if hook.active else "paused" for hook in hooks],
    }), hide_index=True, width="stretch", key="channels_hooks")


def webhook_actions(hook: ChannelView, actor: Actor) -> None:
    """One webhook's name with its Pause (or Resume) and Remove buttons."""
    name, pause, remove = st.columns([3, 1, 1], vertical_alignment="center")
    name.markdown(f"**{literal(hook.name)}** · {CHANNEL_KINDS.get(hook.kind, hook.kind)} · "
                  f"{literal(hook.hint)}" + ("" if hook.active else " · :orange-badge[Paused]"))
    if pause.button("Resume" if not hook.active else "Pause",
                    key=f"channels_hook_{hook.id}_pause",
                    icon=":material/play_arrow:" if not hook.active else ":material/pause:"):
        run_service(deliveries.update_webhook, f"{hook.name} is "
                    f"{'resumed' if not hook.active else 'paused'}.", actor=actor,
                    channel_id=hook.id, active=not hook.active)
        st.rerun()
    if remove.button("Remove", key=f"channels_hook_{hook.id}_remove",
                     icon=":material/delete:"):
        run_service(deliveries.remove_channel, f"{hook.name} is removed; its deliveries stay "
                    "in the log.", actor=actor, channel_id=hook.id)
        st.rerun()


def add_webhook_form(actor: Actor) -> None:
    """Name, format, URL and the notice kinds of a new chat webhook."""
    with st.form("channels_add"):
        name, kind = st.columns([2, 3])
        name.text_input("Name", placeholder="Sales on Slack", key=HOOK_FIELDS[0])
        kind.radio("Format", list(FORMATS), format_func=FORMATS.get, horizontal=True,
                   key=HOOK_FIELDS[1])
        st.text_input("Webhook URL", type="password", key=HOOK_FIELDS[2],
                      placeholder="https://hooks.slack.com/services/…",
                      help="The incoming webhook's address from Slack, Teams or your tool. "
                           "Sealed when saved; only its host is shown.")
        st.multiselect("Posts", list(deliveries.WEBHOOK_KINDS), DEFAULT_HOOK_KINDS,
                       format_func=KINDS.get,
                       key=HOOK_FIELDS[3])
        st.form_submit_button("Add webhook", type="primary", on_click=_add_webhook,
                              args=(actor,))


def _add_webhook(actor: Actor) -> None:
    """Add it; the URL box is emptied whatever came of it, the others once it is added."""
    name, kind, url, kinds = (st.session_state.get(key) for key in HOOK_FIELDS)
    added = run_service(deliveries.add_webhook, f"{name} is added.", actor=actor,
                        name=name or "", kind=kind, url=url or "", kinds=kinds or [])
    for key in HOOK_FIELDS if added is not None else HOOK_FIELDS[2:3]:
        del st.session_state[key]


# --- the delivery log -----------------------------------------------------------------------


def log_filters(channels: list[str]) -> tuple[str | None, str | None]:
    """The state and the channel to show (None: all)."""
    state, channel, _rest = st.columns([1, 1, 2])
    chosen_state = state.selectbox("State", [ANY, *STATES], key="channels_log_state",
                                   format_func=lambda s: state_label(s) if s else "Every state")
    chosen_channel = channel.selectbox(
        "Channel", [ANY, *channels], key="channels_log_channel",
        format_func=lambda c: channel_label(c) if c else "Every channel")
    return chosen_state or None, chosen_channel or None


def channel_label(channel: str) -> str:
    return CHANNEL_KINDS[deliveries.EMAIL] if channel == deliveries.EMAIL else channel


def recipient(row: DeliveryView, names: dict[str, str]) -> str:
    """An email's person by name and address; a post's webhook host."""
    if row.username:
        return f"{names.get(row.username, row.username)} <{row.recipient}>"
    return row.recipient


def delivery_table(rows: list[DeliveryView], zone: str, names: dict[str, str]
                   ) -> DeliveryView | None:
    """The deliveries, newest first; the one selected (its attempts show below)."""
    if not rows:
        st.caption("No delivery matches." if st.session_state.get("channels_log_state") or
                   st.session_state.get("channels_log_channel") else
                   "Nothing was sent yet: every email and chat post shows here, with its "
                   "attempts.")
        return None
    times = pd.Series([row.created_at for row in rows])
    picked = st.dataframe(pd.DataFrame({
        "Time": local_times(times, zone),
        "State": [state_label(row.state) for row in rows],
        "Channel": [channel_label(row.channel) for row in rows],
        "Recipient": [recipient(row, names) for row in rows],
        "Subject": [row.subject for row in rows],
        "Attempts": [row.attempts for row in rows],
        "Last error": [row.last_error or "" for row in rows],
        "Cause": [row.cause for row in rows],
    }), hide_index=True, width="stretch", key="channels_log", on_select="rerun",
        selection_mode="single-row", column_config=LOG_COLUMNS)
    chosen = picked.selection.rows
    return rows[chosen[0]] if chosen else None


def attempts_history(row: DeliveryView, zone: str, names: dict[str, str]) -> None:
    """Every attempt of one delivery: when, how it went, what the server answered."""
    st.markdown(f"**Attempts of “{literal(row.subject)}”** to "
                f"{literal(recipient(row, names))}: {state_label(row.state)}"
                + (f", sent {local_time(row.sent_at, zone)}" if row.sent_at else "")
                + (f", next try {local_time(row.next_attempt_at, zone)}"
                   if row.state == "failed" and row.next_attempt_at else ""))
    if not row.history:
        st.caption("Not tried yet.")
        return
    st.dataframe(pd.DataFrame({
        "At": [local_time(step["at"], zone, seconds=True) for step in row.history],
        "Outcome": [state_label(step.get("state", "")) for step in row.history],
        "Error": [step.get("error") or "" for step in row.history],
    }), hide_index=True, width="stretch", key="channels_log_history")
