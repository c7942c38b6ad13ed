"""Altair charts of the dashboard frames built by `core.dashboard`, and their PNG/SVG export.

Pure functions, no streamlit: each builder takes an already aggregated frame and returns a chart
with one click selection named "pick" (see `PICK_FIELDS`), so a page can read
`event.selection["pick"]` from `st.altair_chart(..., on_select="rerun")` and turn it into the
`pick` dict `core.dashboard.leads_behind` wants with `read_pick`.

Dates ship as "YYYY-MM-DD" strings shown in UTC: Vega parses those as UTC midnight whatever the
viewer's time zone, so a selected day or week comes back as the epoch milliseconds of that UTC
midnight (`read_pick` turns it back into a `pd.Timestamp`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

from core.wording import DEFAULT_CURRENCY
from core.wording import money as money_text
from ui.text import words

SIDE_COLOURS = {"marketing": "#7E57C2", "sales": "#1E88E5", "shared": "#00897B"}
STATE_COLOURS = {"met": "#2E7D32", "breached": "#C62828", "overdue": "#C62828",
                 "pending": "#9E9E9E", "at_risk": "#F9A825"}
TARGET_GREY = "#616161"
HIGHLIGHT_COLOUR = "#4527A0"  # "all criteria" on the conformance chart
HEIGHT = 260
ROW_STEP = 22  # pixels per rep on the heatmap
WEEK_STEP = 40  # pixels per week where weeks are bands; a container width overrides it
EMPTY_MESSAGE = "No data for this period"

PICK = "pick"
PICK_FIELDS: dict[str, tuple[str, ...]] = {
    "volume": ("day",),
    "weekly": ("week",),
    "distribution": ("hours_from", "hours_to", "state"),
    "heatmap": ("rep", "week"),
    "funnel": ("stage",),
    "reasons": ("reason",),
    "conformance": ("criterion",),
    "goals": ("goal",),
}
DATE_FIELDS = ("day", "week")

DAY = "utcyearmonthdate"  # dates are shown in UTC, see the module docstring
DATE_FORMAT = "%d %b %Y"
AXIS_DATE_FORMAT = "%d %b"
COUNT_FORMAT = ",.0f"
PCT_FORMAT = ".1f"
VALUE_FORMAT = ",.1f"

SERIES_LABELS = {"actual": "Actual", "target": "Pro-rated target",
                 "projection": "Projected at this pace"}
SERIES_DASHES = {"actual": [1, 0], "target": [6, 4], "projection": [2, 3]}
STATE_LABELS = {"met": "Met", "breached": "Breached"}
FUNNEL_SIDES = {"mql": "marketing"}  # every later stage is sales' work

_VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


# --- shared pieces -----------------------------------------------------------------------------


def _pick(chart_key: str) -> alt.Parameter:
    """The chart's click selection named "pick" over its `PICK_FIELDS`."""
    # encodings=[] stops Streamlit from adding every encoding channel to the projection.
    return alt.selection_point(name=PICK, fields=list(PICK_FIELDS[chart_key]), encodings=[],
                               on="click", toggle=False)


def _highlight(pick: alt.Parameter) -> Any:
    """Full opacity for the picked mark (and for all of them while nothing is picked)."""
    return alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.35))


def _empty(chart_key: str, message: str = EMPTY_MESSAGE) -> alt.Chart:
    """A text-only chart for an empty frame; it keeps the "pick" parameter so a page's
    `on_select` still finds it."""
    return _finish(alt.Chart(pd.DataFrame({"message": [message]}))
                   .mark_text(size=14, color=TARGET_GREY)
                   .encode(text=alt.Text("message:N"))
                   .add_params(_pick(chart_key)))


