"""What the pages show, from the one read side (core.services.measurement), kept warm.

Each process keeps one `RowCache`: a period's leads and touches are read from the database once,
then refreshed by what changed since (an import, a touch, a decision), never read whole again.
Measured periods are cached under the rows' revision, the agreement versions in force, as_of,
the filters and the what-if, so a rerun, a second visitor or another filter is served from
memory, and nobody sees numbers older than the data.
"""

from dataclasses import dataclass
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from core import agreement as sla
from core import clock, compliance, dashboard, periods, services
from core.errors import InvalidInput
from core.services import Actor, measurement, sync
from ui import charts
from ui.services import call, database
from ui.text import literal, local_time

Filters = tuple[tuple[str, str], ...]


def data_version() -> str:
    """A token of the data now (a cheap query, not cached), prefixed by the database it is of:
    caches are per process, and a process may see several databases (tests do)."""
    return f"{database()}|{call(measurement.data_version)}"


def as_of() -> str:
    """The instant pages measure at: the page's `?as_of=` (a reproducible view, read in the
    calendar zone when naive), else the end of the current minute: stable for a minute of
    reruns (so the cache serves them), and late enough to count a touch logged just now."""
    if pinned := st.query_params.get("as_of"):
        try:
            measurement.instant(pinned, "UTC")
        except InvalidInput as error:
            st.warning(f"The address's as_of: {literal(error.message)}. The page shows now "
                       "instead.", icon=":material/schedule:")
        else:
            return pinned
    minute = clock.now().replace(second=0, microsecond=0)
    return (minute + timedelta(minutes=1)).isoformat()


def people(*, actor: Actor) -> dict[str, str]:
    """People's names by username, to show a name where the data holds a username. Read on
    every run (a few dozen rows): a name changed on another replica shows at once."""
    return call(services.people_names, actor=actor)


def currency(*, actor: Actor) -> str:
    """The workspace's currency (ISO 4217 code) for amounts, read on every run (one row), so
    that every replica shows the one an admin set a moment ago."""
    return call(services.currency, actor=actor)


def zone(*, actor: Actor) -> str:
    """The agreement calendar's time zone, in which pages tell times (UTC before any SLA)."""
    try:
        return call(measurement.context, actor=actor).timezone
    except InvalidInput:
        return "UTC"


def freshness(*, actor: Actor) -> str:
    """When the data was last refreshed and from where: " · data as of 2026-12-03 10:42 EST,
    HubSpot" ("" before any import or sync)."""
    found = call(sync.data_freshness, actor=actor)
    return f" · data as of {local_time(found.at, zone(actor=actor))}, {found.source}" \
        if found else ""


def current_period(as_of: str, *, actor: Actor) -> str:
    """The month holding as_of in the agreement's zone ("2026-11"); the UTC month when no
    agreement is signed yet (the page then says so)."""
    try:
        return call(measurement.current_month, actor=actor, as_of=as_of)
    except InvalidInput:
        return periods.month_of(pd.Timestamp(as_of))


measurement.start_reader()  # a serving process's reader starts with its first page


@st.cache_resource(show_spinner=False)
def _row_cache() -> measurement.RowCache:
    """This process's rows, per database, window and owner."""
    return measurement.RowCache(size=8)


@dataclass(frozen=True)
class _Measured:
    """A scope and its rows, current now, with the key their evaluation is cached under."""

    scope: measurement.Scope
    rows: measurement.Rows
    document: sla.Document | None
    key: tuple


def _measured(period: str, as_of: str, what_if: int | None, actor: Actor) -> _Measured:
    return call(_read, period=period, as_of=as_of, what_if=what_if, actor=actor)


def _read(*, session, period: str, as_of: str, what_if: int | None, actor: Actor) -> _Measured:
    """The scope (a what-if may measure a period no signed version covers) and its rows."""
    scope = measurement.scope(session=session, actor=actor, period=period, as_of=as_of,
                              require_cover=what_if is None)
    rows = _scope_rows(session, period, scope)
    document = None if what_if is None else measurement.version_document(
        session=session, actor=actor, agreement_id=scope.agreement_id, number=what_if)
    return _Measured(scope, rows, document, _key(scope, rows, document))


