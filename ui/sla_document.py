"""Render an SLA version so it reads like a document: definitions, both sides' commitments side
by side with their consequences, shared goals, the escalation ladder and the business calendar."""


import pandas as pd
import streamlit as st

from core import agreement as sla
from core import clock
from core.calendar import WEEKDAYS
from core.permissions import Role
from core.wording import DEFAULT_CURRENCY, money
from ui.text import code, literal, words

STAGE_LABELS = {"mql": "MQL", "sal": "SAL", "sql": "SQL"}
START_LABELS = {"created": "creation", "mql": "MQL", "sal": "acceptance (SAL)", "sql": "SQL"}
STOP_LABELS = {
    "first_touch": "First touch", "accepted_or_rejected": "Accept or reject",
    "sal": "Acceptance (SAL)", "sql": "SQL",
}
VOLUME_STAGES = {
    "created": "new leads", "mql": "MQLs", "sal": "SALs", "sql": "SQLs",
    "opportunity": "opportunities", "won": "won deals",
}
GOAL_METRICS = {
    "won_amount": "Won revenue", "won_count": "Won deals", "pipeline_amount": "Pipeline created",
    "sql_count": "SQLs",
}
OPERATORS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}
UNITS = {"m": "business minute", "h": "business hour", "d": "business day"}
SIDES = ("marketing", "sales")
RECIPIENTS = {
    "owner": "the lead's owner", "owner_team": "the owner's team",
    "sales_head": "the head of sales", "marketing_head": "the head of marketing",
    "exec": "the executives",
}


def budget(within: str) -> str:
    """'4h' -> '4 business hours'."""
    amount, unit = sla.parse_within(within)
    return f"{amount} {UNITS[unit]}{'s' if amount != 1 else ''}"


def number(value: float) -> str:
    """1000 -> '1,000'; 0.5 -> '0.5'."""
    return f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.2f}"


def describe_filter(filters: dict | None) -> str:
    """' (channel: paid_search or organic_search)' for a volume or goal filter."""
    if not filters:
        return ""
    parts = []
    for field, value in filters.items():
        values = value if isinstance(value, list) else [value]
        parts.append(f"{literal(field)}: {' or '.join(literal(v) for v in values)}")
    return f" ({'; '.join(parts)})"


def describe_commitment(commitment) -> str:
    """One commitment as a sentence a department head would sign."""
    if commitment.kind == "volume":
        return (f"Deliver **{number(commitment.target)} {VOLUME_STAGES[commitment.stage]}** per "
                f"{commitment.per}{describe_filter(commitment.filter)}.")
    if commitment.kind == "response":
        return (f"{STOP_LABELS[commitment.stop]} within **{budget(commitment.within)}** of "
                f"{START_LABELS[commitment.start]}, for **{number(commitment.target_pct)}%** "
                "of leads.")
    if commitment.kind == "attempts":
        return (f"At least **{commitment.attempts} contact attempts** within "
                f"**{budget(commitment.within)}**, for **{number(commitment.target_pct)}%** "
                "of leads (automated emails do not count).")
    return (f"At least **{number(commitment.target_pct)}%** of MQLs accepted by sales "
            "(accepted ÷ accepted + rejected).")


def describe_criterion(criterion) -> str:
    """'score ≥ 60', 'channel in paid_search, organic_search', 'email exists'."""
    field, op, value = criterion.field, criterion.op, criterion.value
    if op == "exists":
        return f"{code(field)} {'is present' if value else 'is missing'}"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"{code(field)} {OPERATORS.get(op, op)} {literal(value)}"


def describe_goal(goal, currency: str = DEFAULT_CURRENCY) -> str:
    """'Won revenue: $500,000 per quarter' (amounts in `currency`)."""
    target = money(goal.target, currency) if goal.metric.endswith("amount") else \
        number(goal.target)
    return (f"{GOAL_METRICS[goal.metric]}: **{literal(target)}** per {goal.per}"
            f"{describe_filter(goal.filter)}")


def describe_recipient(recipient: str) -> str:
    """'owner' -> "the lead's owner", 'team:Inbound East' -> 'the Inbound East team',
    'role:sales_rep' -> 'every sales rep'."""
    kind, name = sla.recipient_kind(recipient)
    if kind == "team":
        return f"the {literal(name)} team"
    if kind == "role":
        return f"every {Role(name).label.lower()}"
    return RECIPIENTS[kind]


