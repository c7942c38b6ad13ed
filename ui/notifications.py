"""A person's notices and their email choices, as the bell and the Notifications page show them.
Values and rules come from core.services.notifications; nothing here decides anything.

Opening a notice marks it read, then opens the page it names (a lead's): its button's callback
marks it and remembers the page, and `follow_opened_notice` (the bell, on every run) opens it.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlparse

import streamlit as st

from core.services import Actor, notifications
from core.services.notifications import KINDS, MODES, NotificationView
from ui.feedback import flash, run_service
from ui.navigation import PAGES, PAGES_DIR
from ui.services import call
from ui.sla_workflow import TIMEZONES
from ui.text import literal, local_time

BELL_KEY = "bell"  # the bell's popover: its open state, closed when a notice opens a page
OPENING_KEY = "notice_opening"  # the page a notice's Open asked for, opened on the next run
EMAIL_STATES = {"pending": "email waits for your working hours", "sent": "emailed",
                "digest": "in your daily digest", "none": "not emailed"}
AGREEMENT_ZONE = ""  # quiet hours read in the agreement's zone
QUIET_FIELDS = ("notices_quiet_zone", "notices_quiet_start", "notices_quiet_end")


@dataclass(frozen=True)
class Target:
    """The app page a notice links to: its script and query (`/lead?lead=7`)."""

    script: str
    query: dict[str, str]


def target_of(link: str | None, role: str) -> Target | None:
    """The page of the app a notice's link names, when this role may open it."""
    if not link:
        return None
    address = urlparse(link)
    path = address.path.strip("/")
    page = next((page for page in PAGES if page.url_path == path), None)
    if page is None or not page.opens_for(role):
        return None
    return Target(str(PAGES_DIR / page.script), dict(parse_qsl(address.query)))


def follow_opened_notice() -> None:
    """Open the page of the notice opened in the last run (its button marked it read)."""
    if target := st.session_state.pop(OPENING_KEY, None):
        st.switch_page(target.script, query_params=target.query)


def _open(notice_id: int, target: Target, actor: Actor) -> None:
    call(notifications.mark_read, actor=actor, ids=[notice_id])
    st.session_state[OPENING_KEY] = target
    st.session_state[BELL_KEY] = False  # the bell closes as its page opens


def open_button(notice: NotificationView, actor: Actor, key: str) -> None:
    """"Open" for a notice that links to a page of the app: marks it read and opens the page."""
    if target := target_of(notice.link, actor.role):
        st.button("Open", key=f"{key}_open_{notice.id}", icon=":material/open_in_new:",
                  on_click=_open, args=(notice.id, target, actor),
                  help="Marks this notice read and opens its page")


def mark_read(actor: Actor, ids: list[int] | None, success: str) -> None:
    """Mark these notices read (None: all of the actor's), then say so after the rerun."""
    run_service(notifications.mark_read, success, actor=actor, ids=ids)


def title_line(notice: NotificationView) -> str:
    """The notice's title, bold while it is unread."""
    title = literal(notice.title)
    return f"**{title}**" if notice.read_at is None else title


def about_line(notice: NotificationView, zone: str, *, email: bool = False) -> str:
    """What kind of notice it is and when it came ("A lead breached its clock · 2026-12-03
    09:15 EST"), and what became of its email (`email`)."""
    parts = [KINDS.get(notice.kind, notice.kind), local_time(notice.created_at, zone)]
    if email:
        parts.append(EMAIL_STATES.get(notice.email_state, notice.email_state))
    return literal(" · ".join(parts))


def notice_list(notices: list[NotificationView], actor: Actor, zone: str) -> None:
    """Every notice in a box: unread marked, its kind, title, text, time, why, and Open and
    Mark read."""
    for notice in notices:
        with st.container(border=True, key=f"notices_row_{notice.id}"):
            text, actions = st.columns([5, 1.4], vertical_alignment="center")
            with text:
                marker = ":blue-badge[Unread] " if notice.read_at is None else ""
                st.markdown(marker + title_line(notice))
                if notice.body:
                    st.markdown(literal(notice.body))
                st.caption(about_line(notice, zone, email=True)
                           + f" · why: {literal(notice.cause)}")
            with actions:
                open_button(notice, actor, "notices")
                if notice.read_at is None and st.button(
                        "Mark read", key=f"notices_read_{notice.id}",
                        icon=":material/done:"):
                    mark_read(actor, [notice.id], "Marked read.")
                    st.rerun()


def preferences_form(actor: Actor) -> None:
    """Per kind of notice: email at once, in the daily digest, or not at all."""
    chosen = call(notifications.preferences, actor=actor)
    with st.form("notices_preferences"):
        for kind, label in KINDS.items():
            st.radio(label, list(MODES), index=list(MODES).index(chosen[kind]),
                     format_func=MODES.get, horizontal=True, key=f"notices_mode_{kind}")
        if st.form_submit_button("Save email choices", type="primary"):
            _save_preferences(actor, chosen)
            st.rerun()


def _save_preferences(actor: Actor, chosen: dict[str, str]) -> None:
    changed = {kind: st.session_state[f"notices_mode_{kind}"] for kind in KINDS
               if st.session_state[f"notices_mode_{kind}"] != chosen[kind]}
    for kind, mode in changed.items():
        if run_service(notifications.set_preference, "Your email choices are saved.",
                       actor=actor, kind=kind, mode=mode) is None:
            return  # refused: its message shows, the rest is not saved
    if not changed:
        flash("info", "Nothing changed.")


def quiet_hours_form(actor: Actor, agreement_zone: str) -> None:
    """The person's own zone and quiet hours ("HH:MM"), saved or cleared."""
    current = call(notifications.quiet_hours, actor=actor)
    zones = [AGREEMENT_ZONE, *TIMEZONES]
    if current.timezone and current.timezone not in zones:
        zones.append(current.timezone)
    with st.form("notices_quiet"):
        st.selectbox("Time zone", zones, index=zones.index(current.timezone or AGREEMENT_ZONE),
                     format_func=lambda zone: zone or f"The agreement's zone ({agreement_zone})",
                     key=QUIET_FIELDS[0])
        start, end = st.columns(2)
        start.text_input("Quiet from (HH:MM)", current.start or "", placeholder="21:00",
                         key=QUIET_FIELDS[1])
        end.text_input("Quiet until (HH:MM)", current.end or "", placeholder="07:00",
                       key=QUIET_FIELDS[2])
        save, clear, _rest = st.columns([1, 1, 3])
        save.form_submit_button("Save quiet hours", type="primary", on_click=_save_quiet_hours,
                                args=(actor, False))
        clear.form_submit_button("Clear", on_click=_save_quiet_hours, args=(actor, True))


def _save_quiet_hours(actor: Actor, clearing: bool) -> None:
    """Save what the form holds (or nothing, `clearing`); once saved, the form shows what was
    stored. A refusal keeps what was typed on screen beside its message."""
    zone, start, end = (None, None, None) if clearing else (
        (st.session_state[key] or "").strip() or None for key in QUIET_FIELDS)
    saved = run_service(notifications.set_quiet_hours,
                        "Quiet hours cleared: alerts wait for the agreement's working hours."
                        if clearing else "Your quiet hours are saved.",
                        actor=actor, timezone=zone, start=start, end=end)
    if saved is not None:
        for key in QUIET_FIELDS:
            del st.session_state[key]
