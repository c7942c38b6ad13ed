"""The draft editor: forms per section, a criteria builder, a calendar editor and a YAML tab.

Edits go to a working copy (the document as a plain dict, and the revision it was based on),
held in session state and kept in the database on every edit (core.services.working_copies):
a new session on any app replica, after a restart or when the proxy moved the user, gets it
back. Saving validates the whole document and sends it with the revision it was based on, so a
stale save is refused and the working copy, with all the user's changes, stays (on screen and
in the database) to be reapplied. A successful save, or a discard, drops the copy.
"""

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from core import agreement as sla
from core.calendar import WEEKDAYS
from core.permissions import Action, can
from core.services import Actor, agreements, working_copies
from core.services.agreements import StaleVersion, VersionView
from ui.feedback import REFUSALS, flash
from ui.services import call
from ui.sla_document import describe_commitment
from ui.sla_workflow import TIMEZONES
from ui.text import code, literal, local_time

SECTIONS = ["General", "Definitions", "Commitments", "Shared goals", "Calendar", "YAML"]
OPERATORS = ["==", "!=", "in", "not in", ">=", ">", "<=", "<", "contains", "exists"]
KINDS = ["volume", "response", "attempts", "acceptance_rate"]
PERIODS = ["week", "month", "quarter"]
METRICS = ["won_amount", "won_count", "pipeline_amount", "sql_count"]
VOLUME_STAGES = ["created", "mql", "sal", "sql", "opportunity", "won"]
STARTS = ["created", "mql", "sal", "sql"]
STOPS = ["first_touch", "accepted_or_rejected", "sal", "sql"]


def render_editor(actor: Actor, version: VersionView) -> None:
    """The Edit tab of a version."""
    if not can(actor.role, Action.EDIT_AGREEMENT):
        st.info("Only the heads of sales and marketing edit agreements.")
        return
    if not version.editable:
        st.info(f"Version {version.number} is {version.state} and can no longer change. "
                "Start an amendment to propose changes.")
        return
    if not version.is_latest:
        st.info("Only the latest version can be edited.")
        return
    working = _working_copy(actor, version)
    if restored_at := working.pop("restored_at", None):  # once: the first run that restores it
        st.caption(f"Restored your unsaved changes from "
                   f"{local_time(restored_at, version.document.calendar.timezone)} (kept for "
                   "you while you edit).")
    if working["revision"] != version.revision:
        st.warning(f"{literal(version.updated_by)} saved version {version.number} after you "
                   "started editing. Your changes are still here; saving them will be refused "
                   "until you reload the latest version and reapply them.")
    if version.approvals:
        st.caption("This version has approvals: saving an edit creates a new draft version and "
                   "the approvals stay with this one.")
    section = st.radio("Section", SECTIONS, horizontal=True, key=f"{_prefix(version)}_section")
    data = working["data"]
    {
        "General": _general, "Definitions": _definitions, "Commitments": _commitments,
        "Shared goals": _goals, "Calendar": _calendar, "YAML": _yaml,
    }[section](actor, data, version)
    st.divider()
    _save_bar(actor, version, working)


# --- the working copy ---------------------------------------------------------------------


def _prefix(version: VersionView) -> str:
    return f"sla_edit_{version.agreement_id}_{version.number}"


def _working_copy(actor: Actor, version: VersionView) -> dict[str, Any]:
    """This session's working copy of the version: the one in session state, else the one kept
    in the database (restored: `restored_at` says when it was kept), else the version's own."""
    key = _prefix(version)
    if key not in st.session_state:
        st.session_state[key] = _restored(actor, version) or {
            "revision": version.revision, "dirty": False, "data": sla.to_dict(version.document)}
    return st.session_state[key]


def _restored(actor: Actor, version: VersionView) -> dict[str, Any] | None:
    """The copy the database kept for the user (from any session, on any replica), or None."""
    kept = call(working_copies.find, actor=actor, agreement_id=version.agreement_id,
                number=version.number)
    if kept is None:
        return None
    return {"revision": kept.revision, "dirty": True, "data": kept.data,
            "restored_at": kept.updated_at}