def _period_rows(*, session, period: str, as_of: str, actor: Actor) -> measurement.Rows:
    """A period's rows, whether or not a signed version covers it."""
    scope = measurement.scope(session=session, actor=actor, period=period, as_of=as_of,
                              require_cover=False)
    return _scope_rows(session, period, scope)


def _scope_rows(session, period: str, scope: measurement.Scope) -> measurement.Rows:
    return _row_cache().rows(session, scope.period,
                             widen_to=_with_the_period_before(period, scope),
                             columns=measurement.page_columns(session=session,
                                                              agreement_id=scope.agreement_id))


def _with_the_period_before(period: str, scope: measurement.Scope) -> periods.Period | None:
    """The period and the one before it, read at once: pages show both (trends)."""
    try:
        before = periods.parse_period(periods.previous_period(period), scope.timezone)
    except ValueError:
        return None
    return periods.Period(min(before.start, scope.period.start), scope.period.end)


def _key(scope: measurement.Scope, rows: measurement.Rows,
         document: sla.Document | None) -> tuple:
    """What an evaluation depends on: the database, the rows as they are, the signed versions
    (which never change once signed), as_of, and the what-if document's content."""
    signed = tuple(version.number for version in scope.versions)
    what_if = None if document is None else sla.canonical_sha256(sla.to_dict(document))
    return (database(), scope.agreement_id, signed, scope.timezone, rows.content,
            str(scope.as_of), what_if)


def evaluation(period: str, as_of: str, filters: Filters = (), what_if: int | None = None, *,
               actor: Actor) -> compliance.Evaluation:
    """The period measured (what-if: every lead against that version)."""
    measured = _measured(period, as_of, what_if, actor)
    return _evaluation(measured.key, filters, what_if, _measured=measured)


@st.cache_resource(max_entries=16, show_spinner="Measuring compliance…")
def _evaluation(key: tuple, filters: Filters, what_if: int | None, *,
                _measured: _Measured) -> compliance.Evaluation:
    del key  # the cache key only
    return measurement.evaluate(_measured.scope, _measured.rows,
                                measurement.Filters(filters), _measured.document, what_if)


def report(period: str, as_of: str, filters: Filters = (), what_if: int | None = None, *,
           actor: Actor) -> dict:
    """The period's report object (as `report --format json` prints it)."""
    measured = _measured(period, as_of, what_if, actor)
    return _report(measured.key, filters, what_if, _measured=measured)


@st.cache_resource(max_entries=32, show_spinner=False)
def _report(key: tuple, filters: Filters, what_if: int | None, *,
            _measured: _Measured) -> dict:
    return _evaluation(key, filters, what_if, _measured=_measured).report()


def dashboard_charts(period: str, as_of: str, filters: Filters, commitment: str | None,
                     what_if: int | None = None, *, actor: Actor
                     ) -> dict[str, tuple[pd.DataFrame, alt.TopLevelMixin] | None]:
    """Each dashboard chart with its frame (None: the agreement has no clock commitment), built
    once per measured period: a rerun draws the same charts without building them again."""
    measured = _measured(period, as_of, what_if, actor)
    names = tuple(sorted(people(actor=actor).items()))
    return _dashboard_charts(measured.key, filters, commitment, what_if, names,
                             currency(actor=actor), _measured=measured)


@st.cache_resource(max_entries=32, show_spinner=False)
def _dashboard_charts(key: tuple, filters: Filters, commitment: str | None,
                      what_if: int | None, names: tuple[tuple[str, str], ...],
                      money_in: str, *, _measured: _Measured
                      ) -> dict[str, tuple[pd.DataFrame, alt.TopLevelMixin] | None]:
    report = _report(key, filters, what_if, _measured=_measured)
    frames = dashboard.chart_frames(_evaluation(key, filters, what_if, _measured=_measured),
                                    report, commitment)
    target_pct = next((c["target_pct"] for c in report["commitments"]
                       if c["id"] == commitment), None)
    return {name: None if frame is None else
            (frame, charts.dashboard_chart(name, frame, commitment, target_pct, dict(names),
                                           money_in))
            for name, frame in frames.items()}


