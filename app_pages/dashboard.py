"""Compliance dashboard: filters, the eight charts, the leads behind a selected mark, what-if."""

import streamlit as st

from core import compliance, dashboard
from core.errors import InvalidInput
from core.services import dashboards
from db.engine import get_session
from ui import charts, data
from ui.auth import require_page
from ui.exports import chart_downloads, table_download
from ui.scorecard import render_scorecard
from ui.text import literal

actor = require_page("dashboard")
st.title("Compliance")

as_of = data.as_of()
version = data.data_version()
options = data.filter_options(version, _actor=actor)

period_column, *filter_columns = st.columns([1.4, 1, 1, 1, 1])
period = period_column.text_input(
    "Period", value=data.current_period(as_of, actor=actor), key="dash_period",
    help="A month (2026-03), a quarter (2026-Q1) or dates (2026-01-01:2026-04-01, end exclusive).")
chosen = {}
for column, name in zip(filter_columns, ("channel", "segment", "region", "rep"), strict=True):
    picked = column.selectbox(name.title(), ["All", *options[name]], key=f"dash_{name}")
    chosen[name] = None if picked == "All" else picked
filters = dashboards.Filters.of(**chosen).values

try:
    evaluation = data.evaluation(version, period, as_of, filters, _actor=actor)
except InvalidInput as error:
    st.error(literal(error))
    st.stop()
report = data.report(version, period, as_of, filters, _actor=actor)
st.caption(f"{literal(report['agreement']['title'])} · version {report['agreement']['version']} "
           f"in force at the period's start · {report['period']['start'][:10]} to "
           f"{report['period']['end'][:10]} · as of {report['as_of'][:16].replace('T', ' ')} UTC"
           + (f" · filtered by {', '.join(f'{k} = {literal(v)}' for k, v in filters)}"
              if filters else ""))

previous = data.previous_report(version, period, as_of, filters, actor=actor)
card = dashboard.scorecard(report, previous)
render_scorecard(card, dashboard.reading(report), compliance.previous_period(period))
table_download(card, "scorecard", key="dash_card_csv")

clock_ids = [c["id"] for c in report["commitments"] if c["kind"] in ("response", "attempts")]
commitment = st.selectbox("Clock commitment for the response charts", clock_ids,
                          key="dash_commitment") if clock_ids else None

target_pct = next((c["target_pct"] for c in report["commitments"] if c["id"] == commitment),
                  None)
frames = data.chart_frames(version, period, as_of, filters, commitment, _actor=actor)
built = {
    "weekly": lambda frame: charts.weekly_chart(frame, commitment),
    "heatmap": lambda frame: charts.heatmap_chart(frame, target_pct),
}
picked_chart = None
for row in (("volume", "weekly"), ("distribution", "heatmap"), ("funnel", "reasons"),
            ("conformance", "goals")):
    for column, name in zip(st.columns(2, border=True), row, strict=True):
        with column:
            title, builder = charts.CHARTS[name]
            st.markdown(f"**{title}**")
            frame = frames[name]
            if frame is None:
                st.caption("The agreement has no clock commitment.")
                continue
            chart = built.get(name, builder)(frame)
            event = st.altair_chart(chart, on_select="rerun", key=f"dash_chart_{name}",
                                    width="stretch")
            if pick := charts.read_pick(name, event.selection.get("pick")):
                picked_chart = (name, title, pick)
            if hidden := frame.attrs.get("hidden_reps"):
                st.caption(f"The {hidden:,} reps with the fewest clocks are left out; filter by "
                           "rep to see one.")
            chart_downloads(chart, frame, name, key=f"dash_export_{name}")

if picked_chart:
    name, title, pick = picked_chart
    if name in ("weekly", "heatmap", "distribution"):
        pick = {"commitment": commitment, **pick}
    behind = dashboard.leads_behind(evaluation, name, pick)
    st.subheader(f"Leads behind the selection in “{title}”")
    total = behind.attrs["total"]
    st.caption(f"{total:,} lead{'s' if total != 1 else ''}"
               + (f"; the {dashboard.DRILL_LIMIT:,} newest are listed" if total > len(behind)
                  else ""))
    st.dataframe(behind, hide_index=True, width="stretch", key="dash_behind")
    table_download(behind, f"leads-{name}", key="dash_behind_csv")

last_period = compliance.previous_period(period)
with st.expander(f"What if a draft had governed last period ({last_period})?"):
    with get_session() as session:
        drafts = dashboards.draft_versions(session=session, actor=actor,
                                           agreement_id=report["agreement"]["id"])
    if not drafts:
        st.caption("No draft or pending version to compare.")
    else:
        labels = {f"Version {number}": number for number in drafts}
        draft = labels[st.selectbox("Draft version", list(labels), key="dash_whatif_version")]
        measured = data.report(version, last_period, as_of, filters, _actor=actor)
        what_if = data.report(version, last_period, as_of, filters, draft, _actor=actor)
        st.caption(f"Every lead of {last_period}, as the signed versions measured it and as "
                   f"version {draft} would have.")
        compared = dashboard.compare_reports(measured, what_if)
        st.dataframe(compared, hide_index=True, width="stretch", key="dash_whatif_table")
        table_download(compared, f"what-if-v{draft}", key="dash_whatif_csv")