def _dated(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """A copy with date columns as "YYYY-MM-DD" strings (parsed as UTC midnight by Vega)."""
    return frame.assign(**{column: pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
                           for column in columns})


def _count_axis() -> alt.Axis:
    """An axis of counts: whole numbers only, with thousands separators."""
    return alt.Axis(tickMinStep=1, format=",d")


def _count(field: str, title: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", title=title, format=COUNT_FORMAT)


def _pct(field: str, title: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", title=title, format=PCT_FORMAT)


def _date(field: str, title: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:T", title=title, timeUnit=DAY, format=DATE_FORMAT)


def _label(field: str, title: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:N", title=title)


def _date_axis(field: str, title: str, kind: str = "T", **axis: Any) -> dict[str, Any]:
    """Keyword arguments of an x encoding of a date column, in UTC."""
    return {"shorthand": f"{field}:{kind}", "timeUnit": DAY, "title": title,
            "axis": alt.Axis(format=AXIS_DATE_FORMAT, **axis)}


def _pct_scale() -> alt.Scale:
    return alt.Scale(domain=[0, 100], clamp=True)


def _reference(value: float, label: str, channel: str, colour: str = TARGET_GREY
               ) -> alt.LayerChart:
    """A dashed rule at `value` on `channel` ("x" or "y") with its label next to it."""
    data = pd.DataFrame({"value": [value], "label": [label]})
    position = {channel: alt.X("value:Q") if channel == "x" else alt.Y("value:Q")}
    base = alt.Chart(data).encode(**position, tooltip=[
        _label("label", "Reference"), alt.Tooltip("value:Q", title="Value", format=VALUE_FORMAT)])
    rule = base.mark_rule(color=colour, strokeDash=[6, 4], strokeWidth=1.5)
    offset = {"dx": 4, "align": "left", "baseline": "top", "y": 4} if channel == "x" else {
        "dy": -6, "align": "right", "baseline": "bottom", "x": "width"}
    text = base.mark_text(color=colour, fontSize=11, **offset).encode(text="label:N")
    return alt.layer(rule, text)


def _finish(chart: alt.TopLevelMixin, height: int = HEIGHT, **size: Any) -> alt.TopLevelMixin:
    """Shared size: a fixed height and no fixed width (a band step at most), so a container
    width ("stretch" / `use_container_width`) applies."""
    return _served(chart.properties(height=height, **size))


def _served(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart, its `to_dict()` (what Streamlit calls on every rerun) without validating the
    spec against the Vega-Lite schema: a tenth of a second a page, for specs whose shape never
    depends on the data. tests/unit/test_charts.py validates every chart's spec with
    `to_dict(validate=True)`, which still does."""
    object.__setattr__(chart, "to_dict", partial(type(chart).to_dict, chart, validate=False))
    return chart


# --- the charts --------------------------------------------------------------------------------


def volume_chart(frame: pd.DataFrame, stage_label: str = "MQL") -> alt.TopLevelMixin:
    """Cumulative leads per day: actual (solid), pro-rated target (dashed grey) and projection
    at the current pace (dotted); the actual points (whose tooltips also give that day's
    target) pick a `day`. A line's own tooltip names its series only: a line mark knows one
    datum, not the one under the pointer."""
    if frame.empty:
        return _empty("volume")
    target = frame[frame["series"] == "target"].set_index("day")["leads"]
    data = _dated(frame, "day").assign(label=frame["series"].map(SERIES_LABELS),
                                       target_leads=frame["day"].map(target))
    labels = [SERIES_LABELS[series] for series in SERIES_LABELS]
    colours = [SIDE_COLOURS["marketing"], TARGET_GREY, SIDE_COLOURS["marketing"]]
    legend = alt.Legend(orient="top", title=None, symbolType="stroke", symbolStrokeWidth=2,
                        labelLimit=0)
    pick = _pick("volume")
    title = f"Cumulative {stage_label}s"
    base = alt.Chart(data).encode(
        x=alt.X(**_date_axis("day", "Day")),
        y=alt.Y("leads:Q", title=title, axis=_count_axis()),
        color=alt.Color("label:N", scale=alt.Scale(domain=labels, range=colours), legend=legend))
    lines = base.mark_line(strokeWidth=2).encode(strokeDash=alt.StrokeDash(
        "label:N", scale=alt.Scale(domain=labels, range=list(SERIES_DASHES.values())),
        legend=legend), tooltip=[_label("label", "Series")])
    points = (base.mark_point(filled=True, size=45)
              .encode(opacity=_highlight(pick), tooltip=[
                  _date("day", "Day"), _count("leads", title),
                  _count("target_leads", f"Pro-rated target ({stage_label}s)")])
              .transform_filter(alt.datum.series == "actual")
              .add_params(pick))
    return _finish(alt.layer(lines, points))


def weekly_chart(frame: pd.DataFrame, commitment_id: str,
                 label: str | None = None) -> alt.TopLevelMixin:
    """One clock commitment's compliance % per week (line and points in its side's colour)
    against a rule at its target; the points pick a `week`."""
    rows = frame[frame["commitment"] == commitment_id] if "commitment" in frame else frame
    if rows.empty:
        return _empty("weekly")
    colour = SIDE_COLOURS.get(str(rows["owner"].iloc[0]), SIDE_COLOURS["sales"])
    target = float(rows["target_pct"].iloc[0])
    data = _dated(rows, "week").assign(resolved=rows["met"] + rows["breached"])
    title = f"{label or words(commitment_id)} compliance (%)"
    pick = _pick("weekly")
    base = alt.Chart(data).encode(
        x=alt.X(**_date_axis("week", "Week starting", kind="O", labelAngle=0)),
        y=alt.Y("compliance_pct:Q", title=title, scale=_pct_scale()))
    line = base.mark_line(color=colour, strokeWidth=2).encode(
        tooltip=[_label("commitment", "Commitment")])  # a line knows one datum: see volume
    points = (base.mark_point(filled=True, size=60, color=colour)
              .encode(opacity=_highlight(pick), tooltip=[
                  _date("week", "Week starting"), _pct("compliance_pct", "Compliance (%)"),
                  _count("met", "Met"), _count("breached", "Breached"),
                  _count("resolved", "Resolved clocks"), _pct("target_pct", "Target (%)")])
              .add_params(pick))
    return _finish(alt.layer(line, points, _reference(target, f"target {target:g}%", "y")),
                   width=alt.Step(WEEK_STEP))


def _bin_labels(rows: pd.DataFrame) -> pd.Series:
    """"4–4.5 h" per bin, "≥ 12 h" for the open-ended last one."""
    return pd.Series([f"≥ {start:g} h" if math.isinf(end) else f"{start:g}–{end:g} h"
                      for start, end in zip(rows["hours_from"].round(2),
                                            rows["hours_to"].round(2), strict=True)],
                     index=rows.index)


def _bin_width(rows: pd.DataFrame) -> float:
    """The width of the finite bins (for drawing the open-ended one)."""
    finite = rows[np.isfinite(rows["hours_to"])]
    widths = finite["hours_to"] - finite["hours_from"]
    return float(widths.max()) if len(widths) else max(float(rows["hours_from"].max()) / 8, 0.5)


def distribution_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Stopped clocks per band of business hours taken, stacked met/breached, with a rule at the
    SLA budget; a bar picks its `hours_from`, `hours_to` (null for the last, open-ended band)
    and `state`."""
    if frame.empty:
        return _empty("distribution")
    rows = frame.astype({"hours_from": float, "hours_to": float})
    budget = float(rows["budget_hours"].iloc[0])
    ends = rows["hours_to"].where(np.isfinite(rows["hours_to"]),
                                  rows["hours_from"] + _bin_width(rows))
    data = rows.assign(band=_bin_labels(rows), hours_end=ends,
                       outcome=rows["state"].map(STATE_LABELS),
                       hours_to=rows["hours_to"].where(np.isfinite(rows["hours_to"])))
    outcomes = {STATE_LABELS[state]: STATE_COLOURS[state] for state in STATE_LABELS}
    pick = _pick("distribution")
    open_ended = rows.loc[~np.isfinite(rows["hours_to"]), "hours_from"]
    axis = alt.Axis(labelExpr=f"datum.value >= {float(open_ended.iloc[0])} ? "
                              "'≥ ' + datum.label : datum.label") if len(open_ended) else alt.Axis()
    bars = alt.Chart(data).mark_bar(orient="vertical", stroke="white", strokeWidth=0.5).encode(
        x=alt.X("hours_from:Q", title="Business hours to stop", scale=alt.Scale(nice=False),
                axis=axis),
        x2="hours_end:Q",
        y=alt.Y("leads:Q", title="Leads (stopped clocks)", stack="zero", axis=_count_axis()),
        color=alt.Color("outcome:N", title="Outcome", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(outcomes), range=list(outcomes.values()))),
        order=alt.Order("state:N", sort="descending"),
        opacity=_highlight(pick),
        tooltip=[_label("band", "Business hours"), _label("outcome", "Outcome"),
                 _count("leads", "Leads")],
    ).add_params(pick)
    return _finish(alt.layer(bars, _reference(budget, f"SLA budget ({budget:g} h)", "x")))


def heatmap_chart(frame: pd.DataFrame, target_pct: float | None = None,
                  names: Mapping[str, str] | None = None) -> alt.TopLevelMixin:
    """Compliance % per rep and week, red→green around `target_pct` (if given) on 0–100; a cell
    picks its `rep` (a username, shown by its name in `names`) and `week`."""
    if frame.empty:
        return _empty("heatmap")
    data = _dated(frame, "week").assign(resolved=frame["met"] + frame["breached"],
                                        person=frame["rep"].map(lambda rep: (names or {}).get(
                                            rep, rep)))
    scale = alt.Scale(scheme="redyellowgreen", domain=[0, 100], clamp=True,
                      **({} if target_pct is None else {"domainMid": float(target_pct)}))
    pick = _pick("heatmap")
    chart = alt.Chart(data).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X(**_date_axis("week", "Week starting", kind="O", labelAngle=0)),
        y=alt.Y("person:N", title="Rep", sort="ascending", axis=alt.Axis(labelLimit=0)),
        color=alt.Color("compliance_pct:Q", title="Compliance (%)", scale=scale),
        opacity=_highlight(pick),
        tooltip=[_label("person", "Rep"), _date("week", "Week starting"),
                 _pct("compliance_pct", "Compliance (%)"), _count("met", "Met"),
                 _count("breached", "Breached"), _count("resolved", "Resolved clocks")],
    ).add_params(pick)
    return _finish(chart, max(HEIGHT, ROW_STEP * frame["rep"].nunique()),
                   width=alt.Step(WEEK_STEP))


def _horizontal_bars(data: pd.DataFrame, chart_key: str, y: alt.Y, x: alt.X,
                     tooltip: list[alt.Tooltip], colour: Any, **mark: Any) -> alt.Chart:
    """Horizontal bars that pick their row's `PICK_FIELDS[chart_key]`."""
    pick = _pick(chart_key)
    return (alt.Chart(data).mark_bar(**mark)
            .encode(y=y, x=x, color=colour, opacity=_highlight(pick), tooltip=tooltip)
            .add_params(pick))


def _rate_text(frame: pd.DataFrame) -> list[str]:
    """"62.5% of MQL" for each stage after the first."""
    previous = [None, *frame["label"].iloc[:-1]]
    return ["" if before is None or pd.isna(rate) else f"{rate:.1f}% of {before}"
            for rate, before in zip(frame["rate_pct"], previous, strict=True)]


def funnel_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """The MQL cohort per stage (MQL in marketing's colour, later stages in sales'), each bar
    labelled with the conversion from the stage before; a bar picks its `stage`."""
    if frame.empty:
        return _empty("funnel")
    ordered = frame.sort_values("order")
    data = ordered.assign(rate_text=_rate_text(ordered),
                          side=ordered["stage"].map(FUNNEL_SIDES).fillna("sales"))
    sides = ["marketing", "sales"]
    y = alt.Y("label:N", title="Stage", sort=list(data["label"]))
    bars = _horizontal_bars(
        data, "funnel", y=y, x=alt.X("leads:Q", title="Leads in the period's MQL cohort",
                                     axis=_count_axis()),
        colour=alt.Color("side:N", legend=None, scale=alt.Scale(
            domain=sides, range=[SIDE_COLOURS[side] for side in sides])),
        tooltip=[_label("label", "Stage"), _count("leads", "Leads"),
                 _pct("rate_pct", "Conversion from previous stage (%)")])
    text = alt.Chart(data).mark_text(align="left", dx=4, color=TARGET_GREY).encode(
        y=y, x="leads:Q", text="rate_text:N",
        tooltip=[_label("label", "Stage"), _pct("rate_pct", "Conversion from previous stage (%)")])
    return _finish(alt.layer(bars, text))


def reasons_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Rejected MQLs per reason, most frequent first (sales' rejections, in sales' colour);
    a bar picks its `reason`."""
    if frame.empty:
        return _empty("reasons")
    data = frame.assign(label=frame["reason"].map(words))  # the pick keeps the reason id
    return _finish(_horizontal_bars(
        data, "reasons", y=alt.Y("label:N", title="Rejection reason", sort="-x",
                                 axis=alt.Axis(labelLimit=0)),
        x=alt.X("leads:Q", title="Rejected MQLs", axis=_count_axis()),
        colour=alt.value(SIDE_COLOURS["sales"]),
        tooltip=[_label("label", "Reason"), _count("leads", "Rejected MQLs")]))


def conformance_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Share of the period's MQLs meeting each MQL criterion, "all criteria" last and darker;
    a bar picks its `criterion`."""
    if frame.empty:
        return _empty("conformance")
    data = pd.concat([frame[frame["criterion"] != "all criteria"],
                      frame[frame["criterion"] == "all criteria"]])
    colour = (alt.when(alt.datum.criterion == "all criteria")
              .then(alt.value(HIGHLIGHT_COLOUR)).otherwise(alt.value(SIDE_COLOURS["marketing"])))
    return _finish(_horizontal_bars(
        data, "conformance", y=alt.Y("criterion:N", title="MQL criterion",
                                     sort=list(data["criterion"]), axis=alt.Axis(labelLimit=0)),
        x=alt.X("pct:Q", title="MQLs meeting the criterion (%)", scale=_pct_scale()),
        colour=colour,
        tooltip=[_label("criterion", "Criterion"), _pct("pct", "Conforming (%)"),
                 _count("conforming", "Conforming MQLs"), _count("mqls", "MQLs")]))


def _goal_rows(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """One row per goal: actual, expected to date and target, in their own unit (amounts in
    `currency`) and as % of the target (so amounts and counts share one axis)."""
    about = frame.groupby("goal", sort=False)[["metric", "attainment_pct"]].first()
    wide = about.join(frame.pivot(index="goal", columns="measure", values="value")).reset_index()
    for measure in ("actual", "expected_to_date", "target"):
        if measure not in wide:
            wide[measure] = np.nan
    target = wide["target"].where(wide["target"] > 0)
    money = wide["metric"].str.endswith("amount")
    for measure in ("actual", "expected_to_date", "target"):
        wide[f"{measure}_pct"] = (wide[measure] / target * 100).round(2)
        wide[f"{measure}_text"] = [money_text(round(value), currency) if is_money
                                   else f"{value:,.0f}"
                                   for value, is_money in zip(wide[measure], money, strict=True)]
    return wide


def goals_chart(frame: pd.DataFrame, currency: str = DEFAULT_CURRENCY) -> alt.TopLevelMixin:
    """Shared goals as bullets on a % of target axis: a bar for the actual, a grey tick for
    what was expected by now and a dark tick at the target; a row picks its `goal`."""
    if frame.empty:
        return _empty("goals")
    data = _goal_rows(frame, currency).assign(label=lambda rows: rows["goal"].map(words),
                                    metric=lambda rows: rows["metric"].map(words))
    tooltip = [_label("label", "Goal"), _label("metric", "Metric"),
               _label("actual_text", "Actual"), _label("expected_to_date_text", "Expected by now"),
               _label("target_text", "Target"), _pct("attainment_pct", "Attainment (%)")]
    y = alt.Y("label:N", title="Shared goal", axis=alt.Axis(labelLimit=0))
    top = max(100.0, float(np.nanmax(data[["actual_pct", "expected_to_date_pct"]].to_numpy(
        dtype=float), initial=0.0))) * 1.05
    scale = alt.Scale(domain=[0, top])
    x_title = "Progress (% of target)"
    bar = _horizontal_bars(data, "goals", y=y, x=alt.X("actual_pct:Q", title=x_title,
                                                       scale=scale),
                           tooltip=tooltip, colour=alt.value(SIDE_COLOURS["shared"]),
                           height=alt.RelativeBandSize(0.4))
    markers = {"Expected by now": ("expected_to_date_pct", "#9E9E9E"),
               "Target": ("target_pct", "#212121")}
    long = pd.concat([data.assign(marker=name, marker_pct=data[column])
                      for name, (column, _) in markers.items()], ignore_index=True)
    ticks = alt.Chart(long).mark_tick(thickness=3).encode(
        y=y, x=alt.X("marker_pct:Q", title=x_title, scale=scale),
        color=alt.Color("marker:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(markers),
                                        range=[colour for _, colour in markers.values()])),
        tooltip=tooltip)
    return _finish(alt.layer(bar, ticks))


Builder = Callable[..., alt.TopLevelMixin]
CHARTS: dict[str, tuple[str, Builder]] = {
    "volume": ("Cumulative volume against the pro-rated target", volume_chart),
    "weekly": ("Compliance per week", weekly_chart),
    "distribution": ("Business hours to stop the clock", distribution_chart),
    "heatmap": ("Compliance per rep and week", heatmap_chart),
    "funnel": ("Funnel of the period's MQLs", funnel_chart),
    "reasons": ("Rejection reasons", reasons_chart),
    "conformance": ("MQL definition conformance", conformance_chart),
    "goals": ("Shared goals", goals_chart),
}


def dashboard_chart(name: str, frame: pd.DataFrame, commitment: str | None,
                    target_pct: float | None, names: Mapping[str, str] | None = None,
                    currency: str = DEFAULT_CURRENCY) -> alt.TopLevelMixin:
    """The dashboard's chart `name` of its frame (the clock charts of `commitment`; reps
    shown by their `names`, amounts in `currency`)."""
    if name == "weekly":
        return weekly_chart(frame, commitment)
    if name == "heatmap":
        return heatmap_chart(frame, target_pct, names)
    if name == "goals":
        return goals_chart(frame, currency)
    return CHARTS[name][1](frame)


# --- reading a selection back ------------------------------------------------------------------


def read_pick(chart_key: str, selection: Any) -> dict | None:
    """The first picked mark of `event.selection["pick"]` as a dict for `leads_behind` (dates as
    `pd.Timestamp`, `hours_to` None for the open-ended band), or None when nothing usable was
    picked (no selection, or a click on a reference rule or label)."""
    points = [selection] if isinstance(selection, Mapping) else list(selection or [])
    fields = PICK_FIELDS[chart_key]
    for point in points:
        if isinstance(point, Mapping) and all(field in point for field in fields) and all(
                point[field] is not None for field in fields if field != "hours_to"):
            return {field: _from_vega(field, point[field]) for field in fields}
    return None


def _from_vega(field: str, value: Any) -> Any:
    """A selected value back in Python terms: epoch ms of a date field → `pd.Timestamp`."""
    if field in DATE_FIELDS:
        return pd.Timestamp(value, unit="ms") if isinstance(value, int | float) else (
            pd.Timestamp(value))
    return value


# --- size and export ---------------------------------------------------------------------------


def _inline_rows(node: Any) -> Iterable[int]:
    """Row counts of every inline `data: {values: [...]}` in a spec."""
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            yield len(data["values"])
        for value in node.values():
            yield from _inline_rows(value)
    elif isinstance(node, list):
        for item in node:
            yield from _inline_rows(item)


def chart_rows(chart: alt.TopLevelMixin) -> int:
    """How many data rows the chart's spec ships (named datasets plus inline values)."""
    spec = chart.to_dict()
    return sum(len(rows) for rows in spec.get("datasets", {}).values()) + sum(
        _inline_rows(spec))


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart rendered as an SVG document."""
    return vlc.vegalite_to_svg(chart.to_json(), vl_version=_VL_VERSION)


def to_png(chart: alt.TopLevelMixin, scale: float = 2) -> bytes:
    """The chart rendered as a PNG image (`scale` × its pixel size)."""
    return vlc.vegalite_to_png(chart.to_json(), vl_version=_VL_VERSION, scale=scale)


__all__ = [
    "CHARTS", "DATE_FIELDS", "EMPTY_MESSAGE", "PICK", "PICK_FIELDS", "SIDE_COLOURS",
    "STATE_COLOURS", "TARGET_GREY", "chart_rows", "conformance_chart", "distribution_chart",
    "funnel_chart", "goals_chart", "heatmap_chart", "read_pick", "reasons_chart", "to_png",
    "to_svg", "volume_chart", "weekly_chart",
]