def working_days_so_far(period: str, as_of: str, *, actor: Actor) -> int:
    """The period's working days up to as_of (today included) on the agreement's calendar."""
    measured = _measured(period, as_of, None, actor)
    evaluation = _evaluation(measured.key, (), None, _measured=measured)
    return periods.working_days_so_far(evaluation.calendar, evaluation.period, evaluation.as_of)


def previous_report(period: str, as_of: str, filters: Filters = (), *,
                    actor: Actor) -> dict | None:
    """The report of the period before (for trends), or None when it cannot be measured."""
    try:
        return report(periods.previous_period(period), as_of, filters, actor=actor)
    except (ValueError, InvalidInput):
        return None


def worklist(as_of: str, *, actor: Actor) -> pd.DataFrame:
    """The actor's open clocks, most urgent first."""
    measured = call(_read_worklist, as_of=as_of, actor=actor)
    return _worklist(measured.key, _measured=measured)


def _read_worklist(*, session, as_of: str, actor: Actor) -> _Measured:
    scope = measurement.worklist_scope(session=session, actor=actor, as_of=as_of)
    window = measurement.worklist_window(scope.as_of, scope.timezone)
    rows = _row_cache().rows(session, window, measurement.worklist_owner(actor))
    return _Measured(scope, rows, None, _key(scope, rows, None))


@st.cache_resource(max_entries=32, show_spinner="Finding the leads that breach next…")
def _worklist(key: tuple, *, _measured: _Measured) -> pd.DataFrame:
    return measurement.open_clocks(_measured.scope, _measured.rows)


def filter_options(period: str, as_of: str, *, actor: Actor) -> dict[str, list[str]]:
    """The values each dashboard filter can take in the period (none for a period that cannot
    be read: the page says why when it measures it)."""
    try:
        rows = call(_period_rows, period=period, as_of=as_of, actor=actor)
    except InvalidInput:
        return {name: [] for name in measurement.FILTERS}
    return _filter_options(database(), rows.content, _rows=rows)


@st.cache_data(max_entries=8, show_spinner=False)
def _filter_options(*key, _rows: measurement.Rows) -> dict[str, list[str]]:
    del key  # the cache key only
    return measurement.filter_options(_rows)


# --- what the pages show, from the measured periods -------------------------------------------

DRILL_LIMIT = dashboard.DRILL_LIMIT


def leads_behind(evaluation: compliance.Evaluation, chart: str, pick: dict, *,
                 actor: Actor) -> pd.DataFrame:
    """The leads behind a mark picked on a chart (the DRILL_LIMIT newest; attrs["total"])."""
    return call(measurement.leads_behind, actor=actor, evaluation=evaluation, chart=chart,
                pick=pick)


def what_if_comparison(period: str, as_of: str, filters: Filters, version: int, *,
                       actor: Actor) -> pd.DataFrame:
    """Each commitment of the period as the signed versions measured it beside version
    `version`'s measure."""
    return dashboard.compare_reports(report(period, as_of, filters, actor=actor),
                                     report(period, as_of, filters, version, actor=actor))


def rep_versus_team(as_of: str, *, actor: Actor) -> pd.DataFrame:
    """The rep's clock commitments this month beside the team's."""
    month = evaluation(current_period(as_of, actor=actor), as_of, actor=actor)
    return dashboard.rep_versus_team(month, actor.username)


def draft_versions(agreement_id: int, *, actor: Actor) -> list[int]:
    """The agreement's versions not signed yet (what-if candidates), newest first."""
    return call(measurement.draft_versions, actor=actor, agreement_id=agreement_id)
