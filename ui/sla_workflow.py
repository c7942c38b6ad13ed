"""The negotiation around a version: state, approvals, workflow buttons, comments, redline,
history, and starting a new agreement."""

from datetime import date
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from core import agreement as sla
from core import clock
from core.permissions import Action, can
from core.services import Actor, agreements
from core.services.agreements import (
    SIDE_OF_ROLE,
    AgreementSummary,
    VersionView,
)
from ui.feedback import flash, run_service
from ui.services import call
from ui.text import clause_label, code, literal, local_time, words

STATE_BADGES = {
    "draft": ("Draft", "gray"), "in_review": ("In review", "orange"),
    "agreed": ("Agreed by both heads", "blue"), "scheduled": ("Signed", "violet"),
    "active": ("Active", "green"), "superseded": ("Superseded", "gray"),
    "expired": ("Expired", "gray"),
}
SIDE_LABELS = {"sales": "Sales", "marketing": "Marketing", "exec": "Exec sign-off"}
CHANGE_COLOURS = {"added": "#d7f5dd", "removed": "#fbdada", "changed": "#fff1c7"}
TIMEZONES = sorted(available_timezones())


def state_label(state: str, start: date | None = None) -> str:
    """A version's state in words: a scheduled one says when it starts."""
    label = STATE_BADGES[state][0]
    return f"{label} · starts {start:%Y-%m-%d}" if state == "scheduled" and start else label


def summary_label(summary: AgreementSummary) -> str:
    """An agreement in the picker: title, id, and where its latest version stands."""
    start = summary.scheduled_start if summary.latest_state == "scheduled" else None
    return (f"{summary.title} · #{summary.id} · latest v{summary.latest_number} "
            f"{state_label(summary.latest_state, start).lower()}")


def version_label(version: VersionView) -> str:
    """A version in the picker."""
    state = state_label(version.state, version.document.effective.start).lower()
    return f"v{version.number} — {state}{' (latest)' if version.is_latest else ''}"


def workflow_bar(actor: Actor, version: VersionView) -> None:
    """State, approvals so far, and the next steps this user may take."""
    st.badge(state_label(version.state, version.document.effective.start),
             color=STATE_BADGES[version.state][1])
    st.caption(" · ".join(literal(_approval_text(version, side)) for side in SIDE_LABELS))
    if not version.is_latest:
        st.info(f"Version {version.number} is history: the negotiation continues on the latest "
                "version.")
        return
    steps = _steps_for(actor, version)
    if not steps:
        return
    prefix = f"sla_step_{version.agreement_id}_{version.number}"
    st.text_input("Comment for this step (optional)", key=f"{prefix}_comment")
    for column, (name, label, service, success) in zip(st.columns(len(steps)), steps,
                                                       strict=True):
        # A callback with its arguments bound now: the step names the revision this run shows,
        # not the one the click's rerun would read (someone may have edited it meanwhile).
        column.button(label, key=f"{prefix}_{name}", type="primary", on_click=_take_step,
                      args=(actor, service, success, _step_arguments(service, version),
                            f"{prefix}_comment"))


def _step_arguments(service, version: VersionView) -> dict:
    """What a workflow step is called with; approvals and sign-offs name what is on screen."""
    arguments = {"agreement_id": version.agreement_id}
    if service is not agreements.amend:
        arguments["number"] = version.number
    if service in (agreements.approve, agreements.sign):
        arguments |= {"revision": version.revision, "document_sha256": version.document_sha256}
    return arguments


def _take_step(actor: Actor, service, success: str, arguments: dict, comment_key: str) -> None:
    """Run a workflow step from its button, with the step's comment; open what it made."""
    if service is not agreements.amend:
        arguments = {**arguments, "comment": st.session_state.get(comment_key) or None}
    result = run_service(service, success, actor=actor, **arguments)
    if result is not None and result.state == "scheduled":  # signed ahead of its start
        flash("success", f"Signed off: the version governs from "
                         f"{result.document.effective.start:%Y-%m-%d}; the one before governs "
                         "until then.")
    if result is not None:
        st.session_state["sla_open"] = (result.agreement_id, result.number)
        st.session_state[comment_key] = ""  # recorded with the step and under Comments


def _approval_text(version: VersionView, side: str) -> str:
    approval = version.approval(side)
    if approval is None:
        return f"{SIDE_LABELS[side]}: waiting"
    zone = version.document.calendar.timezone
    return f"{SIDE_LABELS[side]}: ✔ {approval.who}, {local_time(approval.at, zone)}"


