"""The dashboard's Altair charts: valid specs, a "pick" selection, tooltips, titles, export."""

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
from altair.utils.schemapi import SchemaValidationError

from ui import charts

WEEKS = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])


def volume_frame() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=5, freq="D")
    return pd.concat([
        pd.DataFrame({"day": days[:3], "series": "actual", "leads": [3.0, 7.0, 12.0]}),
        pd.DataFrame({"day": days, "series": "target", "leads": [4.0, 8.0, 12.0, 16.0, 20.0]}),
        pd.DataFrame({"day": days[2:], "series": "projection", "leads": [12.0, 16.0, 20.0]}),
    ], ignore_index=True)


def weekly_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "commitment": ["first_touch"] * 3 + ["attempts"], "owner": "sales",
        "week": [*WEEKS, WEEKS[0]], "met": [8, 9, 0, 1], "breached": [2, 1, 0, 1],
        "compliance_pct": [80.0, 90.0, np.nan, 50.0], "target_pct": [90.0] * 3 + [75.0]})


def distribution_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "hours_from": [0.0, 0.5, 4.0, 12.0], "hours_to": [0.5, 1.0, 4.5, np.inf],
        "state": ["met", "met", "breached", "breached"], "leads": [1200, 5, 2, 3],
        "budget_hours": 4.0})


def heatmap_frame() -> pd.DataFrame:
    return pd.DataFrame({"rep": ["ann", "ann", "bob"], "week": WEEKS[[0, 1, 0]],
                         "met": [3, 4, 1], "breached": [1, 0, 1],
                         "compliance_pct": [75.0, 100.0, 50.0]})


def funnel_frame() -> pd.DataFrame:
    return pd.DataFrame({"stage": ["mql", "sal", "sql", "won"],
                         "label": ["MQL", "SAL", "SQL", "Won"], "order": [0, 1, 2, 3],
                         "leads": [1200, 800, 300, 40], "rate_pct": [None, 66.67, 37.5, 13.33]})


def reasons_frame() -> pd.DataFrame:
    return pd.DataFrame({"reason": ["bad fit", "no budget", "duplicate"], "leads": [12, 7, 1]})


def conformance_frame() -> pd.DataFrame:
    return pd.DataFrame({"criterion": ["score >= 50", "all criteria", "region in EU, US"],
                         "conforming": [90, 80, 95], "mqls": 100, "pct": [90.0, 80.0, 95.0]})


def goals_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "goal": ["won-revenue"] * 3 + ["sqls"] * 3,
        "metric": ["won_amount"] * 3 + ["sql_count"] * 3,
        "measure": ["actual", "expected_to_date", "target"] * 2,
        "value": [120000.0, 150000.0, 500000.0, 40.0, 35.0, 90.0],
        "attainment_pct": [24.0] * 3 + [44.44] * 3})


# key: (frame, build from a frame, axis titles, rows shipped)
CASES: dict[str, tuple[Callable[[], pd.DataFrame], Callable, set[str], int]] = {
    "volume": (volume_frame, charts.volume_chart, {"Day", "Cumulative MQLs"}, 11),
    "weekly": (weekly_frame, lambda frame: charts.weekly_chart(frame, "first_touch"),
               {"Week starting", "First touch compliance (%)"}, 3 + 1),
    "distribution": (distribution_frame, charts.distribution_chart,
                     {"Business hours to stop", "Leads (stopped clocks)"}, 4 + 1),
    "heatmap": (heatmap_frame, lambda frame: charts.heatmap_chart(frame, target_pct=90),
                {"Week starting", "Rep"}, 3),
    "funnel": (funnel_frame, charts.funnel_chart,
               {"Stage", "Leads in the period's MQL cohort"}, 4),
    "reasons": (reasons_frame, charts.reasons_chart, {"Rejection reason", "Rejected MQLs"}, 3),
    "conformance": (conformance_frame, charts.conformance_chart,
                    {"MQL criterion", "MQLs meeting the criterion (%)"}, 3),
    # goals: one row per goal for the bars, and one per goal and marker for the ticks
    "goals": (goals_frame, charts.goals_chart, {"Shared goal", "Progress (% of target)"}, 6),
}


def build(key: str, empty: bool = False) -> alt.TopLevelMixin:
    frame, builder, _, _ = CASES[key]
    data = frame()
    return builder(data.iloc[:0] if empty else data)