def _update(actor: Actor, version: VersionView, **changes: Any) -> None:
    """Apply top-level changes to the working copy (None removes an optional key)."""
    data = dict(_working_copy(actor, version)["data"])
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    _keep(actor, version, data)


def _keep(actor: Actor, version: VersionView, data: dict[str, Any]) -> None:
    """Make `data` the working copy: kept in the database first, then on screen. A refusal
    (over the size limit, the version signed meanwhile) changes neither, and says why."""
    working = _working_copy(actor, version)
    try:
        call(working_copies.keep, actor=actor, agreement_id=version.agreement_id,
             number=version.number, revision=working["revision"], data=data)
    except REFUSALS as refusal:
        flash("error", f"Your change was not applied: {refusal}")
        return
    working["data"], working["dirty"] = data, True


def _forget(actor: Actor, version: VersionView) -> None:
    """Drop the working copy, from the database and from session state (saved or discarded)."""
    call(working_copies.drop, actor=actor, agreement_id=version.agreement_id,
         number=version.number)
    st.session_state.pop(_prefix(version), None)


def _save_bar(actor: Actor, version: VersionView, working: dict[str, Any]) -> None:
    prefix = _prefix(version)
    if working["dirty"]:
        st.caption("You have unsaved changes.")
    left, right = st.columns(2)
    if left.button("Save draft", type="primary", key=f"{prefix}_save",
                   disabled=not working["dirty"]):
        _save(actor, version, working)
    if right.button("Discard my changes and reload", key=f"{prefix}_reload"):
        _forget(actor, version)
        st.rerun()


def _save(actor: Actor, version: VersionView, working: dict[str, Any]) -> None:
    try:
        document = sla.from_dict(working["data"])
        saved = call(agreements.save_draft, actor=actor, agreement_id=version.agreement_id,
                     number=version.number, document=document,
                     expected_revision=working["revision"])
    except sla.InvalidAgreement as error:  # the schema's checks, or the workspace's (teams)
        st.error("The draft is not valid yet:\n\n" + "\n".join(
            f"- {code(e.path or '(document)')}: {literal(e.message)}" for e in error.errors))
        return
    except StaleVersion as error:
        st.error(literal(error))
        st.download_button("Download my version as YAML", sla.dump_yaml(document),
                           file_name=f"my-sla-draft-v{version.number}.yaml",
                           key=f"{_prefix(version)}_rescue")
        return
    _forget(actor, version)
    if saved.number != version.number:
        st.session_state["flash"] = ("success", f"Saved as version {saved.number}, a new draft: "
                                     "the approvals of the old version were not carried over.")
        st.session_state["sla_open"] = (version.agreement_id, saved.number)
    else:
        st.session_state["flash"] = ("success", f"Saved version {saved.number} "
                                     f"(revision {saved.revision}).")
    st.rerun()


# --- sections -----------------------------------------------------------------------------