def _steps_for(actor: Actor, version: VersionView) -> list[tuple]:
    """The workflow buttons this actor may press on this version now."""
    steps = []
    editor = can(actor.role, Action.EDIT_AGREEMENT)
    side = SIDE_OF_ROLE.get(actor.role)
    if editor and version.state == "draft":
        steps.append(("submit", "Submit for review", agreements.submit, "Submitted for review."))
    if side and version.state == "in_review" and version.approval(side) is None:
        steps.append(("approve", f"Approve for {side}", agreements.approve,
                      f"Approved for {side}."))
    if can(actor.role, Action.SIGN_OFF) and version.state == "agreed":
        steps.append(("sign", "Sign off", agreements.sign, "Signed off: the version is active."))
    if editor and not version.editable:
        steps.append(("amend", "Start an amendment", agreements.amend,
                      "A new draft version copies this one."))
    return steps


def comments_panel(actor: Actor, version: VersionView, comments: list) -> None:
    """The version's comments, and a form to add one (for the roles that may comment)."""
    for comment in comments:
        where = f" on {code(comment.clause)}" if comment.clause else ""
        with st.chat_message("user"):
            st.markdown(f"**{literal(comment.author_name)}**{where} · "
                        f"{local_time(comment.at, version.document.calendar.timezone)}")
            st.markdown(literal(comment.body))
    if not comments:
        st.caption("No comments on this version yet.")
    if not can(actor.role, Action.COMMENT):
        return
    clauses = ["(the whole version)", *sla.clause_ids(version.document)]
    prefix = f"sla_comment_{version.agreement_id}_{version.number}"
    with st.form(prefix, clear_on_submit=True):
        clause = st.selectbox("On", clauses, key=f"{prefix}_clause")
        body = st.text_area("Comment", key=f"{prefix}_body")
        if st.form_submit_button("Add comment") and run_service(
                agreements.add_comment, "Comment added.", actor=actor,
                agreement_id=version.agreement_id, number=version.number, body=body,
                clause=None if clause == clauses[0] else clause):
            st.rerun()  # the new comment shows above at once
            st.rerun()


def redline_panel(changes: list[sla.ClauseChange], old: int, new: int) -> None:
    """Clause-by-clause differences between two versions."""
    if not changes:
        st.info(f"Versions {old} and {new} are identical.")
        return
    table = pd.DataFrame(
        {
            "Clause": [clause_label(c.clause) for c in changes],
            "Change": [c.change for c in changes],
            f"Version {old}": [_plain(c.old) for c in changes],
            f"Version {new}": [_plain(c.new) for c in changes],
        }
    )
    styled = table.style.apply(
        lambda row: [f"background-color: {CHANGE_COLOURS[row['Change']]}"] * len(row), axis=1
    )
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption(f"{len(changes)} clause{'s' if len(changes) != 1 else ''} differ: "
               + ", ".join(f"{sum(c.change == k for c in changes)} {k}"
                           for k in CHANGE_COLOURS if any(c.change == k for c in changes)))


ACTION_WORDS = {
    "agreement.create": "Started the agreement", "version.create": "New version",
    "version.edit": "Edited", "version.submit": "Submitted for review",
    "version.approve.sales": "Approved for sales",
    "version.approve.marketing": "Approved for marketing",
    "version.approve.exec": "Signed off (exec)", "version.agree": "Agreed by both heads",
    "version.sign": "Signed off", "version.supersede": "Superseded by a newer version",
    "version.activate": "In force from its start date", "version.expire": "Ended (its end date "
                                                                           "passed)",
    "comment.add": "Commented",
}