def units(spec: dict) -> Iterator[dict]:
    """Every single-view spec (one with a mark) in a possibly layered spec."""
    if "mark" in spec:
        yield spec
    for layer in spec.get("layer", []):
        yield from units(layer)


def dataset(spec: dict, column: str) -> list:
    """The values of `column` in the spec's datasets."""
    return [row[column] for rows in spec["datasets"].values() for row in rows if column in row]


@pytest.fixture(scope="module")
def specs() -> dict[str, dict]:
    """Each chart's spec, validated against the Vega-Lite schema (the app serves them without
    validating: charts._served)."""
    return {key: build(key).to_dict(validate=True) for key in CASES}


@pytest.mark.parametrize("key", CASES)
def test_each_chart_has_one_click_selection_named_pick(specs, key):
    params = [param for param in specs[key]["params"] if "select" in param]
    assert [param["name"] for param in params] == ["pick"]
    select = params[0]["select"]
    assert select["type"] == "point" and select["on"] == "click"
    assert select["fields"] == list(charts.PICK_FIELDS[key])
    assert select["encodings"] == []  # keeps Streamlit from projecting on every channel


@pytest.mark.parametrize("key", CASES)
def test_every_mark_has_formatted_tooltips(specs, key):
    for unit in units(specs[key]):
        tooltips = unit["encoding"]["tooltip"]
        assert tooltips and all(tip.get("title") for tip in tooltips)
        for tip in tooltips:
            if tip["type"] == "quantitative":
                assert tip["format"] in (charts.COUNT_FORMAT, charts.PCT_FORMAT,
                                         charts.VALUE_FORMAT)
            if tip["type"] == "temporal":
                assert tip["format"] == charts.DATE_FORMAT


@pytest.mark.parametrize("key", CASES)
def test_axes_have_titles(specs, key):
    titles = {unit["encoding"][channel].get("title") for unit in units(specs[key])
              for channel in ("x", "y") if channel in unit["encoding"]}
    assert CASES[key][2] <= titles


@pytest.mark.parametrize("key", CASES)
def test_no_fixed_width_and_a_fixed_height(specs, key):
    assert specs[key].get("width", {"step": 1}).get("step")
    assert specs[key]["height"] >= charts.HEIGHT


@pytest.mark.parametrize("key", CASES)
def test_chart_rows_counts_the_rows_shipped(key):
    assert charts.chart_rows(build(key)) == CASES[key][3]


@pytest.mark.parametrize("key", CASES)
def test_empty_frames_give_a_message_and_keep_the_selection(key):
    spec = build(key, empty=True).to_dict(validate=True)
    assert dataset(spec, "message") == [charts.EMPTY_MESSAGE]
    assert [param["name"] for param in spec["params"]] == ["pick"]


def test_frames_without_columns_do_not_raise():
    for key in ("volume", "distribution", "reasons", "goals"):
        CASES[key][1](pd.DataFrame()).to_dict(validate=True)
    charts.weekly_chart(pd.DataFrame(), "first_touch").to_dict(validate=True)


@pytest.mark.parametrize("key", CASES)
def test_served_charts_skip_only_the_validation(key):
    chart = build(key)
    assert chart.to_dict() == chart.to_dict(validate=True)
    broken = chart.copy()
    broken.height = "tall"
    with pytest.raises(SchemaValidationError):  # an invalid spec is still caught
        charts._served(broken).to_dict(validate=True)


def test_chart_rows_counts_inline_values():
    chart = alt.Chart(alt.Data(values=[{"a": 1}, {"a": 2}])).mark_point().encode(x="a:Q")
    assert charts.chart_rows(chart) == 2
    assert charts.chart_rows(alt.layer(chart, charts.reasons_chart(reasons_frame()))) == 5


def test_a_full_size_frame_ships_no_extra_rows():
    reps, weeks = 250, pd.date_range("2024-01-01", periods=20, freq="7D")
    frame = pd.DataFrame({"rep": np.repeat([f"rep {n}" for n in range(reps)], len(weeks)),
                          "week": np.tile(weeks, reps), "met": 1, "breached": 1,
                          "compliance_pct": 50.0})
    assert charts.chart_rows(charts.heatmap_chart(frame)) == len(frame) == 5000


