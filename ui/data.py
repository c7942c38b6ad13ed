"""Dashboard data for pages: each period measured once per data version, minute and filters.

`st.cache_resource` keeps the `Evaluation` object itself (no pickling of a million-lead frame);
the key holds the data version, which changes on every import, touch, lead decision and agreement
change, so nobody sees numbers older than the data.
"""

from datetime import timedelta

import pandas as pd
import streamlit as st

from core import clock, compliance, dashboard
from core.errors import InvalidInput
from core.services import Actor, dashboards, reports
from db.engine import get_engine, get_session


def data_version() -> str:
    """The current data version (a cheap query, not cached), prefixed by the database it is of:
    caches are per process, and a process may see several databases (tests do)."""
    with get_session() as session:
        return f"{get_engine().url}|{dashboards.data_version(session=session)}"


def as_of() -> str:
    """The instant dashboards measure at: the page's `?as_of=` (a reproducible view, read in the
    calendar zone when naive), else the end of the current minute: stable for a minute of
    reruns (so the cache serves them), and late enough to count a touch logged just now."""
    if pinned := st.query_params.get("as_of"):
        return pinned
    minute = clock.now().replace(second=0, microsecond=0)
    return (minute + timedelta(minutes=1)).isoformat()


def current_period(as_of: str, *, actor: Actor) -> str:
    """The month holding as_of in the agreement's zone ("2026-11"); the UTC month when no
    agreement is signed yet (the page then says so)."""
    try:
        with get_session() as session:
            return reports.current_month(session=session, actor=actor, as_of=as_of)
    except InvalidInput:
        return f"{pd.Timestamp(as_of):%Y-%m}"


@st.cache_data(max_entries=4, show_spinner=False)
def filter_options(version: str, *, _actor: Actor) -> dict[str, list[str]]:
    """The values each dashboard filter can take (cached per data version)."""
    del version  # part of the cache key only
    with get_session() as session:
        return dashboards.filter_options(session=session, actor=_actor)


@st.cache_resource(max_entries=6, show_spinner="Reading the period's leads…")
def period_data(version: str, period: str, as_of: str, *, _actor: Actor
                ) -> tuple[reports.ReportScope, pd.DataFrame, pd.DataFrame]:
    """The period's scope, leads and touches, read once per data version (filters, what-ifs
    and clock commitments are all measured from this in memory)."""
    del version  # part of the cache key only
    with get_session() as session:
        scope = reports.report_scope(session=session, actor=_actor, period=period, as_of=as_of)
        leads, touches = dashboards.load(session=session, actor=_actor, scope=scope)
    return scope, leads, touches


@st.cache_resource(max_entries=16, show_spinner="Measuring compliance…")
def evaluation(version: str, period: str, as_of: str, filters: tuple[tuple[str, str], ...] = (),
               what_if: int | None = None, *, _actor: Actor) -> compliance.Evaluation:
    """The period measured (cached per data version, period, as_of, filters and what-if)."""
    scope, leads, touches = period_data(version, period, as_of, _actor=_actor)
    document = None
    if what_if is not None:
        with get_session() as session:
            document = reports.version_document(session=session, actor=_actor,
                                                   agreement_id=scope.agreement_id,
                                                   number=what_if)
    return dashboards.measure(scope, leads, touches, dashboards.Filters(filters), document,
                              what_if)


@st.cache_resource(max_entries=32, show_spinner=False)
def report(version: str, period: str, as_of: str, filters: tuple[tuple[str, str], ...] = (),
           what_if: int | None = None, *, _actor: Actor) -> dict:
    """The period's report object (as `report --format json` prints it), cached likewise."""
    return evaluation(version, period, as_of, filters, what_if, _actor=_actor).report()


@st.cache_resource(max_entries=32, show_spinner=False)
def chart_frames(version: str, period: str, as_of: str, filters: tuple[tuple[str, str], ...],
                 commitment: str | None, *, _actor: Actor) -> dict[str, pd.DataFrame | None]:
    """The dashboard's chart frames, cached likewise (and per clock commitment)."""
    measured = evaluation(version, period, as_of, filters, _actor=_actor)
    return dashboard.chart_frames(measured, report(version, period, as_of, filters,
                                                   _actor=_actor), commitment)


def previous_report(version: str, period: str, as_of: str,
                    filters: tuple[tuple[str, str], ...] = (), *, actor: Actor) -> dict | None:
    """The report of the period before (for trends), or None when it cannot be measured."""
    try:
        return report(version, compliance.previous_period(period), as_of, filters, _actor=actor)
    except (ValueError, InvalidInput):
        return None


@st.cache_resource(max_entries=32, show_spinner="Finding the leads that breach next…")
def worklist(version: str, as_of: str, username: str, *, _actor: Actor) -> pd.DataFrame:
    """The actor's open clocks, most urgent first (cached per data version, minute and user)."""
    del version, username  # part of the cache key only
    with get_session() as session:
        return dashboards.worklist(session=session, actor=_actor, as_of=as_of)
