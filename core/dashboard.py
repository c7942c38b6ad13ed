"""What the scorecard, the dashboard and the worklist show, computed from one `Evaluation`.

Pure domain code: no streamlit, no database. Every chart frame is aggregated here (days, weeks,
bins, reps), so no chart ships more than `MAX_CHART_ROWS` rows to the browser; every figure is
read from the same `core.compliance.Evaluation` the `report` command prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.agreement import AttemptsCommitment, VolumeCommitment
from core.calendar import NAT_NS
from core.compliance import (
    AT_RISK,
    BREACHED,
    CLOCK_STATES,
    MET,
    OVERDUE,
    PENDING,
    Evaluation,
    clock_commitments,
    criterion_mask,
    field_values,
)
from core.periods import fraction_by_day, local_dates, period_days, week_starts
from core.wording import DEFAULT_CURRENCY, money, words

MAX_CHART_ROWS = 5000
STATUS_WORDS = {"met": "Met", "missed": "Missed", "on_track": "On track", "at_risk": "At risk",
                "no_data": "No data yet"}
SIDES = ("marketing", "sales")
DRILL_LIMIT = 1000
LEAD_COLUMNS = ["external_id", "name", "company", "owner", "channel", "segment", "region",
                "mql_at"]


def _days_of(evaluation: Evaluation, ns: np.ndarray) -> np.ndarray:
    """Local dates of instants in the evaluation's calendar zone."""
    return local_dates(evaluation.calendar.timezone, ns)


# --- scorecard ---------------------------------------------------------------------------------


def headline(item: dict, currency: str = DEFAULT_CURRENCY) -> str:
    """A commitment or goal's actual against its target, in words (amounts in `currency`)."""
    kind = item.get("kind")
    if kind in ("response", "attempts"):
        what = f"reached {item['attempts']} attempts" if kind == "attempts" else "handled"
        return (f"{_pct_text(item['compliance_pct'])} {what} within {item['within']} "
                f"(target {item['target_pct']:g}%)")
    if kind == "acceptance_rate":
        return (f"{_pct_text(item['acceptance_pct'])} accepted "
                f"(target {item['target_pct']:g}%)")
    if kind == "volume":
        actual, target = f"{item['actual']:,}", f"{item['target']:,} {item['stage'].upper()}s"
    elif item.get("metric", "").endswith("amount"):
        actual, target = money(round(item["actual"]), currency), money(
            round(item["target"]), currency)
    else:
        actual, target = f"{item['actual']:,}", f"{item['target']:,}"
    if _pace(item) is not None:  # the card leads with the pace; this is the partial total
        return f"{actual} of {target} so far ({_pct_text(item['attainment_pct'])} of the target)"
    return f"{actual} of {target} ({_pct_text(item['attainment_pct'])})"


def _pace(item: dict) -> float | None:
    """Actual against expected-to-date while a counted target's period runs, else None."""
    running = item.get("status") in ("on_track", "at_risk")
    if "expected_to_date" not in item or not running or not item["expected_to_date"]:
        return None
    return round(item["actual"] / item["expected_to_date"] * 100, 2)


def _pct_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def judged_value(item: dict) -> tuple[float | None, str]:
    """The percentage a commitment's or goal's status is judged by, and its basis: the pace to
    date while a counted target's period runs ("pace": 100% is on track), else the report's
    figure ("final")."""
    pace = _pace(item)
    return (score_value(item), "final") if pace is None else (pace, "pace")


def score_value(item: dict) -> float | None:
    """The percentage a commitment or goal has reached (attainment, compliance, acceptance)."""
    for key in ("attainment_pct", "compliance_pct", "acceptance_pct"):
        if key in item:
            return item[key]
    return None