def describe_escalation(rule: sla.Escalation) -> str:
    """One escalation rule as a sentence: '**Back to pool** · First touch overdue by 2
    business days → tell the lead's owner and the head of sales; reassign round robin within
    the owner's team'."""
    clock = literal(words(rule.commitment))
    if rule.trigger == "at_risk":
        when = f"{clock} at risk"
    else:
        when = f"{clock} overdue" + (f" by **{budget(rule.after)}**" if rule.after else "")
    *others, last = [describe_recipient(recipient) for recipient in rule.notify]
    then = f"tell {', '.join(others)} and {last}" if others else f"tell {last}"
    if rule.action is not None:
        then += f"; reassign round robin within {describe_recipient(rule.action.reassign)}"
    urgent = " · urgent: ignores working and quiet hours" if rule.urgent else ""
    return f"**{literal(words(rule.id))}** · {when} → {then}{urgent}"


def render_document(document: sla.Document, currency: str = DEFAULT_CURRENCY) -> None:
    """The whole agreement, as a document (amounts in `currency`)."""
    st.subheader(literal(document.title))
    st.caption(
        f"In force from {document.effective.start:%d %b %Y} until {document.effective.end:%d %b %Y}"
        f" (exclusive). Business time is measured in {document.calendar.timezone}."
    )
    _render_definitions(document)
    _render_commitments(document)
    _render_goals(document, currency)
    _render_escalations(document)
    _render_calendar(document)


def _render_definitions(document: sla.Document) -> None:
    st.markdown("#### What counts as a lead")
    for key, label in STAGE_LABELS.items():
        stage = getattr(document.stages, key, None)
        if stage is None:
            continue
        st.markdown(f"**{label}** — {literal(stage.description or '(no description)')}")
        if stage.criteria:
            st.markdown("\n".join(f"- {describe_criterion(c)}" for c in stage.criteria))
    if document.rejection_reasons:
        st.markdown("**Reasons sales may give to reject a lead:** "
                    + ", ".join(literal(words(r)) for r in document.rejection_reasons))


def _render_commitments(document: sla.Document) -> None:
    st.markdown("#### Commitments")
    columns = st.columns(2, border=True)
    for column, side in zip(columns, SIDES, strict=True):
        with column:
            st.markdown(f"**{side.title()} commits to**")
            mine = [c for c in document.commitments if c.owner == side]
            for commitment in mine:
                st.markdown(f"- **{literal(words(commitment.id))}** — "
                            f"{describe_commitment(commitment)}")
                if commitment.description:
                    st.caption(literal(commitment.description))
            if not mine:
                st.caption("No commitments for this side.")
            consequence = getattr(document.consequences, side, None) if document.consequences \
                else None
            if consequence:
                st.markdown(f"*If {side} misses:* {literal(consequence)}")


def _render_goals(document: sla.Document, currency: str) -> None:
    st.markdown("#### Shared goals")
    if not document.shared_goals:
        st.caption("No shared goals.")
    for goal in document.shared_goals:
        st.markdown(f"- **{literal(words(goal.id))}** — {describe_goal(goal, currency)}")


def _render_escalations(document: sla.Document) -> None:
    if not document.escalations:
        return
    st.markdown("#### Escalations")
    st.caption("Handoff carries these out for each lead, in business time.")
    st.markdown("\n".join(f"- {describe_escalation(rule)}" for rule in document.escalations))


def _render_calendar(document: sla.Document) -> None:
    calendar = document.calendar
    st.markdown("#### Business calendar")
    hours = pd.DataFrame(
        {
            "Day": [day.title() for day in WEEKDAYS],
            "Working hours": [
                ", ".join(f"{start}–{end}" for start, end in calendar.hours.get(day, ()))
                or "closed"
                for day in WEEKDAYS
            ],
        }
    )
    left, right = st.columns(2)
    left.dataframe(hours, hide_index=True, width="stretch")
    holidays = calendar.holidays
    with right:
        st.markdown(f"**Time zone:** {calendar.timezone}")
        if holidays and holidays.country:
            region = f"{holidays.country}" + (f"-{holidays.subdivision}"
                                              if holidays.subdivision else "")
            st.markdown(f"**Public holidays:** {literal(region)}")
        if holidays and holidays.dates:
            st.markdown("**Extra closures:** "
                        + ", ".join(f"{d:%d %b %Y}" for d in holidays.dates))
    with st.expander("Working windows of the next 14 days"):
        preview = sla.business_calendar(document).preview(clock.now(), days=14)
        st.markdown("\n".join(f"- {day.label()}" for day in preview))
