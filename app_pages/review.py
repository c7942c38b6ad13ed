"""Quarterly review: a quarter's scorecard (frozen once signed), trend, causes of the misses,
the discussion, the exec's sign-off or send-back, and the CSV and signed PDF."""

import altair as alt
import pandas as pd
import streamlit as st

from core import periods
from core.errors import InvalidInput
from core.permissions import Action, can
from core.services import Actor, reviews
from core.services.measurement import AmbiguousAgreement
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.scorecard import render_scorecard
from ui.services import call
from ui.text import literal, local_time, words

STATE_COLOURS = {"open": "blue", "sent_back": "orange", "signed": "green"}
ENTRY_AVATARS = {"comment": ":material/chat:", "sign": ":material/verified:",
                 "send_back": ":material/undo:"}
ENTRY_WORDS = {"comment": "", "sign": " · signed off", "send_back": " · sent back"}
MAX_CHANGES_LISTED = 12
CAUSE_COLUMNS = {
    "rep": "Rep", "channel": "Channel", "commitment": "Commitment",
    "breached": st.column_config.NumberColumn("Breached clocks", format="localized"),
    "clocks": st.column_config.NumberColumn("Resolved clocks", format="localized"),
    "compliance_pct": st.column_config.NumberColumn("Compliance", format="%.1f%%"),
    "share_pct": st.column_config.NumberColumn("Share", format="%.1f%%",
                                               help="Share of the commitment's breached clocks "
                                                    "(of all rejections, for reasons)"),
    "reason": "Reason", "rejected": st.column_config.NumberColumn("Rejected", format="localized"),
}

actor = require_page("review")
show_flash()
st.title("Quarterly review")


@st.cache_data(max_entries=8, show_spinner="Measuring the quarter…")
def load_review(version: str, quarter: str, as_of: str, *, _actor: Actor) -> dict:
    """The quarter's review (cached per data version: every comment and sign-off changes it)."""
    del version  # part of the cache key only
    return call(reviews.show, actor=_actor, quarter=quarter, as_of=as_of)


def signed_pdf(quarter: str) -> bytes:
    return call(reviews.pdf, actor=actor, quarter=quarter)


as_of = data.as_of()
version = data.data_version()
try:
    options = call(reviews.quarters, actor=actor, as_of=as_of)
except InvalidInput as error:
    st.info(f"Nothing to review yet: {literal(error.message)}. Once an SLA is signed, each "
            "quarter's scorecard is reviewed and signed off here.")
    st.stop()
except AmbiguousAgreement as error:
    st.error(literal(error))
    st.stop()

finished = periods.previous_period(options[0])
quarter = st.selectbox(
    "Quarter", options, index=options.index(finished) if finished in options else 0,
    key="review_quarter",
    format_func=lambda value: f"{value} (in progress)" if value == options[0] else value)

try:
    review = load_review(version, quarter, as_of, _actor=actor)
except InvalidInput as error:
    st.error(literal(error))
    st.stop()
report = review["scorecard"]
signed = review["state"] == "signed"
zone = data.zone(actor=actor)

st.badge(reviews.STATE_WORDS[review["state"]], color=STATE_COLOURS[review["state"]])
period = f"{report['period']['start'][:10]} to {report['period']['end'][:10]}"
agreed = f"{literal(report['agreement']['title'])} (version {report['agreement']['version']})"
if signed:
    who = literal(review["signed_by_name"] or review["signed_by"])
    st.caption(f"{agreed} · {period} · signed off by {who} on {review['signed_at'][:10]}; "
               f"the scorecard is frozen as of {local_time(report['as_of'], zone)}")
else:
    st.caption(f"{agreed} · {period} · live figures as of "
               f"{local_time(report['as_of'], zone)}")
if not reviews.quarter_over(review):
    st.info("This quarter is still running: the figures are live, and the exec can sign it off "
            "once it has ended.")

if changes := review["changed_since_signoff"]:
    listed = "\n".join(f"- `{change['figure']}`: {change['signed']} → {change['now']}"
                       for change in changes[:MAX_CHANGES_LISTED])
    more = (f"\n- …and {len(changes) - MAX_CHANGES_LISTED} more"
            if len(changes) > MAX_CHANGES_LISTED else "")
    st.warning(f"**{len(changes)} figure{'s' if len(changes) != 1 else ''} changed since "
               f"sign-off.** The scorecard below is the signed snapshot; the live data now "
               f"reads:\n{listed}{more}", icon=":material/warning:")

render_scorecard(reviews.scorecard_rows(review), report, quarter)