def scorecard(report: dict, previous: dict | None = None,
              currency: str = DEFAULT_CURRENCY) -> pd.DataFrame:
    """One row per commitment and shared goal: side, headline, status (code and words), the
    percentage its status is judged by (`value_pct`: the pace to date while a count runs,
    `trend_basis` "pace", else the report's figure) and the trend against the previous
    period's judged figure: like with like, never a partial total against a whole one."""
    before = {(item.get("kind", "goal"), item["id"]): judged_value(item)[0]
              for item in (previous or {}).get("commitments", []) +
              (previous or {}).get("shared_goals", [])}
    rows = []
    for item in report["commitments"] + report["shared_goals"]:
        kind = item.get("kind", "goal")
        (value, basis), earlier = judged_value(item), before.get((kind, item["id"]))
        rows.append({
            "side": item.get("owner", "shared"), "id": item["id"], "kind": kind,
            "headline": headline(item, currency), "status": item["status"],
            "status_words": STATUS_WORDS[item["status"]], "value_pct": value,
            "previous_pct": earlier,
            "trend_pct": None if value is None or earlier is None
            else round(value - earlier, 2),
            "trend_basis": basis,
        })
    return pd.DataFrame(rows, columns=["side", "id", "kind", "headline", "status",
                                       "status_words", "value_pct", "previous_pct", "trend_pct",
                                       "trend_basis"])


def cause_lines(causes: dict) -> list[str]:
    """The causes of the misses (the `causes` of `reviews.show`) as one short line each, e.g.
    "first-touch: rep ben, 2 of 2 clocks breached (100% of its breaches)"."""
    def share(row: dict) -> str:
        return f"{round(row['share_pct'], 1):g}%"

    lines = [f"{row['commitment']}: {by} {row[by]}, {row['breached']:,} of {row['clocks']:,} "
             f"clocks breached ({share(row)} of its breaches)"
             for key, by in (("reps", "rep"), ("channels", "channel")) for row in causes[key]]
    lines += [f"rejected as {row['reason']}: {row['rejected']:,} "
              f"lead{'' if row['rejected'] == 1 else 's'} ({share(row)} of the rejections)"
              for row in causes["rejection_reasons"]]
    return lines


def reading(report: dict) -> str:
    """The situation in one line, e.g. "Marketing is at 92% of the MQL pace; sales met
    first-touch on 87% of leads against 90%"."""
    period_over = report["as_of"] >= report["period"]["end"]
    parts = []
    volume = next((c for c in report["commitments"] if c["kind"] == "volume"), None)
    if volume:
        if period_over:
            parts.append(f"Marketing delivered {_pct_text(volume['attainment_pct'])} of the "
                         f"{volume['stage'].upper()} target")
        elif volume["expected_to_date"]:
            pace = volume["actual"] / volume["expected_to_date"] * 100
            parts.append(f"Marketing is at {pace:.0f}% of the {volume['stage'].upper()} pace")
        else:
            parts.append("The period has not started its business hours yet")
    response = next((c for c in report["commitments"] if c["kind"] == "response"), None)
    if response:
        if response["compliance_pct"] is None:
            parts.append(f"sales has no resolved {words(response['id'], capitalized=False)} "
                         "clock yet")
        else:
            parts.append(f"sales met {words(response['id'], capitalized=False)} on "
                         f"{response['compliance_pct']:.0f}% of leads against "
                         f"{response['target_pct']:g}%")
    text = "; ".join(parts) or "No commitments to measure"
    return text[0].upper() + text[1:] + "."


def compare_reports(actual: dict, what_if: dict) -> pd.DataFrame:
    """Each commitment as measured and as a what-if version would have measured it.
    Columns: commitment, kind, actual, what_if, actual_pct, what_if_pct, difference_pts."""
    other = {item["id"]: item for item in what_if["commitments"]}
    rows = []
    for item in actual["commitments"]:
        twin = other.get(item["id"])
        value, twin_value = score_value(item), score_value(twin) if twin else None
        rows.append({
            "commitment": item["id"], "kind": item["kind"], "actual": headline(item),
            "what_if": headline(twin) if twin else "not in that version",
            "actual_pct": value, "what_if_pct": twin_value,
            "difference_pts": None if value is None or twin_value is None
            else round(twin_value - value, 2),
        })
    known = {item["id"] for item in actual["commitments"]}
    rows += [{"commitment": item["id"], "kind": item["kind"], "actual": "not in force",
              "what_if": headline(item), "actual_pct": None, "what_if_pct": score_value(item),
              "difference_pts": None}
             for item in what_if["commitments"] if item["id"] not in known]
    return pd.DataFrame(rows, columns=["commitment", "kind", "actual", "what_if", "actual_pct",
                                       "what_if_pct", "difference_pts"])


# --- chart frames ------------------------------------------------------------------------------


def volume_commitment(evaluation: Evaluation) -> VolumeCommitment | None:
    """The first volume commitment (marketing's MQL pace)."""
    return next((c for c in evaluation.document.commitments if isinstance(c, VolumeCommitment)),
                None)


