"""Goal planner: from a revenue goal back to the won deals, SQLs, SALs and MQLs it needs."""

import altair as alt
import pandas as pd
import streamlit as st

from core import periods
from core.errors import InvalidInput
from core.permissions import Action, can
from core.services import planning
from core.services.measurement import AmbiguousAgreement
from ui import data
from ui.auth import require_page
from ui.exports import table_download
from ui.feedback import FLASH_KEY, run_service, show_flash
from ui.services import call
from ui.text import literal, money, words

actor = require_page("planner")
RATE_LABELS = {"mql_sal": "MQL → SAL", "sal_sql": "SAL → SQL", "sql_won": "SQL → won"}
MAX_LAG = 36
STAGE_NAMES = {"mql_sal": "MQLs", "sal_sql": "SALs", "sql_won": "SQLs"}


@st.cache_data(max_entries=8, show_spinner="Reading past quarters…")
def measured(version: str, running: str, quarter: str, quarters: int, *,
             _actor, _as_of: str) -> planning.PlanContext:
    """The history behind a plan, cached per data version, running quarter (it decides which
    quarters are history), quarter and history length."""
    del version, running  # part of the cache key only
    return call(planning.context, actor=_actor, quarter=quarter, history=quarters, as_of=_as_of)


def running_quarter() -> str:
    """The quarter holding now (or the page's ?as_of=) in the agreement's zone."""
    return periods.quarter_of_month(data.current_period(data.as_of(), actor=actor))


def amount(value: float | None) -> str:
    """An amount in the workspace's currency."""
    return money(value, data.currency(actor=actor))


def assumptions_table(ctx: planning.PlanContext, result: dict | None) -> pd.DataFrame:
    """One row per assumption: what history says, on how many leads, and the value used."""
    past = ctx.history
    rows = []
    for key, label in RATE_LABELS.items():
        estimate = past.rates.get(key)
        sample = f"{estimate.hits:,} of {estimate.sample:,} {STAGE_NAMES[key]}" \
            if estimate else "no leads"
        span = f"{estimate.low:.1%} – {estimate.high:.1%}" if estimate and estimate.range \
            else "–"
        value = f"{estimate.value:.1%}" if estimate and estimate.value is not None else "–"
        used = f"{result['rates'][key]:.1%}" if result else "–"
        rows.append((label, value, sample, span, used))
    rows.append(("Average won amount", amount(past.avg_won),
                 f"{past.avg_won_sample:,} won deals with an amount", "–",
                 amount(result["avg_won"]) if result else "–"))
    lag = "–" if past.median_days is None else \
        f"{past.median_days:,.1f} days ({months(past.lag_months)})"
    rows.append(("MQL → won lag", lag, f"{past.lag_sample:,} won deals", "–",
                 months(result["lag_months"]) if result else "–"))
    return pd.DataFrame(rows, columns=["Assumption", "History", "Sample", "Plausible range (95%)",
                                       "Used"])


def months(count: int) -> str:
    """"1 month", "3 months"."""
    return f"{count} month{'' if count == 1 else 's'}"


def mql_chart(frame: pd.DataFrame) -> alt.Chart:
    """MQLs needed per month."""
    return alt.Chart(frame).mark_bar(color="#7E57C2").encode(
        x=alt.X("month:O", title="Month the MQLs must arrive"),
        y=alt.Y("mql:Q", title="MQLs", axis=alt.Axis(tickMinStep=1, format=",d")),
        tooltip=[alt.Tooltip("month:O", title="Month"),
                 alt.Tooltip("mql:Q", title="MQLs", format=",.0f")],
    ).properties(height=260)


def propose(result: dict, agreement_id: int) -> None:
    """Create the draft, then say which version it is."""
    view = run_service(planning.draft_volume_target, "Draft created.", actor=actor,
                       agreement_id=agreement_id, plan=result)
    if view is not None:
        volume = next(c for c in view.document.commitments
                      if c.kind == "volume" and c.stage == "mql")
        st.session_state[FLASH_KEY] = (
            "success", f"Created draft version {view.number} of “{view.title}” with an MQL "
                       f"volume target of {volume.target:,} per {volume.per}. Review and submit "
                       "it on the Agreements page.")
    st.rerun()


st.title("Goal planner")
st.caption("From a revenue goal back to the won deals, SQLs, SALs and MQLs it takes, with the "
           "conversion rates, deal size and lag of past quarters.")
show_flash()

quarter_column, revenue_column, history_column = st.columns([1, 1.4, 1])
running = running_quarter()
quarter = quarter_column.text_input("Quarter to plan", value=periods.next_quarter(running),
                                    key="plan_quarter", help="A quarter such as 2026-Q3.")
quarters = int(history_column.number_input("Quarters of history", min_value=1,
                                           max_value=planning.MAX_HISTORY, value=4, step=1,
                                           key="plan_history"))
try:
    ctx = measured(data.data_version(), running, quarter, quarters, _actor=actor,
                   _as_of=data.as_of())
except (InvalidInput, AmbiguousAgreement) as error:
    st.error(literal(error))
    st.stop()

if "plan_revenue" not in st.session_state:
    st.session_state["plan_revenue"] = ctx.goal.revenue if ctx.goal else 0.0
