"""Download buttons: CSV for every table, PNG and SVG for every chart."""

import altair as alt
import pandas as pd
import streamlit as st

from core import csv_safe
from ui import charts


def table_download(frame: pd.DataFrame, name: str, *, key: str) -> None:
    """A CSV download of a table (its text cells inert for spreadsheets)."""
    st.download_button("CSV", csv_safe.frame_csv(frame).encode(), file_name=f"{name}.csv",
                       mime="text/csv", key=key, icon=":material/download:")


def chart_downloads(chart: alt.TopLevelMixin, frame: pd.DataFrame, name: str, *,
                    key: str) -> None:
    """PNG, SVG (rendered on demand by vl-convert) and the chart's data as CSV."""
    png, svg, csv = st.columns(3)
    with png:
        st.download_button("PNG", lambda: charts.to_png(chart), file_name=f"{name}.png",
                           mime="image/png", key=f"{key}_png", icon=":material/image:",
                           on_click="ignore")
    with svg:
        st.download_button("SVG", lambda: charts.to_svg(chart), file_name=f"{name}.svg",
                           mime="image/svg+xml", key=f"{key}_svg", icon=":material/image:",
                           on_click="ignore")
    with csv:
        table_download(frame, name, key=f"{key}_csv")
