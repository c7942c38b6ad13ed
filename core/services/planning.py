"""The goal planner as a use case: read the history, plan a quarter, propose a volume target."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core import agreement as sla
from core import periods, planner
from core.errors import InvalidInput, NotFound
from core.periods import Period
from core.permissions import Action, require
from core.services import agreements, measurement
from core.services.accounts import Actor

MAX_HISTORY = 40
GOAL_PER_QUARTER = {"quarter": 1, "month": 3, "week": 13}
# A volume target proposed per month, restated for commitments counted per week or per quarter.
WEEKS_PER_QUARTER = 13


@dataclass(frozen=True)
class Goal:
    """The shared won-revenue goal a plan defaults to, and its amount per quarter."""

    id: str
    target: float
    per: str
    revenue: float


@dataclass(frozen=True)
class PlanContext:
    """Everything a plan reads from the database: the agreement, the quarters of history and
    what they measured, and the shared revenue goal (None when the agreement has none)."""

    agreement_id: int
    quarter: str
    history_quarters: tuple[str, ...]
    history: planner.History
    goal: Goal | None
    timezone: str


def context(
    *, session: Session, actor: Actor, quarter: str, agreement_id: int | None = None,
    history: int = 4, goal_id: str | None = None, as_of: str | datetime | None = None,
) -> PlanContext:
    """Measure the `history` quarters before `quarter` that had ended by as_of (default now;
    quarters read in the agreement's calendar zone, the agreement resolved as reports resolve
    it) and find the revenue goal."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    quarter = _quarter(quarter)
    if isinstance(history, bool) or not isinstance(history, int) or not \
            1 <= history <= MAX_HISTORY:
        raise InvalidInput("history", f"{history!r} must be a whole number of quarters "
                                      f"from 1 to {MAX_HISTORY}")
    agreement = measurement.context(session=session, actor=actor, agreement_id=agreement_id,
                                    as_of=as_of)
    running = periods.quarter_of(agreement.local(agreement.as_of))
    labels = planner.history_quarters(quarter, history, running)
    quarters = [periods.parse_period(label, agreement.timezone) for label in labels]
    leads = measurement.history_leads(
        session=session, actor=actor, window=Period(quarters[0].start, quarters[-1].end))
    return PlanContext(agreement.agreement_id, quarter, tuple(labels),
                       planner.history(leads, quarters),
                       _goal(agreement.versions[-1].document, goal_id), agreement.timezone)


def plan_for(
    ctx: PlanContext, *, revenue: float | None = None, avg_won: float | None = None,
    rates: dict | None = None, lag_months: int | None = None,
) -> dict:
    """The plan of a measured context, with `history_quarters` (the quarters it learned from);
    the caller's values override the history's, and the revenue defaults to the shared goal."""
    if revenue is None:
        if ctx.goal is None:
            raise InvalidInput("revenue", "the agreement has no won_amount shared goal: "
                                          "give the revenue to plan for")
        revenue = ctx.goal.revenue
    try:
        used, average, lag = planner.assumptions(ctx.history, rates=rates, avg_won=avg_won,
                                                 lag_months=lag_months)
        result = planner.plan(revenue, ctx.quarter, used, average, lag, ctx.history.rep_share,
                              ctx.history.sample, ranges=ctx.history.ranges)
    except planner.PlanInputError as error:
        raise InvalidInput(error.field, error.message) from None
    return {**result, "history_quarters": list(ctx.history_quarters)}


def plan(
    *, session: Session, actor: Actor, quarter: str, revenue: float | None = None,
    agreement_id: int | None = None, history: int = 4, avg_won: float | None = None,
    rates: dict | None = None, goal_id: str | None = None, lag_months: int | None = None,
    as_of: str | datetime | None = None,
) -> dict:
    """The `plan --format json` object for a quarter (DESIGN §5, §6)."""
    ctx = context(session=session, actor=actor, quarter=quarter, agreement_id=agreement_id,
                  history=history, goal_id=goal_id, as_of=as_of)
    return plan_for(ctx, revenue=revenue, avg_won=avg_won, rates=rates, lag_months=lag_months)


