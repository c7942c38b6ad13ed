"""The two-sided scorecard: marketing's commitments next to sales', then the shared goals."""

import pandas as pd
import streamlit as st

from core import dashboard, periods
from ui.text import words

STATUS_COLOURS = {"met": "green", "on_track": "green", "at_risk": "orange", "missed": "red",
                  "no_data": "gray"}
SIDE_TITLES = {"marketing": "Marketing commits to", "sales": "Sales commits to",
               "shared": "Shared goals"}


def period_card(report: dict, previous: dict | None, currency: str) -> pd.DataFrame:
    """A period's scorecard rows, with the trend against the period before when measured
    (amounts in `currency`)."""
    return dashboard.scorecard(report, previous, currency)


def render_scorecard(card: pd.DataFrame, report: dict, period: str) -> None:
    """The situation in one line (read from the period's report), both sides' commitments side
    by side with their trend against the period before, and shared goals."""
    st.markdown(f"**{dashboard.reading(report)}**")
    previous_label = periods.previous_period(period)
    marketing, sales = st.columns(2, border=True)
    for side, column in (("marketing", marketing), ("sales", sales)):
        with column:
            _render_side(card[card["side"] == side], side, previous_label)
    goals = card[card["side"] == "shared"]
    if not goals.empty:
        with st.container(border=True):
            _render_side(goals, "shared", previous_label)


def _render_side(rows: pd.DataFrame, side: str, previous_label: str) -> None:
    st.markdown(f"#### {SIDE_TITLES[side]}")
    if rows.empty:
        st.caption("No commitments on this side.")
    for row in rows.itertuples():
        pace = row.trend_basis == "pace"
        value = "–" if pd.isna(row.value_pct) else \
            f"{row.value_pct:.1f}%{' of pace' if pace else ''}"
        delta = None if pd.isna(row.trend_pct) else \
            f"{row.trend_pct:+.1f} pts vs {previous_label}"
        st.metric(words(row.id), value, delta=delta)
        st.badge(row.status_words, color=STATUS_COLOURS[row.status])
        st.caption(row.headline)