def cumulative_volume(evaluation: Evaluation) -> pd.DataFrame:
    """Per local day: cumulative leads counted by the volume commitment (`actual`, up to as_of),
    the pro-rated `target`, and the `projection` at the current pace (while the period runs).
    Columns: day, series, leads."""
    commitment = volume_commitment(evaluation)
    columns = ["day", "series", "leads"]
    if commitment is None:
        return pd.DataFrame(columns=columns)
    days = period_days(evaluation.calendar, evaluation.period)
    counted = evaluation.volume_masks[commitment.id]
    stage_days = _days_of(evaluation, evaluation.stamps[commitment.stage][counted])
    day_index = pd.DatetimeIndex([pd.Timestamp(day) for day in days])
    per_day = pd.Series(stage_days).value_counts().reindex(
        day_index.to_numpy().astype("datetime64[D]"), fill_value=0)
    actual = per_day.cumsum().to_numpy()
    fraction = fraction_by_day(evaluation.calendar, evaluation.period, days)
    target = commitment.target * evaluation.days.units(commitment.per)
    as_of_day = evaluation.calendar.local_date(evaluation.as_of.to_pydatetime())
    seen = np.array([day <= as_of_day for day in days])
    frames = [pd.DataFrame({"day": day_index[seen], "series": "actual",
                            "leads": actual[seen].astype(float)}),
              pd.DataFrame({"day": day_index, "series": "target", "leads": target * fraction})]
    if not evaluation.period_over and evaluation.fraction > 0:
        pace = int(counted.sum()) / evaluation.fraction
        ahead = ~seen | (np.array(days) == as_of_day)
        frames.append(pd.DataFrame({"day": day_index[ahead], "series": "projection",
                                    "leads": pace * fraction[ahead]}))
    return pd.concat(frames, ignore_index=True)[columns]


