"""Compliance dashboard: filters, the eight charts, the leads behind a selected mark, what-if."""

import streamlit as st

from core import periods
from core.errors import InvalidInput
from core.services import measurement
from ui import charts, data
from ui.auth import require_page
from ui.exports import chart_downloads, table_download
from ui.live import follow_changes
from ui.scorecard import period_card, render_scorecard
from ui.tables import readable_leads
from ui.text import literal, local_time, words

actor = require_page("dashboard")
st.title("Compliance")
follow_changes("dash")

as_of = data.as_of()

period_column, *filter_columns = st.columns([1.4, 1, 1, 1, 1])
if (asked := st.query_params.get("period")) and st.session_state.get("dash_asked") != asked:
    st.session_state["dash_period"] = st.session_state["dash_asked"] = asked  # a link's period
period = period_column.text_input(
    "Period", value=data.current_period(as_of, actor=actor), key="dash_period",
    help="A month (2026-03), a quarter (2026-Q1) or dates (2026-01-01:2026-04-01, end exclusive).")
options = data.filter_options(period, as_of, actor=actor)
names = data.people(actor=actor)
people = {"All": "All"} | {rep: names.get(rep, rep) for rep in options["rep"]}
chosen = {}
for column, name in zip(filter_columns, ("channel", "segment", "region", "rep"), strict=True):
    # A value chosen in another period stays offered (its leads here are none, not hidden).
    kept = [st.session_state[f"dash_{name}"]] if st.session_state.get(
        f"dash_{name}", "All") not in ("All", *options[name]) else []
    told = (lambda rep: people.get(rep, rep)) if name == "rep" else str  # reps by name
    picked = column.selectbox(name.title(), ["All", *options[name], *kept], key=f"dash_{name}",
                              format_func=told)
    chosen[name] = None if picked == "All" else picked
filters = measurement.Filters.of(**chosen).values

what_if = None
try:
    evaluation = data.evaluation(period, as_of, filters, actor=actor)
except measurement.NotCovered as uncovered:
    # Nothing governs the period: say so, and offer to measure it against a version instead.
    versions = "; ".join(f"version {number} is in force from {start:%d %b %Y} to {end:%d %b %Y}"
                         for number, start, end in uncovered.versions)
    st.warning(f"No signed version covers {literal(period)}, so it is not measured against the "
               f"agreement ({versions}). Pick a version below to see the period as that "
               "version would have measured it.")
    labels = {f"Version {number} (in force {start} to {end})": number
              for number, start, end in uncovered.versions}
    picked = st.selectbox("What if this version had governed the period?", [None, *labels],
                          format_func=lambda label: "Choose a version…" if label is None
                          else label, key="dash_uncovered_version")
    if picked is None:
        st.stop()
    what_if = labels[picked]
    evaluation = data.evaluation(period, as_of, filters, what_if, actor=actor)
except InvalidInput as error:
    st.error(literal(error))
    st.stop()
report = data.report(period, as_of, filters, what_if, actor=actor)
governed = (f"what-if: every lead measured against version {what_if}, which does not govern "
            "this period" if what_if else
            f"version {report['agreement']['version']} in force at the period's start")
st.caption(f"{literal(report['agreement']['title'])} · {governed} · "
           f"{report['period']['start'][:10]} to "
           f"{report['period']['end'][:10]} · as of "
           f"{local_time(report['as_of'], data.zone(actor=actor))}"
           + data.freshness(actor=actor)
           + (f" · filtered by {', '.join(f'{k} = {literal(v)}' for k, v in filters)}"
              if filters else "")
           + (f" · {report['not_covered']:,} clocks no signed version governs are left out"
              if report.get("not_covered") else ""))

previous = None if what_if else data.previous_report(period, as_of, filters, actor=actor)
card = period_card(report, previous, data.currency(actor=actor))
render_scorecard(card, report, period)
table_download(card, "scorecard", key="dash_card_csv")

clock_ids = [c["id"] for c in report["commitments"] if c["kind"] in ("response", "attempts")]
commitment = st.selectbox("Clock commitment for the response charts", clock_ids,
                          key="dash_commitment", format_func=words) if clock_ids else None

drawn = data.dashboard_charts(period, as_of, filters, commitment, what_if, actor=actor)
picked_chart = None
for row in (("volume", "weekly"), ("distribution", "heatmap"), ("funnel", "reasons"),
            ("conformance", "goals")):
    for column, name in zip(st.columns(2, border=True), row, strict=True):
        with column:
            title = charts.CHARTS[name][0]
            st.markdown(f"**{title}**")
            if drawn[name] is None:
                st.caption("The agreement has no clock commitment.")
                continue
            frame, chart = drawn[name]
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
    behind = data.leads_behind(evaluation, name, pick, actor=actor)
    st.subheader(f"Leads behind the selection in “{title}”")
    total = behind.attrs["total"]
    st.caption(f"{total:,} lead{'s' if total != 1 else ''}"
               + (f"; the {data.DRILL_LIMIT:,} newest are listed" if total > len(behind)
                  else ""))
    st.dataframe(readable_leads(behind, data.people(actor=actor), data.zone(actor=actor)),
                 hide_index=True, width="stretch", key="dash_behind")
    table_download(behind, f"leads-{name}", key="dash_behind_csv")

if what_if:
    st.stop()
last_period = periods.previous_period(period)
with st.expander(f"What if a draft had governed last period ({last_period})?"):
    drafts = data.draft_versions(report["agreement"]["id"], actor=actor)
    if not drafts:
        st.caption("No draft or pending version to compare.")
    else:
        labels = {f"Version {number}": number for number in drafts}
        draft = labels[st.selectbox("Draft version", list(labels), key="dash_whatif_version")]
        st.caption(f"Every lead of {last_period}, as the signed versions measured it and as "
                   f"version {draft} would have.")
        compared = data.what_if_comparison(last_period, as_of, filters, draft, actor=actor)
        st.dataframe(compared, hide_index=True, width="stretch", key="dash_whatif_table")
        table_download(compared, f"what-if-v{draft}", key="dash_whatif_csv")