revenue = revenue_column.number_input("Revenue goal for the quarter", min_value=0.0,
                                      step=10_000.0, format="%.0f", key="plan_revenue")
if ctx.goal is None:
    revenue_column.caption("The agreement has no won-revenue shared goal: enter the revenue to "
                           "plan for.")
else:
    per_quarter = "" if ctx.goal.per == "quarter" else \
        f", {amount(ctx.goal.revenue)} per quarter"
    revenue_column.caption(literal(f"Shared goal {words(ctx.goal.id)}: "
                                   f"{amount(ctx.goal.target)} per {ctx.goal.per}{per_quarter}."))

past = ctx.history
basis = (ctx.quarter, past.quarters)
if st.session_state.get("plan_basis") != basis:  # new history: prefill every assumption again
    st.session_state["plan_basis"] = basis
    st.session_state.update({f"plan_{key}": past.rate(key) or 0.0 for key in RATE_LABELS})
    st.session_state["plan_avg_won"] = past.avg_won or 0.0
    st.session_state["plan_lag"] = min(past.lag_months or 0, MAX_LAG)

st.subheader("Assumptions")
left_out = f"; {running} is still running, so its MQLs are left out" \
    if periods.next_quarter(ctx.history_quarters[-1]) != ctx.quarter else ""
st.caption(f"History: the MQLs of {ctx.history_quarters[0]} to {ctx.history_quarters[-1]} "
           f"({past.quarters} quarters) and the deals won in them{left_out}. Edit any "
           "assumption below; a 0 means “take it from history”.")
inputs = st.columns(5)
rates = {}
for column, (key, label) in zip(inputs, RATE_LABELS.items(), strict=False):
    rates[key] = column.number_input(f"{label} rate", min_value=0.0, max_value=1.0, step=0.01,
                                     format="%.4f", key=f"plan_{key}")
avg_won = inputs[3].number_input("Average won amount", min_value=0.0, step=100.0,
                                 format="%.2f", key="plan_avg_won")
lag = int(inputs[4].number_input("MQL → won lag (months)", min_value=0, max_value=MAX_LAG, step=1,
                                 key="plan_lag"))

result, problem = None, None
try:
    result = planning.plan_for(ctx, revenue=revenue,
                               rates={key: value for key, value in rates.items() if value > 0},
                               avg_won=avg_won or None, lag_months=lag)
except InvalidInput as error:
    problem = str(error)
st.dataframe(assumptions_table(ctx, result), hide_index=True, width="stretch",
             key="plan_assumptions")
if result is None:
    st.warning(literal(problem))
    st.stop()

st.subheader(f"What {result['quarter']} needs")
won, sql, sal, mql = st.columns(4)
won.metric("Won deals", f"{result['required']['won']:,}")
sql.metric("SQLs", f"{result['required']['sql']:,}")
sal.metric("SALs", f"{result['required']['sal']:,}")
mql.metric("MQLs", f"{result['required']['mql']:,}")
sample = result["sample"]
st.caption(f"Revenue {literal(amount(result['revenue']))} ÷ average won amount "
           f"{literal(amount(result['avg_won']))}, then each stage divided by its rate and "
           "rounded up. "
           f"Sample: {sample['mql']:,} MQLs and {sample['won']:,} won deals over "
           f"{sample['quarters']} quarters. Monthly MQL volume target: "
           f"{result['monthly_volume_target']:,}.")

month_column, rep_column = st.columns(2, border=True)
with month_column:
    st.markdown("**MQLs per month**")
    st.caption(f"Placed {months(result['lag_months'])} before the quarter's wins, the "
               "historical MQL → won lag.")
    by_month = pd.DataFrame(result["by_month"], columns=["month", "mql"])
    st.altair_chart(mql_chart(by_month), width="stretch", key="plan_chart")
    st.dataframe(by_month.rename(columns={"month": "Month", "mql": "MQLs"}), hide_index=True,
                 width="stretch", key="plan_by_month",
                 column_config={"MQLs": st.column_config.NumberColumn(format="localized")})
    table_download(by_month, f"plan-{result['quarter']}-by-month", key="plan_by_month_csv")
with rep_column:
    st.markdown("**Per rep**")
    basis_text = "won deals" if past.share_basis == "won" else "MQLs (no deal was won)"
    st.caption(f"Split by each rep's share of the history's {basis_text}.")
    by_rep = pd.DataFrame(result["by_rep"], columns=["rep", "share", "mql", "won"])
    names = data.people(actor=actor)
    st.dataframe(by_rep.assign(rep=by_rep["rep"].map(lambda rep: names.get(rep, rep))),
                 hide_index=True, width="stretch", key="plan_by_rep",
                 column_config={"rep": "Rep",
                                "mql": st.column_config.NumberColumn("MQLs", format="localized"),
                                "won": st.column_config.NumberColumn("Won deals",
                                                                     format="localized"),
                                "share": st.column_config.NumberColumn("Share", format="percent")})
    table_download(by_rep, f"plan-{result['quarter']}-by-rep", key="plan_by_rep_csv")

if can(actor.role, Action.EDIT_AGREEMENT):
    st.caption("Proposing makes a new draft of the agreement with this monthly MQL target; it "
               "then goes through the usual review, approvals and sign-off.")
    if st.button("Propose as a draft volume target", key="plan_propose", type="primary"):
        propose(result, ctx.agreement_id)
