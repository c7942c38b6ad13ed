"""What a person does to a lead, in one place for the worklist's cards and the lead page: log a
touch with its outcome and a note, accept, reject with a chosen reason and a note, undo."""

import streamlit as st

from core.services import Actor, leads
from ui.feedback import run_service
from ui.services import call
from ui.text import local_time, words

OUTCOMES = leads.TOUCH_OUTCOMES
WORKED_KEY = "work_just_worked"  # the leads this person logged a touch on, newest first
ICONS = {"call": ":material/call:", "email": ":material/mail:", "meeting": ":material/event:"}


def touch_form(lead_id: int, actor: Actor, key: str) -> None:
    """A popover to log a call, email or meeting with what came of it and a note."""
    with st.popover("Log a touch"), \
            st.form(f"{key}_touch_{lead_id}", clear_on_submit=True, border=False):
        kind = st.radio("Touch", leads.HUMAN_KINDS, horizontal=True, format_func=words,
                        key=f"{key}_kind_{lead_id}")
        outcome = st.selectbox("Outcome", OUTCOMES, index=None, format_func=words,
                               placeholder="What came of it (optional)",
                               key=f"{key}_outcome_{lead_id}")
        note = st.text_area("Note", key=f"{key}_note_{lead_id}", height=80,
                            placeholder="What was said, what comes next (optional)")
        if st.form_submit_button("Log it", type="primary", icon=ICONS["call"]):
            told = f" ({words(outcome, capitalized=False)})" if outcome else ""
            if run_service(leads.log_touch, f"Logged a {kind}{told}.", actor=actor,
                           lead_id=lead_id, kind=kind, outcome=outcome, note=note) is not None:
                remember_worked(lead_id)
            st.rerun()


def decide_buttons(lead_id: int, actor: Actor, reasons: list[str], key: str, *,
                   accepted: bool = False, rejected: bool = False) -> None:
    """Accept at once, or reject with a reason chosen from the agreement's (none is chosen for
    the rep) and a note; a lead that stands accepted (or rejected) is not offered that again."""
    accept, reject = st.columns(2)
    if not accepted and accept.button("Accept", key=f"{key}_accept_{lead_id}",
                                      icon=":material/check:"):
        run_service(leads.accept_lead, "Lead accepted.",
                    actor=actor, lead_id=lead_id)
        st.rerun()
    if rejected:
        return
    with reject.popover("Reject", disabled=not reasons), \
            st.form(f"{key}_reject_form_{lead_id}", border=False):
        reason = st.selectbox("Reason", reasons, index=None, format_func=words,
                              placeholder="Choose a reason", key=f"{key}_reason_{lead_id}")
        note = st.text_area("Note for marketing", key=f"{key}_reject_note_{lead_id}",
                            height=80, placeholder="Why this lead is not for sales "
                                                   "(optional)")
        if st.form_submit_button("Reject lead"):
            said = f"Lead rejected: {words(reason)}." if reason else "Rejected."
            run_service(leads.reject_lead, said, actor=actor, lead_id=lead_id,
                        reason=reason, note=note)
            st.rerun()


def undo_button(lead_id: int, actor: Actor, timezone: str, key: str) -> None:
    """Undo the lead's latest accept or reject, when this person may (its author within the
    workspace's window, the head of sales at any time)."""
    undoable = call(leads.undoable_decision, actor=actor, lead_id=lead_id)
    if undoable is None:
        return
    what = "accept" if undoable.kind == "accept" else "rejection"
    until = ("" if undoable.decided_by != actor.username or actor.role != "sales_rep" else
             f" (until {local_time(undoable.author_until, timezone)})")
    if st.button(f"Undo the {what}{until}", key=f"{key}_undo_{lead_id}",
                 icon=":material/undo:"):
        run_service(leads.undo_decision, f"The {what} is undone.", actor=actor,
                    lead_id=lead_id)
        st.rerun()


def remember_worked(lead_id: int) -> None:
    """Keep a lead just worked on the worklist's cards, so its new clock is seen at once."""
    worked = [lead_id] + [i for i in st.session_state.get(WORKED_KEY, []) if i != lead_id]
    st.session_state[WORKED_KEY] = worked[:5]