def history_panel(entries: list, zone: str = "UTC") -> None:
    """The audit trail: who did what, when (in `zone`), and what changed, in words."""
    table = pd.DataFrame(
        {
            "When": [local_time(e.at, zone) for e in entries],
            "Who": [e.actor_name for e in entries],
            "What": [ACTION_WORDS.get(e.action, words(e.action)) for e in entries],
            "Version": ["" if e.version_number is None else f"v{e.version_number}"
                        for e in entries],
            "Change": [_entry_text(e) for e in entries],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Change": st.column_config.TextColumn(width="large")})


def _entry_text(entry) -> str:
    """What an audit event changed, in words."""
    if entry.changes:
        return "; ".join(_change_text(change) for change in entry.changes)
    before, after = entry.before or {}, entry.after or {}
    if "state" in after:
        shown = f"{state_label(before['state'])} → " if "state" in before else ""
        comment = f" · “{after['comment']}”" if after.get("comment") else ""
        return shown + state_label(after["state"]) + comment
    if "body" in after:  # a comment
        where = f"on {clause_label(after['clause'])}: " if after.get("clause") else ""
        return f"{where}“{after['body']}”"
    if "document" in after:  # a new version
        based_on = after.get("based_on")
        return f"a copy of v{based_on}" if based_on else "the first draft"
    return _plain({words(k): v for k, v in after.items()})


def _change_text(change: sla.ClauseChange) -> str:
    """One redline change in words: "Commitments › First touch › Within: 4h → 2h"."""
    if change.change == "changed":
        return f"{clause_label(change.clause)}: {_plain(change.old)} → {_plain(change.new)}"
    return f"{clause_label(change.clause)} {change.change}"


def new_agreement_form(actor: Actor, summaries: list[AgreementSummary]) -> None:
    """Start an agreement from the template, from a copy of an active version, or from YAML."""
    with st.expander("Start a new agreement", icon=":material/add:"):
        source = st.radio("Start from", ["Template", "Copy of an active version", "YAML file"],
                          horizontal=True, key="sla_new_source")
        if source == "Template":
            _template_form(actor)
        elif source == "Copy of an active version":
            _copy_form(actor, [s for s in summaries if s.active_number])
        else:
            _upload_form(actor)


def _template_form(actor: Actor) -> None:
    with st.form("sla_new_template"):
        title = st.text_input("Title", value="Sales–Marketing SLA", key="sla_new_title")
        left, right = st.columns(2)
        start = left.date_input("Effective from", value=clock.today().replace(day=1),
                                key="sla_new_start")
        end = right.date_input("Until (exclusive)", value=_quarter_after(clock.today()),
                               key="sla_new_end")
        zone = left.selectbox("Time zone", TIMEZONES, index=TIMEZONES.index("America/New_York"),
                              key="sla_new_zone")
        target = right.number_input("Monthly MQL target", min_value=1, value=1000, step=50,
                                    key="sla_new_target")
        st.caption("The template: first touch within 4 business hours, accept or reject within "
                   "24, 3 attempts in 5 business days, 80% of MQLs accepted.")
        if st.form_submit_button("Create draft", type="primary"):
            if end <= start:
                st.session_state["flash"] = ("error", "effective.end: must be after the start")
            else:
                document = sla.template(title=title, start=start, end=end, timezone=zone,
                                        mql_target=int(target))
                _created(run_service(agreements.create_agreement, "Draft created.", actor=actor,
                                     document=document))
            st.rerun()


def _copy_form(actor: Actor, signed: list[AgreementSummary]) -> None:
    if not signed:
        st.caption("No agreement has an active version yet.")
        return
    with st.form("sla_new_copy"):
        chosen = st.selectbox("Copy", signed, format_func=lambda s: f"{s.title} (v"
                              f"{s.active_number})", key="sla_new_copy_of")
        if st.form_submit_button("Create draft", type="primary"):
            document = call(agreements.get_version, actor=actor, agreement_id=chosen.id,
                            number=chosen.active_number).document
            _created(run_service(agreements.create_agreement, "Draft created from a copy.",
                                 actor=actor, document=document))
            st.rerun()


def _upload_form(actor: Actor) -> None:
    upload = st.file_uploader("SLA YAML", type=["yaml", "yml"], key="sla_new_upload")
    if upload is not None and st.button("Import as a new draft", key="sla_new_import"):
        _created(run_service(agreements.import_yaml, "Imported as a new draft.", actor=actor,
                             text=upload.getvalue(), source=upload.name))
        st.rerun()


def _created(version: VersionView | None) -> None:
    """Open the agreement that was just created."""
    if version is not None:
        st.session_state["sla_open"] = (version.agreement_id, version.number)


def _quarter_after(day: date) -> date:
    first_month = ((day.month - 1) // 3) * 3 + 1
    month = first_month + 3
    return date(day.year + (month > 12), (month - 1) % 12 + 1, 1)


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) if isinstance(v, dict | list) else str(v) for v in value)
    return str(value)