def _resolved(state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of met clocks and of breached ones (stopped late, or overdue)."""
    return state == MET, (state == BREACHED) | (state == OVERDUE)


def weekly_compliance(evaluation: Evaluation) -> pd.DataFrame:
    """Per clock commitment and local week of the clock's start: met, breached, compliance %.
    Columns: commitment, owner, week, met, breached, compliance_pct, target_pct."""
    frames = []
    for commitment in clock_commitments(evaluation.document):
        arrays = evaluation.clock_arrays[commitment.id]
        met, breached = _resolved(arrays["state"])
        weeks = week_starts(_days_of(evaluation, arrays["start"]))
        grouped = pd.DataFrame({"week": weeks, "met": met, "breached": breached}).groupby(
            "week", as_index=False).sum()
        grouped["compliance_pct"] = _percent(grouped["met"], grouped["met"] + grouped["breached"])
        frames.append(grouped.assign(commitment=commitment.id, owner=commitment.owner,
                                     target_pct=float(commitment.target_pct)))
    columns = ["commitment", "owner", "week", "met", "breached", "compliance_pct", "target_pct"]
    if not frames:
        return pd.DataFrame(columns=columns)
    result = pd.concat(frames, ignore_index=True)[columns]
    result["week"] = pd.to_datetime(result["week"])
    return result


def _percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole × 100 rounded to 2 decimals; NaN where whole is 0."""
    return (part / whole.where(whole > 0) * 100).round(2)


def response_distribution(evaluation: Evaluation, commitment_id: str,
                          bins: int = 24) -> pd.DataFrame:
    """Stopped clocks of a commitment binned by business hours taken, split met/breached; the
    last bin holds everything from three budgets on. Columns: hours_from, hours_to, state,
    leads, budget_hours."""
    columns = ["hours_from", "hours_to", "state", "leads", "budget_hours"]
    arrays = evaluation.clock_arrays[commitment_id]
    state = arrays["state"]
    stopped = (state == MET) | (state == BREACHED)
    hours = arrays["elapsed_seconds"][stopped] / 3600
    budgets = arrays["budget_seconds"][stopped] / 3600
    budget = float(np.median(budgets)) if budgets.size else 0.0
    if hours.size == 0:
        return pd.DataFrame(columns=columns)
    top = max(3 * budget, 1.0)
    width = top / bins
    index = np.minimum((hours // width).astype(np.int64), bins)
    labels = np.where(state[stopped] == MET, "met", "breached")
    counted = pd.DataFrame({"bin": index, "state": labels}).value_counts().rename("leads")
    counted = counted.reset_index()
    counted["hours_from"] = counted["bin"] * width
    counted["hours_to"] = np.where(counted["bin"] == bins, np.inf, (counted["bin"] + 1) * width)
    counted["budget_hours"] = budget
    return counted.sort_values(["bin", "state"])[columns].reset_index(drop=True)


def rep_week_heatmap(evaluation: Evaluation, commitment_id: str) -> pd.DataFrame:
    """Compliance % per rep and week of a clock commitment, for the reps with the most clocks
    when there are too many to show (`attrs["hidden_reps"]` says how many are left out). Each
    clock counts for the rep `--by rep` counts it for (Evaluation.clock_owners).
    Columns: rep, week, met, breached, compliance_pct."""
    arrays = evaluation.clock_arrays[commitment_id]
    met, breached = _resolved(arrays["state"])
    reps = evaluation.clock_owners(commitment_id)
    frame = pd.DataFrame({"rep": pd.Series(reps, dtype=object).fillna("(no owner)"),
                          "week": week_starts(_days_of(evaluation, arrays["start"])),
                          "met": met, "breached": breached})
    frame = frame[frame["met"] | frame["breached"]]
    grouped = frame.groupby(["rep", "week"], as_index=False)[["met", "breached"]].sum()
    weeks = max(grouped["week"].nunique(), 1)
    reps = grouped["rep"].nunique()
    if len(grouped) > MAX_CHART_ROWS:
        busiest = (grouped.assign(total=grouped["met"] + grouped["breached"])
                   .groupby("rep")["total"].sum().nlargest(MAX_CHART_ROWS // weeks).index)
        grouped = grouped[grouped["rep"].isin(busiest)]
    grouped["compliance_pct"] = _percent(grouped["met"], grouped["met"] + grouped["breached"])
    grouped["week"] = pd.to_datetime(grouped["week"])
    grouped = grouped.reset_index(drop=True)
    grouped.attrs["hidden_reps"] = reps - grouped["rep"].nunique()
    return grouped


FUNNEL_STAGES = (("mql", "MQL"), ("sal", "SAL"), ("sql", "SQL"), ("won", "Won"))


def funnel(report: dict) -> pd.DataFrame:
    """The period's MQL cohort per stage with the conversion from the stage before.
    Columns: stage, label, order, leads, rate_pct."""
    counts = report["funnel"]
    rates = [None, counts["rates"]["mql_sal"], counts["rates"]["sal_sql"],
             counts["rates"]["sql_won"]]
    return pd.DataFrame([
        {"stage": stage, "label": label, "order": order, "leads": counts[stage],
         "rate_pct": None if rate is None else round(rate * 100, 2)}
        for order, ((stage, label), rate) in enumerate(zip(FUNNEL_STAGES, rates, strict=True))
    ])


def rejection_reasons(report: dict) -> pd.DataFrame:
    """Rejected MQLs per reason, most frequent first. Columns: reason, leads."""
    reasons = report["quality"]["rejection_reasons"]
    frame = pd.DataFrame({"reason": list(reasons), "leads": list(reasons.values())},
                         columns=["reason", "leads"])
    return frame.sort_values("leads", ascending=False, kind="stable").reset_index(drop=True)


def _criterion_label(criterion: Any) -> str:
    value = criterion.value
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{criterion.field} {criterion.op} {shown}"


def conformance(evaluation: Evaluation) -> pd.DataFrame:
    """Share of the period's MQLs meeting each MQL criterion, and all of them (the report's
    definition conformance). Columns: criterion, conforming, mqls, pct."""
    mql = evaluation.leads[evaluation.mql]
    rows = []
    every = np.ones(len(mql), dtype=bool)
    for criterion in evaluation.document.stages.mql.criteria:
        passed = criterion_mask(field_values(mql, criterion.field), criterion.op, criterion.value)
        every &= passed
        rows.append((_criterion_label(criterion), int(passed.sum())))
    rows.append(("all criteria", int(every.sum())))
    frame = pd.DataFrame(rows, columns=["criterion", "conforming"])
    frame["mqls"] = len(mql)
    frame["pct"] = _percent(frame["conforming"], frame["mqls"])
    return frame


def goal_progress(report: dict) -> pd.DataFrame:
    """Shared goals: actual, expected to date and target. Columns: goal, metric, measure,
    value, attainment_pct."""
    rows = []
    for goal in report["shared_goals"]:
        for measure in ("actual", "expected_to_date", "target"):
            rows.append({"goal": goal["id"], "metric": goal["metric"], "measure": measure,
                         "value": float(goal[measure]), "attainment_pct": goal["attainment_pct"]})
    return pd.DataFrame(rows, columns=["goal", "metric", "measure", "value", "attainment_pct"])


def chart_frames(evaluation: Evaluation, report: dict,
                 commitment_id: str | None) -> dict[str, pd.DataFrame | None]:
    """Every dashboard chart's frame by chart key; the clock charts of `commitment_id` (None
    when the agreement has no clock commitment)."""
    return {
        "volume": cumulative_volume(evaluation),
        "weekly": weekly_compliance(evaluation),
        "distribution": response_distribution(evaluation, commitment_id)
        if commitment_id else None,
        "heatmap": rep_week_heatmap(evaluation, commitment_id) if commitment_id else None,
        "funnel": funnel(report),
        "reasons": rejection_reasons(report),
        "conformance": conformance(evaluation),
        "goals": goal_progress(report),
    }


# --- the leads behind a chart mark -------------------------------------------------------------


def leads_behind(evaluation: Evaluation, chart: str, pick: dict,
                 details: Callable[[list[int], list[str]], pd.DataFrame] | None = None
                 ) -> pd.DataFrame:
    """The leads behind a selected mark: `chart` names the chart, `pick` holds the selected
    field values (e.g. {"week": ..., "commitment": ...}). At most DRILL_LIMIT rows, newest first;
    `attrs["total"]` holds how many there are. Columns of LEAD_COLUMNS the measured leads do
    not hold are asked of `details(ids, columns)` (a frame indexed by lead id) for the rows
    listed."""
    mask, clocks = _drill_mask(evaluation, chart, pick)
    positions = np.flatnonzero(mask)
    missing = [name for name in LEAD_COLUMNS if name not in evaluation.leads]
    if missing and details is None:
        raise ValueError(f"the measured leads have no {', '.join(missing)}")
    held = ["id"] + [name for name in LEAD_COLUMNS if name not in missing]
    frame = evaluation.leads.iloc[positions][held].reset_index(drop=True)
    extra = []
    if clocks is not None:
        arrays, rows = clocks
        frame["state"] = np.asarray(CLOCK_STATES, dtype=object)[arrays["state"][rows]]
        frame["business_hours"] = (arrays["elapsed_seconds"][rows] / 3600).round(2)
        extra = ["state", "business_hours"]
    frame = frame.sort_values("mql_at", ascending=False, kind="stable").reset_index(drop=True)
    total = len(frame)
    frame = frame.head(DRILL_LIMIT)
    if missing:
        found = details(frame["id"].tolist(), missing)
        ids = frame["id"].to_numpy()
        frame = frame.assign(**{name: pd.Series(found[name].reindex(ids).to_numpy(),
                                                dtype=found[name].dtype)
                                for name in missing})
    frame = frame[LEAD_COLUMNS + extra].reset_index(drop=True)
    frame.attrs["total"] = total
    return frame


def _drill_mask(evaluation: Evaluation, chart: str, pick: dict
                ) -> tuple[np.ndarray, tuple[dict, np.ndarray] | None]:
    """Lead mask of a selection, plus the clock rows behind it for clock charts."""
    size = len(evaluation.leads)
    if chart in ("weekly", "heatmap", "distribution"):
        arrays = evaluation.clock_arrays[pick["commitment"]]
        rows = np.ones(arrays["position"].size, dtype=bool)
        met, breached = _resolved(arrays["state"])
        if chart in ("weekly", "heatmap"):
            rows &= met | breached
            weeks = week_starts(_days_of(evaluation, arrays["start"]))
            rows &= weeks == np.datetime64(pd.Timestamp(pick["week"]).date(), "D")
        if chart == "heatmap":
            reps = pd.Series(evaluation.clock_owners(pick["commitment"]),
                             dtype=object).fillna("(no owner)").to_numpy()
            rows &= reps == pick["rep"]
        if chart == "distribution":
            hours = arrays["elapsed_seconds"] / 3600
            state = arrays["state"]
            rows &= (state == MET) if pick["state"] == "met" else (state == BREACHED)
            low, high = float(pick["hours_from"]), float(pick.get("hours_to") or np.inf)
            rows &= (hours >= low) & (hours < high)
        chosen = np.flatnonzero(rows)
        order = np.argsort(arrays["position"][chosen], kind="stable")
        chosen = chosen[order]
        mask = np.zeros(size, dtype=bool)
        mask[arrays["position"][chosen]] = True
        return mask, (arrays, chosen)
    if chart == "volume":
        commitment = volume_commitment(evaluation)
        counted = evaluation.volume_masks[commitment.id].copy()
        days = np.full(size, np.datetime64("NaT"), dtype="datetime64[D]")
        days[counted] = _days_of(evaluation, evaluation.stamps[commitment.stage][counted])
        return counted & (days == np.datetime64(pd.Timestamp(pick["day"]).date(), "D")), None
    if chart == "funnel":
        stage = pick["stage"]
        if stage == "mql":
            return evaluation.mql.copy(), None
        if stage == "sal":
            return evaluation.accepted.copy(), None
        return evaluation.mql & (evaluation.stamps[stage] != NAT_NS), None
    if chart == "reasons":
        reasons = evaluation.leads["rejection_reason"].fillna("unspecified").to_numpy(dtype=object)
        return evaluation.rejected & (reasons == pick["reason"]), None
    if chart == "conformance":
        mask = evaluation.mql.copy()
        failing = np.zeros(size, dtype=bool)
        for criterion in evaluation.document.stages.mql.criteria:
            passed = criterion_mask(field_values(evaluation.leads, criterion.field), criterion.op,
                                     criterion.value)
            if pick["criterion"] in ("all criteria", _criterion_label(criterion)):
                failing |= ~passed
        return mask & failing, None
    if chart == "goals":
        return evaluation.goal_masks[pick["goal"]].copy(), None
    raise ValueError(f"no chart named {chart!r}")


def rep_versus_team(evaluation: Evaluation, rep: str) -> pd.DataFrame:
    """A rep's compliance on each clock commitment next to the whole team's (the report's
    `--by rep` row and summary: each clock counts for the rep Evaluation.clock_owners names).
    Columns: commitment, within, mine_pct, mine_clocks, team_pct, target_pct."""
    mine = evaluation.leads["owner"].to_numpy(dtype=object) == rep
    clocks = None if evaluation.owner_history is None else {
        commitment_id: evaluation.clock_owners(commitment_id) == rep
        for commitment_id in evaluation.clock_arrays}
    own = {item["id"]: item for item in evaluation.commitments(mine, clocks)}
    rows = []
    for item in evaluation.commitments():
        if item["kind"] not in ("response", "attempts"):
            continue
        mine_item = own[item["id"]]
        rows.append({"commitment": item["id"], "within": item["within"],
                     "mine_pct": mine_item["compliance_pct"],
                     "mine_clocks": mine_item["met"] + mine_item["breached"],
                     "team_pct": item["compliance_pct"], "target_pct": item["target_pct"]})
    return pd.DataFrame(rows, columns=["commitment", "within", "mine_pct", "mine_clocks",
                                       "team_pct", "target_pct"])


# --- the rep's worklist ------------------------------------------------------------------------


def _open_clocks(evaluation: Evaluation) -> pd.DataFrame:
    """Every open clock (not stopped) of the evaluated leads that are neither rejected nor
    qualified, the most urgent first: overdue ones by how late they are, then by business time
    left. Columns: position (of the lead), commitment, state, due, business_seconds_left,
    calendar_seconds_left, attempts_done, attempts_required, version."""
    frames = []
    as_of = evaluation.as_of.value
    # Rejected (the later decision wins) and qualified leads need no more work.
    closed = evaluation.rejected | (evaluation.stamps["sql"] != NAT_NS)
    for commitment in clock_commitments(evaluation.document):
        arrays = evaluation.clock_arrays[commitment.id]
        state = arrays["state"]
        open_ = ((state == PENDING) | (state == AT_RISK) | (state == OVERDUE)) & ~closed[
            arrays["position"]]
        due = arrays["due"][open_]
        done, required = (evaluation.attempts(commitment.id) if open_.any()
                          and isinstance(commitment, AttemptsCommitment) else (None, None))
        frames.append(pd.DataFrame({
            "position": arrays["position"][open_],
            "commitment": commitment.id,
            "state": np.asarray(CLOCK_STATES, dtype=object)[state[open_]],
            "due": pd.to_datetime(np.where(due == NAT_NS, np.datetime64("NaT"),
                                           due.astype("datetime64[ns]")), utc=True),
            "business_seconds_left": arrays["budget_seconds"][open_] -
            arrays["elapsed_seconds"][open_],
            "calendar_seconds_left": np.where(due == NAT_NS, 0, (due - as_of) // 10**9),
            "attempts_done": _counts(done, open_),
            "attempts_required": _counts(required, open_),
            "version": arrays["version"][open_],
        }))
    clocks = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if clocks.empty:
        return clocks
    return clocks.sort_values(["business_seconds_left", "calendar_seconds_left"],
                              kind="stable").reset_index(drop=True)


OPEN_CLOCK_COLUMNS = ["id", "external_id", "name", "owner", "company", "commitment", "state",
                      "due", "business_seconds_left", "version"]


def open_clocks(evaluation: Evaluation) -> pd.DataFrame:
    """Every open clock the worklist is made of, one row per lead and commitment (the worklist
    shows each lead's most urgent one), the most urgent first. Columns: OPEN_CLOCK_COLUMNS
    (version: the agreement version the clock is measured against)."""
    clocks = _open_clocks(evaluation)
    if clocks.empty:
        return pd.DataFrame(columns=OPEN_CLOCK_COLUMNS).astype({"version": "int64"})
    leads = evaluation.leads.iloc[clocks["position"].to_numpy()]
    for name in ("id", "external_id", "name", "owner", "company"):
        clocks[name] = leads[name].to_numpy()
    return clocks[OPEN_CLOCK_COLUMNS]


def worklist(evaluation: Evaluation) -> pd.DataFrame:
    """Open clocks (not stopped) of the evaluated leads that are neither rejected nor qualified,
    the most urgent first: overdue ones by how late they are, then by business time left. One
    row per lead (its most urgent clock).
    Columns: id, external_id, name, owner, company, channel, mql_at, commitment, state, due,
    business_seconds_left (negative when overdue), calendar_seconds_left; and, from the lead's
    open attempts clock whichever clock is the most urgent, attempts_done (the touches not
    automated counted towards it by as_of), attempts_required (the commitment's `attempts`),
    both Int64, attempts_seconds_left (its business time left) and attempts_commitment (its
    id), NA without one; accepted: whether the lead stands accepted (the later decision wins)."""
    clocks = _open_clocks(evaluation)
    columns = ["id", "external_id", "name", "owner", "company", "channel", "mql_at",
               "commitment", "state", "due", "business_seconds_left", "calendar_seconds_left",
               "attempts_done", "attempts_required", "attempts_seconds_left",
               "attempts_commitment", "accepted"]
    if clocks.empty:
        empty = pd.DataFrame(columns=columns)
        return empty.astype({"attempts_done": "Int64", "attempts_required": "Int64",
                             "attempts_seconds_left": "float64", "attempts_commitment": object,
                             "accepted": bool})
    attempts = (clocks[clocks["attempts_required"].notna()].drop_duplicates("position")
                .set_index("position"))
    clocks = clocks.drop_duplicates("position")
    for name, source in (("attempts_done", "attempts_done"),
                         ("attempts_required", "attempts_required"),
                         ("attempts_seconds_left", "business_seconds_left")):
        values = clocks["position"].map(attempts[source])
        clocks[name] = values.astype("Int64" if name != "attempts_seconds_left" else "float64")
    clocks["attempts_commitment"] = clocks["position"].map(attempts["commitment"])
    clocks["accepted"] = evaluation.accepted[clocks["position"].to_numpy()]
    leads = evaluation.leads.iloc[clocks["position"].to_numpy()]
    for name in ("id", "external_id", "name", "owner", "company", "channel", "mql_at"):
        clocks[name] = leads[name].to_numpy()
    return clocks[columns].reset_index(drop=True)


def _counts(values: np.ndarray | None, rows: np.ndarray) -> pd.Series:
    """Attempt counts of the chosen clock rows as Int64 (NA without a count: -1 or None)."""
    size = int(rows.sum())
    if values is None:
        return pd.Series(pd.array([pd.NA] * size, dtype="Int64"))
    chosen = values[rows]
    return pd.Series(pd.array(np.where(chosen >= 0, chosen, 0), dtype="Int64")).mask(chosen < 0)