def draft_volume_target(
    *, session: Session, actor: Actor, agreement_id: int, plan: dict[str, Any]
) -> agreements.VersionView:
    """A new draft (amending the latest signed version) whose first MQL volume commitment has
    the plan's monthly target (restated per week or per quarter when it counts those). The
    draft then goes through the normal review; it is not submitted."""
    require(actor.role, Action.EDIT_AGREEMENT)
    monthly = plan.get("monthly_volume_target") if isinstance(plan, dict) else None
    if isinstance(monthly, bool) or not isinstance(monthly, int) or monthly <= 0:
        raise InvalidInput("plan", "needs a positive whole monthly_volume_target")
    source = _amendment_source(session, actor, agreement_id)
    index = _mql_volume_index(source.document)
    draft = agreements.amend(session=session, actor=actor, agreement_id=agreement_id)
    data = sla.to_dict(draft.document)
    commitment = data["commitments"][index]
    commitment["target"] = _restated(monthly, commitment["per"])
    saved = agreements.save_draft(session=session, actor=actor, agreement_id=agreement_id,
                                  number=draft.number, document=sla.from_dict(data),
                                  expected_revision=draft.revision)
    agreements.add_comment(session=session, actor=actor, agreement_id=agreement_id,
                           number=saved.number, clause=commitment["id"],
                           body=_proposal_note(plan, commitment))
    return saved


# --- helpers -------------------------------------------------------------------------------


def _quarter(text: str) -> str:
    """"2018-Q3", normalised; InvalidInput naming `quarter` otherwise."""
    try:
        return planner.checked_quarter(text)
    except planner.PlanInputError as error:
        raise InvalidInput(error.field, error.message) from None


def _goal(document: sla.Document, goal_id: str | None) -> Goal | None:
    """The named goal, else the first won_amount goal, as revenue per quarter."""
    goals = document.shared_goals
    if goal_id is not None:
        goal = next((g for g in goals if g.id == goal_id), None)
        if goal is None:
            known = ", ".join(g.id for g in goals) or "none"
            raise InvalidInput("goal", f"no shared goal {goal_id!r} (goals: {known})")
        if goal.metric != "won_amount":
            raise InvalidInput("goal", f"{goal_id!r} counts {goal.metric}, not won_amount")
    else:
        goal = next((g for g in goals if g.metric == "won_amount"), None)
        if goal is None:
            return None
    return Goal(goal.id, float(goal.target), goal.per,
                float(goal.target) * GOAL_PER_QUARTER[goal.per])


def _amendment_source(session: Session, actor: Actor,
                      agreement_id: int) -> agreements.VersionView:
    """The version `amend` copies: the latest signed one, else the latest."""
    versions = agreements.list_versions(session=session, actor=actor, agreement_id=agreement_id)
    if not versions:
        raise NotFound(f"no agreement with id {agreement_id}")
    signed = [v for v in versions if v.state in agreements.SIGNED_STATES]
    return max(signed, key=lambda v: v.signed_at) if signed else versions[-1]


def _mql_volume_index(document: sla.Document) -> int:
    """The position of the first volume commitment counting MQLs."""
    for index, commitment in enumerate(document.commitments):
        if isinstance(commitment, sla.VolumeCommitment) and commitment.stage == "mql":
            return index
    raise InvalidInput("commitments", "the agreement has no MQL volume commitment to set")


def _restated(monthly: int, per: str) -> int:
    """A monthly target per week (a quarter is 13 weeks, rounded up) or per quarter."""
    if per == "week":
        return planner.split_evenly(monthly * 3, WEEKS_PER_QUARTER)[0]
    return monthly * 3 if per == "quarter" else monthly


def _proposal_note(plan: dict, commitment: dict) -> str:
    """The comment that explains where the proposed target came from."""
    required = plan.get("required") or {}

    def shown(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int | float) else "?"

    return (f"Goal planner: {plan.get('quarter', 'the quarter')} revenue "
            f"{shown(plan.get('revenue'))} at an average won amount of "
            f"{shown(plan.get('avg_won'))} needs {shown(required.get('won'))} won deals and "
            f"{shown(required.get('mql'))} MQLs; proposed target {commitment['target']:,} per "
            f"{commitment['per']}.")