st.subheader("Trend")
trend = reviews.trend_frame(review)
if not review["trend"]:
    st.caption("No earlier quarter of this agreement to compare with.")
else:
    table = reviews.trend_table(review)
    table["id"] = table["id"].map(words)
    columns = {"id": "Commitment or goal", **{
        name: st.column_config.NumberColumn(
            name if name != options[0] else f"{name} (pace so far)", format="%.1f%%")
        for name in table.columns[1:]}}
    st.dataframe(table, hide_index=True, width="stretch", column_config=columns,
                 key="review_trend_table")
    chart = alt.Chart(trend.assign(item=trend["id"].map(words))).mark_line(point=True).encode(
        x=alt.X("quarter:O", title=None),
        y=alt.Y("value_pct:Q", title="Figure (%; a running quarter: its pace)"),
        color=alt.Color("item:N", title=None),
        tooltip=["quarter", "item", alt.Tooltip("value_pct:Q", format=".1f")])
    st.altair_chart(chart, width="stretch", key="review_trend_chart")

st.subheader("Causes of the misses")
st.caption("The reps and channels with the most breached clocks of each response commitment "
           "(top five), and why leads were rejected" + (
               " — as signed off." if review["causes_signed"]
               else " — from the live data." if signed else "."))
causes, names = review["causes"], review["names"]
readable = {"rep": lambda rep: names.get(rep, rep), "channel": words, "commitment": words,
            "reason": words}
by_rep, by_channel, by_reason = st.tabs(["By rep", "By channel", "Rejection reasons"])
for tab, rows, empty in ((by_rep, causes["reps"], "No breached clock."),
                         (by_channel, causes["channels"], "No breached clock."),
                         (by_reason, causes["rejection_reasons"], "No rejected lead.")):
    with tab:
        if rows:
            shown = pd.DataFrame(rows)
            for column, told in readable.items():
                if column in shown:
                    shown[column] = shown[column].map(told)
            st.dataframe(shown, hide_index=True, width="stretch", column_config=CAUSE_COLUMNS)
        else:
            st.caption(empty)

st.subheader("Discussion")
for entry in review["comments"]:
    with st.chat_message("user", avatar=ENTRY_AVATARS.get(entry["kind"])):
        st.markdown(f"**{literal(entry['author_name'])}** · "
                    f"{local_time(entry['at'], zone)}{ENTRY_WORDS.get(entry['kind'], '')}")
        st.markdown(literal(entry["body"]))
if not review["comments"]:
    st.caption("No comments on this quarter yet.")
if can(actor.role, Action.COMMENT) and signed:
    st.caption("The discussion closed when the quarter was signed off.")
elif can(actor.role, Action.COMMENT):
    with st.form("review_comment_form", clear_on_submit=True):
        body = st.text_area("Comment", key="review_comment_body")
        if st.form_submit_button("Add comment", key="review_comment_submit"):
            run_service(reviews.comment, "Comment added.", actor=actor, quarter=quarter,
                        body=body)
            st.rerun()

if can(actor.role, Action.SIGN_OFF) and not signed:
    st.subheader("Sign-off")
    over = reviews.quarter_over(review)
    with st.form("review_decision_form", clear_on_submit=True):
        note = st.text_area("Comment (optional to sign off, required to send back)",
                            key="review_decision_comment")
        sign_column, back_column, _ = st.columns([1, 1, 4])
        sign = sign_column.form_submit_button(
            "Sign off", key="review_sign", type="primary", disabled=not over,
            icon=":material/verified:",
            help=None if over else "A quarter can be signed off once it has ended.")
        send_back = back_column.form_submit_button("Send back", key="review_send_back",
                                                   icon=":material/undo:")
        if sign:
            run_service(reviews.sign, f"{quarter} signed off.", actor=actor, quarter=quarter,
                        comment=note or None)
            st.rerun()
        if send_back:
            run_service(reviews.send_back, f"{quarter} sent back to the heads.", actor=actor,
                        quarter=quarter, comment=note)
            st.rerun()

st.subheader("Downloads")
csv_column, pdf_column, _ = st.columns([1, 1, 3])
csv_column.download_button("Scorecard CSV", reviews.scorecard_csv(review).encode(),
                           file_name=f"review-{quarter}.csv", mime="text/csv",
                           key="review_csv", icon=":material/download:", on_click="ignore")
if signed:
    pdf_column.download_button("Signed review PDF", lambda: signed_pdf(quarter),
                               file_name=f"review-{quarter}.pdf", mime="application/pdf",
                               key="review_pdf", icon=":material/picture_as_pdf:",
                               on_click="ignore")
else:
    pdf_column.caption("The PDF is available once the quarter is signed off.")