def test_dates_ship_as_utc_dates_and_show_in_utc(specs):
    assert dataset(specs["volume"], "day")[:2] == ["2024-01-01", "2024-01-02"]
    assert sorted(set(dataset(specs["heatmap"], "week"))) == ["2024-01-01", "2024-01-08"]
    dated = [unit["encoding"]["x"] for key in ("volume", "weekly", "heatmap")
             for unit in units(specs[key]) if unit["encoding"].get("x", {}).get("field")]
    assert {x["field"] for x in dated} == set(charts.DATE_FIELDS)
    time_units = {x["timeUnit"] for x in dated}
    assert time_units == {charts.DAY}


def test_volume_lines_are_solid_dashed_and_dotted_with_points_on_the_actual(specs):
    lines, points = units(specs["volume"])
    dash = lines["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["Actual", "Pro-rated target", "Projected at this pace"]
    assert dash["range"] == [[1, 0], [6, 4], [2, 3]]
    assert lines["encoding"]["color"]["scale"]["range"] == [
        charts.SIDE_COLOURS["marketing"], charts.TARGET_GREY, charts.SIDE_COLOURS["marketing"]]
    assert points["transform"] == [{"filter": "(datum.series === 'actual')"}]
    assert [tip["field"] for tip in points["encoding"]["tooltip"]] == [
        "day", "leads", "target_leads"]
    assert dataset(specs["volume"], "target_leads")[:3] == [4.0, 8.0, 12.0]


def test_weekly_shows_one_commitment_against_its_target(specs):
    assert dataset(specs["weekly"], "compliance_pct") == [80.0, 90.0, None]
    assert dataset(specs["weekly"], "label") == ["target 90%"]
    line = next(units(specs["weekly"]))
    assert line["mark"]["color"] == charts.SIDE_COLOURS["sales"]


def test_distribution_keeps_the_open_ended_band_selectable(specs):
    spec = specs["distribution"]
    assert dataset(spec, "hours_to") == [0.5, 1.0, 4.5, None]
    assert dataset(spec, "hours_end")[-1] == pytest.approx(12.5)
    assert dataset(spec, "band") == ["0–0.5 h", "0.5–1 h", "4–4.5 h", "≥ 12 h"]
    assert dataset(spec, "label") == ["SLA budget (4 h)"]
    bars = next(units(spec))
    assert bars["encoding"]["color"]["scale"]["range"] == [
        charts.STATE_COLOURS["met"], charts.STATE_COLOURS["breached"]]


def test_heatmap_diverges_around_the_target(specs):
    scale = next(units(specs["heatmap"]))["encoding"]["color"]["scale"]
    assert scale["domain"] == [0, 100] and scale["domainMid"] == 90.0


def test_funnel_labels_each_stage_with_its_conversion(specs):
    assert dataset(specs["funnel"], "rate_text")[:4] == [
        "", "66.7% of MQL", "37.5% of SAL", "13.3% of SQL"]


def test_conformance_puts_all_criteria_last(specs):
    bars = next(units(specs["conformance"]))
    assert bars["encoding"]["y"]["sort"][-1] == "all criteria"


def test_goals_share_one_percent_of_target_axis(specs):
    assert dataset(specs["goals"], "actual_pct")[:2] == [24.0, pytest.approx(44.44)]
    assert dataset(specs["goals"], "target_text")[:2] == ["$500,000", "90"]


def test_charts_lists_every_chart():
    assert set(charts.CHARTS) == set(CASES) == set(charts.PICK_FIELDS)
    assert all(isinstance(title, str) and callable(builder)
               for title, builder in charts.CHARTS.values())


def test_read_pick_turns_a_streamlit_selection_into_a_drill_down_pick():
    week_ms = int(pd.Timestamp("2024-01-08").value // 10**6)
    assert charts.read_pick("heatmap", [{"rep": "ann", "week": week_ms}]) == {
        "rep": "ann", "week": pd.Timestamp("2024-01-08")}
    band = {"hours_from": 12.0, "hours_to": None, "state": "breached"}
    assert charts.read_pick("distribution", [band]) == band
    assert charts.read_pick("reasons", {}) is None
    assert charts.read_pick("reasons", [{}]) is None  # a click on a reference rule or label
    assert charts.read_pick("distribution", [{"state": "met"}]) is None


def test_the_module_does_not_import_streamlit():
    tree = ast.parse(Path(charts.__file__).read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "streamlit" for name in names)


def test_export_to_svg_and_png():
    assert "<svg" in charts.to_svg(build("reasons"))
    assert charts.to_png(build("volume"), scale=1).startswith(b"\x89PNG")