def _general(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    prefix = _prefix(version)
    consequences = data.get("consequences", {})
    with st.form(f"{prefix}_general"):
        title = st.text_input("Title", data["title"], key=f"{prefix}_title")
        left, right = st.columns(2)
        start = left.date_input("Effective from", date.fromisoformat(data["effective"]["start"]),
                                key=f"{prefix}_start")
        end = right.date_input("Until (exclusive)", date.fromisoformat(data["effective"]["end"]),
                               key=f"{prefix}_end")
        marketing = left.text_area("If marketing misses", consequences.get("marketing", ""),
                                   key=f"{prefix}_cons_marketing")
        sales = right.text_area("If sales misses", consequences.get("sales", ""),
                                key=f"{prefix}_cons_sales")
        reasons = st.text_input("Rejection reasons (comma-separated)",
                                ", ".join(data.get("rejection_reasons", [])),
                                key=f"{prefix}_reasons")
        if st.form_submit_button("Apply"):
            chosen = {k: v.strip() for k, v in (("marketing", marketing), ("sales", sales))
                      if v.strip()}
            _update(actor, version, title=title,
                    effective={"start": start.isoformat(), "end": end.isoformat()},
                    consequences=chosen or None,
                    rejection_reasons=[r.strip() for r in reasons.split(",") if r.strip()])
            st.rerun()


def _definitions(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    """Stage descriptions and the MQL/SAL/SQL criteria builder."""
    prefix = _prefix(version)
    stages = data.get("stages", {})
    with st.form(f"{prefix}_definitions"):
        edited = {}
        for stage in ("mql", "sal", "sql"):
            current = stages.get(stage, {})
            st.markdown(f"**{stage.upper()}**")
            description = st.text_input("Description", current.get("description", ""),
                                        key=f"{prefix}_{stage}_description")
            criteria = st.data_editor(
                _criteria_frame(current.get("criteria", [])), num_rows="dynamic",
                width="stretch", key=f"{prefix}_{stage}_criteria",
                column_config={
                    "field": st.column_config.TextColumn("Lead field", required=True),
                    "op": st.column_config.SelectboxColumn("Operator", options=OPERATORS,
                                                           required=True),
                    "value": st.column_config.TextColumn(
                        "Value", help="Lists: comma-separated. exists: true or false."),
                },
            )
            edited[stage] = (description, criteria)
        if st.form_submit_button("Apply"):
            new_stages = {}
            for stage, (description, criteria) in edited.items():
                rows = _criteria_rows(criteria)
                if stage not in stages and not description and not rows:
                    continue
                entry: dict[str, Any] = {}
                if description:
                    entry["description"] = description
                if rows:
                    entry["criteria"] = rows
                new_stages[stage] = entry
            _update(actor, version, stages=new_stages)
            st.rerun()


def _criteria_frame(criteria: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "field": [c["field"] for c in criteria],
            "op": [c["op"] for c in criteria],
            "value": [_value_text(c.get("value")) for c in criteria],
        },
        dtype=object,
    )


def _criteria_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict("records"):
        field, op = (record.get("field") or "").strip(), record.get("op")
        if not field and not op:
            continue
        rows.append({"field": field, "op": op, "value": _parse_value(op, record.get("value"))})
    return rows


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _parse_value(op: str | None, text: Any) -> Any:
    """Read a criterion value typed in a cell: lists for in/not in, booleans, numbers."""
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    if op in ("in", "not in"):
        return [_scalar(part.strip()) for part in text.split(",") if part.strip()]
    if op == "exists":
        return text.strip().lower() not in ("false", "no", "0")
    return _scalar(text.strip())


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _commitments(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    """The commitments, each editable in place or removable, and a form to add one."""
    prefix = _prefix(version)
    commitments = data.get("commitments", [])
    document = _document_or_none(data)
    described = {c.id: describe_commitment(c) for c in document.commitments} if document else {}
    for index, commitment in enumerate(commitments):
        key = f"{prefix}_commitment_{index}_{commitment['id']}"
        text, remove = st.columns([5, 1])
        # an added commitment is not validated yet: its id and owner may be any text
        text.markdown(f"**{literal(commitment['owner'])}** · {code(commitment['id'])} — "
                      f"{described.get(commitment['id'], literal(commitment['kind']))}")
        if remove.button("Remove", key=f"{prefix}_remove_{index}_{commitment['id']}"):
            _update(actor, version, commitments=commitments[:index] + commitments[index + 1:])
            st.rerun()
        with st.expander(f"Edit {commitment['id']}"), st.form(f"{key}_form"):
            edited = _commitment_fields(commitment["kind"], key, commitment)
            if st.form_submit_button("Apply", key=f"{key}_apply"):
                # Other keys (a filter, say) are kept, and the commitment keeps its place
                changed = {**commitment, **edited}
                if not edited.get("description"):
                    changed.pop("description", None)
                _update(actor, version, commitments=[*commitments[:index], changed,
                                                     *commitments[index + 1:]])
                st.rerun()
    st.markdown("**Add a commitment**")
    kind = st.selectbox("Kind", KINDS, key=f"{prefix}_new_kind")
    with st.form(f"{prefix}_add_commitment", clear_on_submit=True):
        new = _commitment_fields(kind, f"{prefix}_new")
        if st.form_submit_button("Add"):
            if not new.get("description"):
                new.pop("description", None)
            _update(actor, version, commitments=[*commitments, new])
            st.rerun()


def _commitment_fields(kind: str, key: str, current: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """A commitment's inputs (its id, owner, the fields of its kind and a description),
    filled with `current` when editing one."""
    current = current or {}
    left, right = st.columns(2)
    owners = ["marketing", "sales"]
    owner = current.get("owner", "marketing" if kind in ("volume", "acceptance_rate")
                        else "sales")
    return {
        "id": left.text_input("Id (e.g. demo-touch)", current.get("id", ""), key=f"{key}_id"),
        "owner": right.selectbox("Owner", owners,
                                 index=owners.index(owner) if owner in owners else 0,
                                 key=f"{key}_owner"),
        "kind": kind,
        **_kind_fields(kind, left, right, key, current),
        "description": st.text_input("Description (optional)", current.get("description", ""),
                                     key=f"{key}_description").strip(),
    }


def _kind_fields(kind: str, left, right, key: str, current: dict[str, Any]) -> dict[str, Any]:
    """The inputs specific to a commitment kind."""
    def choice(column, label: str, options: list[str], name: str, default: str):
        value = current.get(name, default)
        return column.selectbox(label, options,
                                index=options.index(value) if value in options else 0,
                                key=f"{key}_{name}")

    def number(column, label: str, name: str, default: int, **bounds) -> int | float:
        value = current.get(name, default)
        typed = int if float(value).is_integer() else float  # 92.5% stays 92.5
        entered = column.number_input(label, value=typed(value), step=typed(1),
                                      key=f"{key}_{name}",
                                      **{bound: typed(limit) for bound, limit in bounds.items()})
        return int(entered) if float(entered).is_integer() else float(entered)

    if kind == "volume":
        return {
            "stage": choice(left, "Stage", VOLUME_STAGES, "stage", "mql"),
            "target": number(right, "Target", "target", 1000, min_value=1),
            "per": choice(left, "Per", PERIODS, "per", "month"),
        }
    fields: dict[str, Any] = {}
    if kind == "response":
        fields["start"] = choice(left, "Clock starts at", STARTS, "start", "mql")
        fields["stop"] = choice(right, "Clock stops at", STOPS, "stop", "first_touch")
    if kind == "attempts":
        fields["attempts"] = number(left, "Attempts", "attempts", 3, min_value=1)
    if kind in ("response", "attempts"):
        fields["within"] = right.text_input("Within (e.g. 4h, 30m, 5d)",
                                            str(current.get("within", "4h")),
                                            key=f"{key}_within")
    fields["target_pct"] = number(left, "Target %", "target_pct", 90, min_value=1,
                                  max_value=100)
    return fields


def _goals(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    prefix = _prefix(version)
    goals = data.get("shared_goals", [])
    with st.form(f"{prefix}_goals"):
        frame = st.data_editor(
            pd.DataFrame(
                {
                    "id": [g["id"] for g in goals], "metric": [g["metric"] for g in goals],
                    "target": [float(g["target"]) for g in goals],
                    "per": [g["per"] for g in goals],
                }
            ),
            num_rows="dynamic", width="stretch", key=f"{prefix}_goals_editor",
            column_config={
                "id": st.column_config.TextColumn("Id", required=True),
                "metric": st.column_config.SelectboxColumn("Metric", options=METRICS,
                                                           required=True),
                "target": st.column_config.NumberColumn("Target", min_value=0, required=True),
                "per": st.column_config.SelectboxColumn("Per", options=PERIODS, required=True),
            },
        )
        st.caption("Filters on shared goals can be edited in the YAML section.")
        if st.form_submit_button("Apply"):
            filters = {g["id"]: g["filter"] for g in goals if "filter" in g}
            rows = []
            for record in frame.to_dict("records"):
                if not record.get("id"):
                    continue
                target = record["target"]
                row = {"id": record["id"], "metric": record["metric"],
                       "target": int(target) if float(target).is_integer() else target,
                       "per": record["per"]}
                if record["id"] in filters:
                    row["filter"] = filters[record["id"]]
                rows.append(row)
            _update(actor, version, shared_goals=rows)
            st.rerun()


def _calendar(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    """Zone, weekly windows (several a day), holidays and extra closures."""
    prefix = _prefix(version)
    calendar = data["calendar"]
    holidays = calendar.get("holidays", {})
    with st.form(f"{prefix}_calendar"):
        zone = st.selectbox("Time zone", TIMEZONES, index=TIMEZONES.index(calendar["timezone"])
                            if calendar["timezone"] in TIMEZONES else 0, key=f"{prefix}_zone")
        st.caption('Working windows per day, e.g. "09:00-12:00, 13:00-18:00". An overnight '
                   'shift is two windows: "22:00-24:00" one day and "00:00-06:00" the next.')
        typed = {}
        columns = st.columns(7)
        for column, day in zip(columns, WEEKDAYS, strict=True):
            typed[day] = column.text_input(
                day.title(), ", ".join(f"{s}-{e}" for s, e in calendar["hours"].get(day, [])),
                key=f"{prefix}_hours_{day}")
        left, right = st.columns(2)
        country = left.text_input("Public holidays: country code (e.g. US, BR)",
                                  holidays.get("country", ""), key=f"{prefix}_country")
        subdivision = right.text_input("Subdivision (e.g. SP, CA)",
                                       holidays.get("subdivision", ""), key=f"{prefix}_subdiv")
        dates = st.text_input("Extra closed dates (YYYY-MM-DD, comma-separated)",
                              ", ".join(holidays.get("dates", [])), key=f"{prefix}_dates")
        if st.form_submit_button("Apply"):
            new_holidays = {k: v.strip() for k, v in
                            (("country", country), ("subdivision", subdivision)) if v.strip()}
            extra = [d.strip() for d in dates.split(",") if d.strip()]
            if extra:
                new_holidays["dates"] = extra
            new_calendar: dict[str, Any] = {"timezone": zone, "hours": {
                day: _windows(text) for day, text in typed.items() if text.strip()}}
            if new_holidays:
                new_calendar["holidays"] = new_holidays
            _update(actor, version, calendar=new_calendar)
            st.rerun()


def _windows(text: str) -> list[list[str]]:
    """'09:00-12:00, 13:00-18:00' -> [["09:00", "12:00"], ["13:00", "18:00"]]."""
    windows = []
    for part in text.split(","):
        start, _, end = part.strip().replace("–", "-").partition("-")
        windows.append([start.strip(), end.strip()])
    return windows


def _yaml(actor: Actor, data: dict[str, Any], version: VersionView) -> None:
    """The whole working copy as YAML, for power users."""
    prefix = _prefix(version)
    document = _document_or_none(data)
    if document is None:
        st.warning("The working copy has errors, so it cannot be shown as YAML; fix them in "
                   "the other sections (Save lists them).")
        return
    with st.form(f"{prefix}_yaml"):
        text = st.text_area("SLA YAML", sla.dump_yaml(document), height=480,
                            key=f"{prefix}_yaml_text_{_working_copy(actor, version)['revision']}")
        if st.form_submit_button("Apply YAML"):
            try:
                parsed = sla.parse_yaml(text, source="YAML")
            except sla.InvalidAgreement as error:
                st.error(literal(error))
                return
            _keep(actor, version, sla.to_dict(parsed))
            st.rerun()


def _document_or_none(data: dict[str, Any]) -> sla.Document | None:
    try:
        return sla.from_dict(data)
    except sla.InvalidAgreement:
        return None
