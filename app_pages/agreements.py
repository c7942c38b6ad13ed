"""Agreements: the SLA as a document, its negotiation, redline and history."""

import streamlit as st

from core.permissions import Action, can
from core.services import agreements
from ui import data, sla_document, sla_editor, sla_workflow
from ui.auth import require_page
from ui.feedback import show_flash
from ui.services import call

actor = require_page("agreements")
st.title("Agreements")
show_flash()

summaries = call(agreements.list_agreements, actor=actor)
if can(actor.role, Action.EDIT_AGREEMENT):
    sla_workflow.new_agreement_form(actor, summaries)
if not summaries:
    st.info("No agreement yet. The heads of sales and marketing start one from the template.")
    st.stop()

ids = [s.id for s in summaries]
if opened := st.session_state.pop("sla_open", None):  # set by a step that created a version
    st.session_state["sla_agreement"] = opened[0]
    st.session_state[f"sla_version_{opened[0]}"] = opened[1]
if st.session_state.get("sla_agreement") not in ids:
    st.session_state["sla_agreement"] = ids[0]
by_id = {s.id: s for s in summaries}
agreement_column, version_column = st.columns([3, 1])
agreement_id = agreement_column.selectbox(
    "Agreement", ids, key="sla_agreement",
    format_func=lambda i: sla_workflow.summary_label(by_id[i]),
)
versions = call(agreements.list_versions, actor=actor, agreement_id=agreement_id)
numbers = [v.number for v in versions]
version_key = f"sla_version_{agreement_id}"
if st.session_state.get(version_key) not in numbers:
    st.session_state[version_key] = numbers[-1]
number = version_column.selectbox(
    "Version", numbers, key=version_key,
    format_func=lambda n: sla_workflow.version_label(versions[n - 1]),
)
version = versions[number - 1]
sla_workflow.workflow_bar(actor, version)

# Keyed: the tab someone acted in stays open through the rerun their action makes
document_tab, edit_tab, comments_tab, redline_tab, history_tab, yaml_tab = st.tabs(
    ["Document", "Edit", "Comments", "Redline", "History", "YAML"], key="sla_tab",
    on_change="rerun",
)
with document_tab:
    sla_document.render_document(version.document, data.currency(actor=actor))
with edit_tab:
    sla_editor.render_editor(actor, version)
with comments_tab:
    comments = call(agreements.list_comments, actor=actor, agreement_id=agreement_id,
                    number=number)
    sla_workflow.comments_panel(actor, version, comments)
with redline_tab:
    left, right = st.columns(2)
    old = left.selectbox("From version", numbers, index=max(0, numbers.index(number) - 1),
                         key=f"sla_redline_old_{agreement_id}")
    new = right.selectbox("To version", numbers, index=numbers.index(number),
                          key=f"sla_redline_new_{agreement_id}")
    changes = call(agreements.compare_versions, actor=actor, agreement_id=agreement_id,
                   old=old, new=new)
    sla_workflow.redline_panel(changes, old, new)
with history_tab:
    sla_workflow.history_panel(
        call(agreements.agreement_history, actor=actor, agreement_id=agreement_id),
        version.document.calendar.timezone)
with yaml_tab:
    text = call(agreements.export_yaml, actor=actor, agreement_id=agreement_id, number=number)
    st.code(text, language="yaml")
    st.download_button("Download YAML", text, file_name=f"sla-{agreement_id}-v{number}.yaml",
                       key="sla_download_yaml")
