"""Compliance with one SLA document: clocks, volume, acceptance, funnel, goals (DESIGN §4–§6).

Pure domain code: no streamlit, no database. Inputs are pandas frames:

- `leads`: id, source, external_id, the stage timestamps (`created_at` … `lost_at`, tz-aware UTC,
  NaT when the stage was not reached), owner, channel, segment, region, country, company, name,
  email, score, amount, recycled, attributes (dict) and disputed (an open dispute exists).
- `touches`: lead_id, at (tz-aware UTC), kind, rep, automated.
- `owner_changes` (optional): lead_id, at (tz-aware UTC), from_owner, to_owner: each lead's
  reassignments. `--by rep` counts a clock for the owner of the moment it stopped or breached
  (`OwnerHistory`); without a history, for the lead's `owner`.

Effective dating (DESIGN §4/§5): the commitment list, targets and the period's calendar come from
the document in force at the period's start; each lead's clock is measured against the signed
version in force at that clock's own start (`core.periods.in_force`). A what-if passes a
single draft document and no versions, so every lead is measured against the draft.
All business time comes from the vectorized `core.calendar.Clock` (no per-lead Python loop).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.agreement import (
    AcceptanceRateCommitment,
    AttemptsCommitment,
    Document,
    ResponseCommitment,
    VolumeCommitment,
    business_calendar,
    parse_within,
)
from core.calendar import NAT_NS, BusinessCalendar, Clock, instants_ns
from core.periods import InForce, Period, WorkingDays, elapsed_fraction, in_force

__all__ = [
    "BREAKDOWN_COLUMNS",
    "CLOCK_STATES",
    "LEAD_CLOCK_COLUMNS",
    "OwnerHistory",
    "clock_detail",
    "Evaluation",
    "clock_frame",
    "evaluate",
    "iso",
    "lead_clocks",
    "no_lead_clocks",
    "report",
]

STAGE_COLUMNS = {
    "created": "created_at",
    "mql": "mql_at",
    "sal": "accepted_at",
    "sql": "sql_at",
    "opportunity": "opportunity_at",
    "won": "won_at",
}
BREAKDOWN_COLUMNS = {"rep": "owner", "channel": "channel", "segment": "segment",
                     "region": "region"}
# Detail states: `overdue` is a breached clock that has not stopped; `at_risk` a pending one.
CLOCK_STATES = ("met", "breached", "overdue", "pending", "at_risk")
AT_RISK_SHARE = 0.25
AT_RISK_FLOOR_SECONDS = 3600
MET, BREACHED, OVERDUE, PENDING, AT_RISK = range(5)  # indices into CLOCK_STATES


# --- small helpers ---------------------------------------------------------------------------


def _stamp_ns(instant: pd.Timestamp) -> int:
    """Epoch ns of an aware instant."""
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise ValueError(f"instant {instant} has no time zone")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def iso(value: int | pd.Timestamp | None) -> str | None:
    """"YYYY-MM-DDTHH:MM:SSZ" of an instant (epoch ns or Timestamp), None when missing."""
    if value is None or (isinstance(value, int | np.integer) and value == NAT_NS):
        return None
    stamp = pd.Timestamp(int(value), tz="UTC") if isinstance(value, int | np.integer) else value
    if pd.isna(stamp):
        return None
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(part: float, whole: float) -> float | None:
    """part / whole as a percentage rounded to 2 decimals; None when whole is 0."""
    return round(part / whole * 100, 2) if whole else None


def _number(value: float) -> int | float:
    """A JSON-friendly number: whole values as int, others rounded to 2 decimals."""
    value = float(value)
    return int(round(value)) if value.is_integer() else round(value, 2)


def _median(values: np.ndarray, quantile: float = 0.5) -> int | None:
    """A quantile of business seconds as whole seconds; None for no values."""
    if values.size == 0:
        return None
    return int(round(float(np.quantile(values, quantile))))


def _in_range(ns: np.ndarray, start: int, end: int) -> np.ndarray:
    """Present instants in [start, end)."""
    return (ns != NAT_NS) & (ns >= start) & (ns < end)


def _by_as_of(ns: np.ndarray, as_of: int) -> np.ndarray:
    """The instants with those after as_of (and missing ones) set to NAT_NS."""
    return np.where((ns != NAT_NS) & (ns <= as_of), ns, NAT_NS)


def _missing(values: pd.Series) -> np.ndarray:
    """Missing values: None, NaN, NaT."""
    return values.isna().to_numpy()


def field_values(leads: pd.DataFrame, field: str) -> pd.Series:
    """A lead column, or else the attribute of that name (None where absent)."""
    if field in leads.columns and field != "attributes":
        return leads[field]
    if "attributes" not in leads.columns:
        return pd.Series([None] * len(leads), index=leads.index, dtype=object)
    return leads["attributes"].map(lambda item: item.get(field) if isinstance(item, dict) else None)


def _matches_filter(leads: pd.DataFrame, filters: dict | None) -> np.ndarray:
    """Leads matching every `field: value-or-list` of a volume or goal filter."""
    keep = np.ones(len(leads), dtype=bool)
    for field, wanted in (filters or {}).items():
        options = wanted if isinstance(wanted, list) else [wanted]
        keep &= field_values(leads, field).isin(options).to_numpy()
    return keep


# --- clocks ----------------------------------------------------------------------------------


class _Touches:
    """Non-automated touches sorted by (lead position, time), for first and N-th touch lookups."""

    def __init__(self, leads: pd.DataFrame, touches: pd.DataFrame, as_of: int) -> None:
        human = touches[~touches["automated"].fillna(False).astype(bool).to_numpy()]
        positions = pd.Index(leads["id"]).get_indexer(human["lead_id"])
        at = instants_ns(human["at"]) if len(human) else np.empty(0, dtype=np.int64)
        keep = (positions >= 0) & (at != NAT_NS) & (at <= as_of)
        positions, at = positions[keep].astype(np.int64), at[keep]
        if not _sorted_by_lead_and_time(positions, at):
            order = _by_lead_and_time(positions, at)
            positions, at = positions[order], at[order]
        self.positions, self.at = positions, at
        self.size = len(leads)

    def nth(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Per lead, the n-th (1-based) touch at or after its start, NAT_NS when there is none."""
        found = np.full(self.size, NAT_NS, dtype=np.int64)
        if self.at.size == 0:
            return found
        start = starts[self.positions]
        valid = (start != NAT_NS) & (self.at >= start)
        positions, at = self.positions[valid], self.at[valid]
        if positions.size == 0:
            return found
        index = np.arange(positions.size)
        first = np.r_[True, positions[1:] != positions[:-1]]
        rank = index - np.maximum.accumulate(np.where(first, index, 0))
        chosen = rank == n - 1
        found[positions[chosen]] = at[chosen]
        return found

    def count(self, starts: np.ndarray) -> np.ndarray:
        """Per lead, how many touches there are at or after its start (0 without a start)."""
        if self.at.size == 0:
            return np.zeros(self.size, dtype=np.int64)
        start = starts[self.positions]
        valid = (start != NAT_NS) & (self.at >= start)
        return np.bincount(self.positions[valid], minlength=self.size).astype(np.int64)


def _sorted_by_lead_and_time(positions: np.ndarray, at: np.ndarray) -> bool:
    """Whether touches already come ordered by lead, then time (as the database returns them)."""
    if positions.size < 2:
        return True
    step = np.diff(positions)
    return bool((step >= 0).all() and (np.diff(at)[step == 0] >= 0).all())


RUNS_MERGED = 64  # touches read in this many ordered slices are merged, not sorted afresh


def _by_lead_and_time(positions: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The order that sorts touches by lead, then time. Touches read in a few slices, each in
    (lead, time) order, need only their runs merged by lead (a stable sort of nearly sorted
    data is a merge); otherwise two stable sorts (faster than np.lexsort)."""
    if np.count_nonzero(positions[1:] < positions[:-1]) < RUNS_MERGED:
        order = np.argsort(positions, kind="stable")
        if _sorted_by_lead_and_time(positions[order], at[order]):
            return order
    by_time = np.argsort(at, kind="stable")
    return by_time[np.argsort(positions[by_time], kind="stable")]


class OwnerHistory:
    """The reassignments of the leads that have any, sorted by (lead position, time): who owned
    a lead at an instant. Owner changes never touch a clock; they only say whose clock it is
    under `--by rep` (see `clock_owners`)."""

    def __init__(self, positions: np.ndarray, at: np.ndarray, from_owner: np.ndarray,
                 to_owner: np.ndarray, size: int) -> None:
        self.positions, self.at = positions, at
        self.from_owner, self.to_owner = from_owner, to_owner
        self.has_history = np.zeros(size, dtype=bool)
        self.has_history[positions] = True

    @classmethod
    def of(cls, leads: pd.DataFrame, changes: pd.DataFrame | None) -> OwnerHistory | None:
        """The history of the leads (a 0-based frame) in `changes`; None when none of them has
        one, so that leads without a history cost nothing."""
        if changes is None or not len(changes) or not len(leads):
            return None
        positions = pd.Index(leads["id"]).get_indexer(changes["lead_id"])
        at = instants_ns(changes["at"])
        keep = (positions >= 0) & (at != NAT_NS)
        if not keep.any():
            return None
        positions, at = positions[keep].astype(np.int64), at[keep]
        order = np.lexsort((at, positions))  # stable: changes at one instant keep their order
        from_owner = changes["from_owner"].to_numpy(dtype=object)[keep][order]
        to_owner = changes["to_owner"].to_numpy(dtype=object)[keep][order]
        return cls(positions[order], at[order], from_owner, to_owner, len(leads))

    def owners_at(self, positions: np.ndarray, instants: np.ndarray) -> np.ndarray:
        """The owner of each (lead position, instant), for leads with a history: the new owner
        of the lead's last change at or before the instant, or the owner before its first
        change when the instant comes earlier."""
        changes = self.positions.size
        lead = np.concatenate([self.positions, positions])
        at = np.concatenate([self.at, instants])
        # Changes before queries at the same instant: a change at t already holds at t.
        is_query = np.r_[np.zeros(changes, dtype=np.int8), np.ones(positions.size, np.int8)]
        order = np.lexsort((is_query, at, lead))
        slot = np.arange(order.size)
        last = np.maximum.accumulate(np.where(order < changes, slot, -1))
        queries = order >= changes
        found = last[queries]
        change = np.where(found >= 0, order[np.maximum(found, 0)], 0)
        same_lead = (found >= 0) & (self.positions[change] == lead[order[queries]])
        first = np.searchsorted(self.positions, lead[order[queries]], side="left")
        owners = np.where(same_lead, self.to_owner[change], self.from_owner[first])
        result = np.empty(positions.size, dtype=object)
        result[order[queries] - changes] = owners
        return result


def _attributed(arrays: Mapping[str, np.ndarray], history: OwnerHistory | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The clock rows whose owner comes from the history, and those owners: a met clock is the
    owner's of the moment it stopped, a breached or overdue one the owner's of its due instant
    (when it breached, whoever stopped it later); a clock still running on time stays with the
    lead's current owner."""
    if history is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    position, state = arrays["position"], arrays["state"]
    instant = np.where(state == MET, arrays["stop"],
                       np.where((state == BREACHED) | (state == OVERDUE), arrays["due"], NAT_NS))
    rows = np.flatnonzero(history.has_history[position] & (instant != NAT_NS))
    return rows, history.owners_at(position[rows], instant[rows])


def _attempt_counts(commitment_id: str, arrays: Mapping[str, np.ndarray],
                    documents: Mapping[int, Document], default: Document,
                    touches: _Touches) -> tuple[np.ndarray, np.ndarray]:
    """Per clock row: the touches counted so far towards the attempts (those not automated, at
    or after the start, by as_of, up to the number required) and the number required by the
    version measured against; -1 for both where that version's commitment is not attempts."""
    required = np.full(arrays["position"].size, -1, dtype=np.int64)
    for number in np.unique(arrays["version"]):
        document = documents.get(int(number), default)
        commitment = next((c for c in clock_commitments(document) if c.id == commitment_id), None)
        if isinstance(commitment, AttemptsCommitment):
            required[arrays["version"] == number] = commitment.attempts
    done = np.full(required.shape, -1, dtype=np.int64)
    counted = required >= 0
    if counted.any():
        starts = np.full(touches.size, NAT_NS, dtype=np.int64)
        starts[arrays["position"][counted]] = arrays["start"][counted]
        done[counted] = np.minimum(touches.count(starts)[arrays["position"][counted]],
                                   required[counted])
    return done, required


class _Times:
    """Epoch-ns arrays of a lead frame's timestamp columns, converted once per report."""

    def __init__(self, leads: pd.DataFrame) -> None:
        self.leads = leads
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self._cache:
            self._cache[column] = instants_ns(self.leads[column])
        return self._cache[column]


def _stops(commitment: ResponseCommitment | AttemptsCommitment, times: _Times,
           starts: np.ndarray, touches: _Touches, as_of: int) -> np.ndarray:
    """Per lead, the clock's stop instant by as_of (NAT_NS when it has not stopped)."""
    if isinstance(commitment, AttemptsCommitment):
        return touches.nth(starts, commitment.attempts)
    if commitment.stop == "first_touch":
        return touches.nth(starts, 1)
    if commitment.stop == "accepted_or_rejected":
        accepted = _by_as_of(times["accepted_at"], as_of)
        rejected = _by_as_of(times["rejected_at"], as_of)
        big = np.iinfo(np.int64).max
        earliest = np.minimum(np.where(accepted == NAT_NS, big, accepted),
                              np.where(rejected == NAT_NS, big, rejected))
        event = np.where(earliest == big, NAT_NS, earliest)
    else:
        event = _by_as_of(times[STAGE_COLUMNS[commitment.stop]], as_of)
    # An event recorded before the clock's start counts as at the start.
    return np.where((event != NAT_NS) & (starts != NAT_NS), np.maximum(event, starts), NAT_NS)


# Commitments are measured at once from this many leads: numpy lets go of the GIL in the big
# array operations (searchsorted, sorting, arithmetic), so a second core shortens a year's
# report; a small window measures faster on one thread than threads start.
PARALLEL_FROM_LEADS = 50_000
MEASURING_THREADS = min(os.cpu_count() or 1, 4)
SUMMARY_COLUMNS = ("position", "state", "elapsed_seconds", "breach_seconds")
CLOCK_COLUMNS = ["position", "commitment", "start", "due", "stop", "state", "elapsed_seconds",
                 "budget_seconds", "breach_seconds"]


def _measure(commitments: list[ResponseCommitment | AttemptsCommitment],
             calendar: BusinessCalendar, times: _Times, touches: _Touches, as_of: int,
             eligible: dict[str, np.ndarray] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per commitment id, the clock arrays (`_clock_rows`) of the leads whose clock started by
    as_of (and, with `eligible`, whose start stage is marked there)."""
    starts_by_stage = {}
    for stage in {c.start for c in commitments}:
        ns = times[STAGE_COLUMNS[stage]]
        keep = (ns != NAT_NS) & (ns <= as_of)
        if eligible is not None:
            keep &= eligible[stage]
        starts_by_stage[stage] = np.where(keep, ns, NAT_NS)
    earliest = [int(ns[ns != NAT_NS].min()) for ns in starts_by_stage.values()
                if (ns != NAT_NS).any()]
    if not earliest:
        return {c.id: _no_clocks() for c in commitments}
    low = pd.Timestamp(min(earliest), tz="UTC") - timedelta(days=1)
    clock = Clock(calendar, low, pd.Timestamp(as_of, tz="UTC"))
    # The threads share `times` (a column two of them convert at once is converted twice, the
    # same) and `touches` and `clock`, which they only read.
    def clocks_of(commitment: ResponseCommitment | AttemptsCommitment) -> dict[str, np.ndarray]:
        starts_all = starts_by_stage[commitment.start]
        stops_all = _stops(commitment, times, starts_all, touches, as_of)
        positions = np.flatnonzero(starts_all != NAT_NS)
        return _clock_rows(commitment, clock, positions, starts_all[positions],
                           stops_all[positions], as_of)

    if len(commitments) < 2 or len(times.leads) < PARALLEL_FROM_LEADS:
        return {commitment.id: clocks_of(commitment) for commitment in commitments}
    with ThreadPoolExecutor(max_workers=MEASURING_THREADS) as pool:
        return dict(zip([c.id for c in commitments], pool.map(clocks_of, commitments),
                        strict=True))


def _no_clocks() -> dict[str, np.ndarray]:
    """The clock arrays of no lead."""
    return {name: np.empty(0, dtype=np.int64) for name in CLOCK_COLUMNS if name != "commitment"}


def _clock_table(measured: dict[str, dict[str, np.ndarray]], extra: tuple[str, ...] = ()
                 ) -> pd.DataFrame:
    """Clock arrays per commitment as one frame (commitments in the given order)."""
    columns = [*CLOCK_COLUMNS, *extra]
    parts = [pd.DataFrame({"commitment": commitment_id, **arrays})
             for commitment_id, arrays in measured.items() if arrays["position"].size]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object if name == "commitment" else np.int64)
                             for name in columns})
    return pd.concat(parts, ignore_index=True)[columns]


def clock_frame(document: Document, leads: pd.DataFrame, touches: pd.DataFrame,
                as_of: pd.Timestamp, *, calendar: BusinessCalendar | None = None) -> pd.DataFrame:
    """One row per lead and response/attempts commitment whose clock started by as_of.

    Columns: position (row number in `leads`), commitment, start, due, stop (int64 epoch ns,
    NAT_NS when missing), state (an index into CLOCK_STATES), elapsed_seconds (to the stop, or to
    as_of while running), budget_seconds, breach_seconds (-1 unless breached). Frames of several
    document versions (each with its own subset of leads) concatenate.
    """
    leads = leads.reset_index(drop=True)
    as_of_ns = _stamp_ns(as_of)
    measured = _measure(clock_commitments(document), calendar or business_calendar(document),
                        _Times(leads), _Touches(leads, touches, as_of_ns), as_of_ns)
    return _clock_table(measured)


def _clock_rows(commitment: ResponseCommitment | AttemptsCommitment, clock: Clock,
                positions: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                as_of: int) -> dict[str, np.ndarray]:
    """The states and business seconds of one commitment's clocks (vectorized): an array per
    `CLOCK_COLUMNS` name but `commitment`."""
    amount, unit = parse_within(commitment.within)
    if unit == "d":
        dues = clock.due_days(starts, amount)
        reachable = np.where(dues == NAT_NS, NAT_NS, np.minimum(dues, clock.end_ns))
        budgets = clock.elapsed(starts, reachable)
    else:
        seconds = amount * (60 if unit == "m" else 3600)
        dues = clock.due(starts, seconds)
        budgets = np.full(starts.shape, seconds, dtype=np.int64)
    stopped = stops != NAT_NS
    known_due = dues != NAT_NS
    ends = np.where(stopped, stops, as_of)
    elapsed = clock.elapsed(starts, ends)
    late = known_due & np.where(stopped, stops > dues, as_of > dues)
    # Business time left, needed only for clocks still running (a stopped one is met or
    # breached whatever it is): most clocks of a past period have stopped.
    running = ~stopped & known_due
    remaining = np.zeros(starts.shape, dtype=np.int64)
    remaining[running] = clock.elapsed(
        np.full(int(running.sum()), as_of, dtype=np.int64),
        np.minimum(np.maximum(dues[running], as_of), clock.end_ns))
    risky = running & (remaining < np.maximum(AT_RISK_SHARE * budgets, AT_RISK_FLOOR_SECONDS))
    state = np.select(
        [stopped & ~late, stopped & late, ~stopped & late, ~stopped & risky],
        [MET, BREACHED, OVERDUE, AT_RISK],
        default=PENDING,
    )
    breach = np.where(late, np.maximum(elapsed - budgets, 0), -1)
    return {
        "position": positions.astype(np.int64),
        "start": starts,
        "due": dues,
        "stop": stops,
        "state": state.astype(np.int64),
        "elapsed_seconds": elapsed.astype(np.int64),
        "budget_seconds": budgets.astype(np.int64),
        "breach_seconds": breach.astype(np.int64),
    }


def _clock_summary(commitment: ResponseCommitment | AttemptsCommitment,
                   rows: dict[str, np.ndarray], period_over: bool) -> dict:
    """The report fields of one clock commitment from its clock rows (column → array)."""
    state = rows["state"]
    counts = np.bincount(state, minlength=len(CLOCK_STATES))
    met = int(counts[MET])
    breached = int(counts[BREACHED] + counts[OVERDUE])
    stopped = (state == MET) | (state == BREACHED)
    elapsed = rows["elapsed_seconds"]
    breach = rows["breach_seconds"][state == BREACHED]
    compliance = _pct(met, met + breached)
    fields = {"id": commitment.id, "owner": commitment.owner, "kind": commitment.kind}
    if isinstance(commitment, AttemptsCommitment):
        fields["attempts"] = commitment.attempts
    amount, unit = parse_within(commitment.within)
    fields.update({
        "within": commitment.within,
        "within_seconds": None if unit == "d" else amount * (60 if unit == "m" else 3600),
        "target_pct": commitment.target_pct,
        "met": met,
        "breached": breached,
        "overdue": int(counts[OVERDUE]),
        "pending": int(counts[PENDING] + counts[AT_RISK]),
        "at_risk": int(counts[AT_RISK]),
        "compliance_pct": compliance,
        "median_seconds": _median(elapsed[stopped]),
        "p90_seconds": _median(elapsed[stopped], 0.9),
        "median_breach_seconds": _median(breach),
        "status": _pct_status(compliance, commitment.target_pct, period_over),
    })
    return fields


def _pct_status(value: float | None, target: float, period_over: bool) -> str:
    """met/missed once the period is over, on_track/at_risk while it runs, no_data without data."""
    if value is None:
        return "no_data"
    if period_over:
        return "met" if value >= target else "missed"
    return "on_track" if value >= target else "at_risk"


# --- volume and shared-goal targets -----------------------------------------------------------


def _target_fields(target: float, actual: float, fraction: float, period_over: bool) -> dict:
    """target, actual, attainment, expected-to-date, projection and status of a counted goal."""
    projected = actual / fraction if fraction > 0 else None
    if period_over:
        status = "met" if actual >= target else "missed"
    elif projected is None:
        status = "no_data"
    else:
        status = "on_track" if projected >= target else "at_risk"
    return {
        "target": _number(target),
        "actual": _number(actual),
        "attainment_pct": _pct(actual, target),
        "expected_to_date": _number(target * fraction),
        "projected": None if projected is None else _number(projected),
        "status": status,
    }


# --- criteria --------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def criterion_mask(values: pd.Series, op: str, wanted: Any) -> np.ndarray:
    """Which values meet `op wanted`; missing values fail every operator but `exists: false`."""
    missing = _missing(values)
    if op == "exists":
        return missing if wanted is False else ~missing
    if op in ("in", "not in"):
        numbers = [item for item in wanted if _is_number(item)]
        hit = values.isin(wanted).to_numpy()
        if numbers:
            hit = hit | pd.to_numeric(values, errors="coerce").isin(numbers).to_numpy()
        return ~missing & (hit if op == "in" else ~hit)
    if op == "contains":
        def contains(item: Any) -> bool:
            if isinstance(item, list | tuple | set):
                return wanted in item
            return str(wanted) in str(item)
        return ~missing & values.map(contains, na_action="ignore").fillna(False).to_numpy(bool)
    if _is_number(wanted):
        left = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(left)
        with np.errstate(invalid="ignore"):
            result = _compare(left, op, float(wanted))
        return present & result
    if isinstance(wanted, bool):
        equal = values.map(lambda item: item is wanted or item == wanted,
                           na_action="ignore").fillna(False).to_numpy(bool)
        return ~missing & (equal if op == "==" else ~equal)
    # Missing values as "" so that ordering compares text with text (they fail anyway)
    text = values.astype(object).where(~missing, "").astype(str).to_numpy()
    return ~missing & _compare(text, op, str(wanted))


def _compare(left: np.ndarray, op: str, right: Any) -> np.ndarray:
    """left op right elementwise."""
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == ">=":
        return left >= right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    if op == "<":
        return left < right
    raise ValueError(f"unknown operator {op!r}")


def _conforms(document: Document, leads: pd.DataFrame) -> np.ndarray:
    """Leads meeting every MQL criterion of the document."""
    keep = np.ones(len(leads), dtype=bool)
    for criterion in document.stages.mql.criteria:
        keep &= criterion_mask(field_values(leads, criterion.field), criterion.op, criterion.value)
    return keep


# --- the report ------------------------------------------------------------------------------


def clock_commitments(document: Document) -> list[ResponseCommitment | AttemptsCommitment]:
    """The document's response and attempts commitments (the ones with a clock)."""
    return [c for c in document.commitments
            if isinstance(c, ResponseCommitment | AttemptsCommitment)]


def _measured_clocks(document: Document, number: int | None, versions: list[InForce] | None,
                     times: _Times, touches: _Touches, as_of: int,
                     in_period: dict[str, np.ndarray], ids: list[str] | None = None
                     ) -> tuple[dict[str, Mapping[str, np.ndarray]], dict[str, int]]:
    """Per clock commitment of `document`, the arrays (`_clock_rows`, plus `version`: the number
    of the version measured against, -1 when unknown) of the clocks that start in the period,
    each measured against the version in force at its own start. With `versions`, a clock no
    version covers is not measured; `not_covered` counts them per commitment. Without
    (a what-if), `document` (numbered `number`) measures every clock. `ids`: the commitments
    measured (default: the clock commitments of `document`)."""
    ids = [c.id for c in clock_commitments(document)] if ids is None else ids
    governing = [(document, -1 if number is None else number)]
    governs: dict[str, np.ndarray] = {}
    if versions:
        governing += [(version.document, version.number) for version in versions]
        stages = {c.start for version in versions for c in clock_commitments(version.document)}
        stages |= {c.start for c in clock_commitments(document)}
        governs = {stage: in_force(times[STAGE_COLUMNS[stage]], versions) + 1
                   for stage in stages}  # 0: no version covers it
    not_covered = {c.id: int((in_period[c.start] & (governs[c.start] == 0)).sum()) if governs
                   else 0 for c in clock_commitments(document)}
    parts: dict[str, list[dict[str, np.ndarray]]] = {commitment_id: [] for commitment_id in ids}
    for index, (governing_document, version_number) in enumerate(governing):
        if governs and index == 0:
            continue  # uncovered clocks: counted, not measured against an unrelated version
        commitments = [c for c in clock_commitments(governing_document) if c.id in parts]
        eligible = {stage: in_period[stage] & (governs[stage] == index) if governs
                    else in_period[stage] for stage in {c.start for c in commitments}}
        if not commitments or not any(mask.any() for mask in eligible.values()):
            continue
        measured = _measure(commitments, business_calendar(governing_document), times, touches,
                            as_of, eligible)
        for commitment_id, arrays in measured.items():
            arrays["version"] = np.full(arrays["position"].size, version_number, dtype=np.int64)
            parts[commitment_id].append(arrays)
    return {commitment_id: _Joined(chunks) for commitment_id, chunks in parts.items()}, \
        not_covered


class _Joined(Mapping):
    """Clock arrays measured in chunks (one per version), each joined on first use: a summary
    reads four of the nine columns, so the rest are never copied."""

    def __init__(self, chunks: list[dict[str, np.ndarray]]) -> None:
        self._chunks = chunks or [{**_no_clocks(), "version": np.empty(0, dtype=np.int64)}]
        self._joined: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._joined:
            parts = [chunk[name] for chunk in self._chunks]
            self._joined[name] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self._joined[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._chunks[0])

    def __len__(self) -> int:
        return len(self._chunks[0])


class Evaluation:
    """Everything a report measures, per lead, computed once and aggregated per group.

    Public attributes for aggregates (core.dashboard): `leads` (0-based index), `stamps` (epoch
    ns per stage, events after as_of removed), `in_period` (per stage), `mql`, `accepted`,
    `rejected` (lead masks), `clock_arrays` (per clock commitment id: position, start, due,
    stop, state, elapsed_seconds, budget_seconds, breach_seconds, version), `calendar`,
    `period`, `as_of`, `fraction` (business time elapsed), `owner_history` (an OwnerHistory,
    None when no evaluated lead was ever reassigned). `clock_owners` says whose each clock is
    under `--by rep`, `attempts` how many attempts each clock has so far.
    """

    def __init__(self, document: Document, leads: pd.DataFrame, touches: pd.DataFrame,
                 period: Period, as_of: pd.Timestamp, *, agreement: dict | None = None,
                 versions: list[InForce] | None = None,
                 owner_changes: pd.DataFrame | None = None) -> None:
        self.agreement = agreement or {"id": None, "version": None, "title": document.title}
        number = self.agreement.get("version")
        self.document = document
        self.leads = leads.reset_index(drop=True)
        self.touches = touches
        self.versions = list(versions or [])
        self.owner_history = OwnerHistory.of(self.leads, owner_changes)
        self._attributions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._touch_index: _Touches | None = None
        self.period = period
        self.as_of = pd.Timestamp(as_of).tz_convert("UTC")
        self.period_over = self.as_of >= period.end
        self.calendar = business_calendar(document)
        as_of_ns = _stamp_ns(self.as_of)
        start_ns, end_ns = _stamp_ns(period.start), _stamp_ns(period.end)
        limit = min(end_ns, as_of_ns + 1)
        times = _Times(self.leads)
        self.stamps = {stage: _by_as_of(times[column], as_of_ns)
                       for stage, column in STAGE_COLUMNS.items()}
        self.rejected_ns = _by_as_of(times["rejected_at"], as_of_ns)
        self.in_period = {stage: _in_range(ns, start_ns, limit)
                          for stage, ns in self.stamps.items()}
        self.fraction = elapsed_fraction(self.calendar, period, self.as_of)
        self.days = WorkingDays(self.calendar, period)
        self.mql = self.in_period["mql"]
        self.clock_arrays, self.not_covered = _measured_clocks(
            document, number, versions, times, _Touches(self.leads, touches, as_of_ns),
            as_of_ns, self.in_period)
        self.volume_masks = {
            c.id: self.in_period[c.stage] & _matches_filter(self.leads, c.filter)
            for c in document.commitments if isinstance(c, VolumeCommitment)
        }
        accepted_ns, rejected_ns = self.stamps["sal"], self.rejected_ns
        has_accept, has_reject = accepted_ns != NAT_NS, rejected_ns != NAT_NS
        # When both happened the later event wins; a tie counts as accepted.
        self.accepted = self.mql & has_accept & (~has_reject | (accepted_ns >= rejected_ns))
        self.rejected = self.mql & has_reject & ~self.accepted
        self.goal_masks = {
            goal.id: self._goal_mask(goal.metric) & _matches_filter(self.leads, goal.filter)
            for goal in document.shared_goals
        }

    def _goal_mask(self, metric: str) -> np.ndarray:
        """Leads counted by a shared-goal metric in the period."""
        stage = {"won_amount": "won", "won_count": "won", "pipeline_amount": "opportunity",
                 "sql_count": "sql"}[metric]
        return self.in_period[stage]

    def commitments(self, mask: np.ndarray | None = None,
                    clock_masks: Mapping[str, np.ndarray] | None = None) -> list[dict]:
        """The commitment rows for all leads or a group (`mask` over lead rows); with
        `clock_masks` (per clock commitment id, a mask over its clock rows) a group's clocks
        are those rather than the clocks of its leads (`--by rep` with an owner history)."""
        rows = []
        for commitment in self.document.commitments:
            if isinstance(commitment, VolumeCommitment):
                counted = self.volume_masks[commitment.id]
                actual = int((counted if mask is None else counted & mask).sum())
                target = commitment.target * self.days.units(commitment.per)
                rows.append({"id": commitment.id, "owner": commitment.owner,
                             "kind": commitment.kind, "stage": commitment.stage,
                             "per": commitment.per,
                             **_target_fields(target, actual, self.fraction, self.period_over)})
            elif isinstance(commitment, AcceptanceRateCommitment):
                accepted = self.accepted if mask is None else self.accepted & mask
                rejected = self.rejected if mask is None else self.rejected & mask
                accepted_count, rejected_count = int(accepted.sum()), int(rejected.sum())
                pct = _pct(accepted_count, accepted_count + rejected_count)
                rows.append({"id": commitment.id, "owner": commitment.owner,
                             "kind": commitment.kind, "target_pct": commitment.target_pct,
                             "accepted": accepted_count, "rejected": rejected_count,
                             "acceptance_pct": pct,
                             "status": _pct_status(pct, commitment.target_pct, self.period_over)})
            else:
                clock_rows = self.clock_arrays[commitment.id]
                if mask is not None:
                    chosen = clock_masks[commitment.id] if clock_masks is not None \
                        else mask[clock_rows["position"]]
                    clock_rows = {name: clock_rows[name][chosen] for name in SUMMARY_COLUMNS}
                rows.append(_clock_summary(commitment, clock_rows, self.period_over))
        return rows

    def shared_goals(self) -> list[dict]:
        """The shared-goal rows."""
        amounts = pd.to_numeric(self.leads["amount"], errors="coerce").fillna(0).to_numpy(float)
        rows = []
        for goal in self.document.shared_goals:
            counted = self.goal_masks[goal.id]
            if goal.metric in ("won_amount", "pipeline_amount"):
                actual = float(amounts[counted].sum())
            else:
                actual = int(counted.sum())
            target = goal.target * self.days.units(goal.per)
            rows.append({"id": goal.id, "metric": goal.metric, "per": goal.per,
                         **_target_fields(target, actual, self.fraction, self.period_over)})
        return rows

    def funnel(self) -> dict:
        """The cohort of the period's MQLs: who reached SAL, SQL and won by as_of."""
        cohort = self.mql
        # SAL: accepted by as_of and not rejected afterwards (the later event wins).
        reached = {"sal": self.accepted,
                   **{stage: cohort & (self.stamps[stage] != NAT_NS) for stage in ("sql", "won")}}
        counts = {"mql": int(cohort.sum()),
                  **{stage: int(mask.sum()) for stage, mask in reached.items()}}

        def rate(part: str, whole: str) -> float | None:
            return round(counts[part] / counts[whole], 4) if counts[whole] else None

        def days(later: str, earlier: str) -> float | None:
            both = reached[later] & (self.stamps[earlier] != NAT_NS)
            if not both.any():
                return None
            gaps = (self.stamps[later][both] - self.stamps[earlier][both]) / (86_400 * 1e9)
            return round(float(np.median(gaps)), 2)

        return {**counts,
                "rates": {"mql_sal": rate("sal", "mql"), "sal_sql": rate("sql", "sal"),
                          "sql_won": rate("won", "sql")},
                "median_days": {"mql_sal": days("sal", "mql"), "sal_sql": days("sql", "sal"),
                                "sql_won": days("won", "sql")}}

    def quality(self) -> dict:
        """Conformance to the MQL definition, acceptance, rejection reasons, disputes, recycling."""
        mql = self.mql
        mql_leads = self.leads[mql]
        conforming = int(_conforms(self.document, mql_leads).sum()) if len(mql_leads) else 0
        reasons = (self.leads.loc[self.rejected, "rejection_reason"].fillna("unspecified")
                   .value_counts())
        disputed = self.leads["disputed"].fillna(False).to_numpy(bool)
        recycled = self.leads["recycled"].fillna(False).to_numpy(bool)
        return {
            "definition_conformance_pct": _pct(conforming, int(mql.sum())),
            "accepted": int(self.accepted.sum()),
            "rejected": int(self.rejected.sum()),
            "rejection_reasons": {str(k): int(v) for k, v in sorted(reasons.items())},
            "disputed": int((self.rejected & disputed).sum()),
            "recycled": int((mql & recycled).sum()),
        }

    def report(self, by: str | None = None) -> dict:
        """The DESIGN §6 `report --format json` object; in a period signed versions cover only
        in part, `not_covered` counts the clocks no version governs (left unmeasured)."""
        result = {
            "agreement": self.agreement,
            "period": {"start": iso(self.period.start), "end": iso(self.period.end)},
            "as_of": iso(self.as_of),
            "commitments": self.commitments(),
            "shared_goals": self.shared_goals(),
            "funnel": self.funnel(),
            "quality": self.quality(),
            "breakdown": self.breakdown(by) if by else [],
        }
        left_out = sum(self.not_covered.values())
        return {**result, "not_covered": left_out} if left_out else result

    def detail(self) -> pd.DataFrame:
        """One row per lead and clock commitment (DESIGN §6 `report --detail`)."""
        frame = _clock_table(self.clock_arrays, extra=("version",))
        rows = self.leads.iloc[frame["position"].to_numpy()]

        def stamps(column: str) -> pd.Series:
            values = frame[column].to_numpy()
            text = np.char.add(np.datetime_as_string(values.astype("datetime64[ns]"), unit="s"),
                               "Z")
            return pd.Series(np.where(values == NAT_NS, None, text.astype(object)), dtype=object)

        breach = frame["breach_seconds"].to_numpy()
        detail = pd.DataFrame({
            "external_id": rows["external_id"].to_numpy(),
            "source": rows["source"].to_numpy(),
            "commitment": frame["commitment"].to_numpy(),
            "state": np.asarray(CLOCK_STATES, dtype=object)[frame["state"].to_numpy()],
            "start": stamps("start"),
            "due": stamps("due"),
            "stopped_at": stamps("stop"),
            "elapsed_seconds": frame["elapsed_seconds"].to_numpy(),
            "breach_seconds": pd.array(np.where(breach >= 0, breach, 0), dtype="Int64"),
        })
        detail.loc[breach < 0, "breach_seconds"] = pd.NA
        version = frame["version"].to_numpy()
        detail["agreement_version"] = pd.array(np.where(version >= 0, version, 0), dtype="Int64")
        detail.loc[version < 0, "agreement_version"] = pd.NA
        return detail

    def breakdown(self, by: str) -> list[dict]:
        """One row per value of the grouping column (missing values group under None). By rep
        with an owner history, each clock counts for the owner `clock_owners` names; volume,
        acceptance and the other per-lead figures for the lead's current owner."""
        if by not in BREAKDOWN_COLUMNS:
            raise ValueError(f"cannot break down by {by!r}; use {', '.join(BREAKDOWN_COLUMNS)}")
        values = self.leads[BREAKDOWN_COLUMNS[by]]
        if by == "rep" and self.owner_history is not None:
            return self._rep_breakdown(values.to_numpy(dtype=object))
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        groups: list[tuple[Any, np.ndarray]] = [
            (uniques[code], codes == code) for code in range(len(uniques))
        ]
        if (codes == -1).any():
            groups.append((None, codes == -1))
        return [{by: _plain(value), "commitments": self.commitments(mask)}
                for value, mask in groups]

    def _rep_breakdown(self, owners: np.ndarray) -> list[dict]:
        """`--by rep` with an owner history: the groups are every current owner and every
        owner a clock is attributed to."""
        attributed = {commitment_id: self._attributed(commitment_id)
                      for commitment_id in self.clock_arrays}
        codes, uniques = pd.factorize(
            pd.Series(np.concatenate([owners, *(names for _, names in attributed.values())]),
                      dtype=object), sort=True, use_na_sentinel=True)
        lead_codes, offset = codes[:owners.size], owners.size
        clock_codes = {}
        for commitment_id, (rows, _) in attributed.items():
            per_clock = lead_codes[self.clock_arrays[commitment_id]["position"]]
            per_clock[rows] = codes[offset:offset + rows.size]
            offset += rows.size
            clock_codes[commitment_id] = per_clock
        listed = list(range(len(uniques))) + ([-1] if (codes == -1).any() else [])
        return [{"rep": None if code == -1 else _plain(uniques[code]),
                 "commitments": self.commitments(
                     lead_codes == code,
                     {commitment_id: per_clock == code
                      for commitment_id, per_clock in clock_codes.items()})}
                for code in listed]

    def _attributed(self, commitment_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The clock rows of a commitment whose owner the history decides, and those owners."""
        if commitment_id not in self._attributions:
            self._attributions[commitment_id] = _attributed(self.clock_arrays[commitment_id],
                                                            self.owner_history)
        return self._attributions[commitment_id]

    def clock_owners(self, commitment_id: str) -> np.ndarray:
        """Per clock row of a commitment, the rep it counts for under `--by rep`: the owner when
        it stopped (met) or breached (its due instant), the current owner while it runs on
        time or when the lead was never reassigned."""
        arrays = self.clock_arrays[commitment_id]
        owners = self.leads["owner"].to_numpy(dtype=object)[arrays["position"]]
        rows, names = self._attributed(commitment_id)
        owners[rows] = names
        return owners

    def attempts(self, commitment_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Per clock row of a commitment: the attempts counted so far (touches not automated,
        at or after the start, by as_of, up to the number required) and the number required
        (of the version the clock is measured against); -1 for both where that is not an
        attempts commitment."""
        if self._touch_index is None:
            self._touch_index = _Touches(self.leads, self.touches, _stamp_ns(self.as_of))
        return _attempt_counts(commitment_id, self.clock_arrays[commitment_id],
                               {version.number: version.document for version in self.versions},
                               self.document, self._touch_index)


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value."""
    return value.item() if isinstance(value, np.generic) else value


def evaluate(document: Document, leads: pd.DataFrame, touches: pd.DataFrame, period: Period,
             as_of: pd.Timestamp, *, agreement: dict | None = None,
             versions: list[InForce] | None = None,
             owner_changes: pd.DataFrame | None = None) -> Evaluation:
    """Measure the period once; read the report, the detail and chart aggregates from it.

    `document` is the version in force at the period's start (its commitments, targets and
    calendar frame the report); with `versions` (the agreement's signed versions in signing
    order) each clock is measured against the version in force at its own start.
    `owner_changes` (the leads' reassignments) decide whose each clock is under `--by rep`.
    """
    return Evaluation(document, leads, touches, period, as_of, agreement=agreement,
                      versions=versions, owner_changes=owner_changes)


def report(document: Document, leads: pd.DataFrame, touches: pd.DataFrame, period: Period,
           as_of: pd.Timestamp, *, by: str | None = None, agreement: dict | None = None,
           versions: list[InForce] | None = None,
           owner_changes: pd.DataFrame | None = None) -> dict:
    """The DESIGN §6 `report --format json` object (see `evaluate`)."""
    return evaluate(document, leads, touches, period, as_of, agreement=agreement,
                    versions=versions, owner_changes=owner_changes).report(by)


def clock_detail(document: Document, leads: pd.DataFrame, touches: pd.DataFrame, period: Period,
                 as_of: pd.Timestamp, *, agreement_version: int | None = None,
                 versions: list[InForce] | None = None) -> pd.DataFrame:
    """One row per lead and clock commitment of the period (DESIGN §6 `report --detail`), with
    the number of the version each clock was measured against (as in `report`)."""
    agreement = {"id": None, "version": agreement_version, "title": document.title}
    return evaluate(document, leads, touches, period, as_of, agreement=agreement,
                    versions=versions).detail()


LEAD_CLOCK_COLUMNS = ["lead_id", "commitment", "state", "start", "due", "stopped_at",
                      "business_seconds_left", "elapsed_seconds", "version", "owner",
                      "attempts_done", "attempts_required"]


def lead_clocks(leads: pd.DataFrame, touches: pd.DataFrame, as_of: pd.Timestamp,
                versions: list[InForce], *, owner_changes: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """Every clock of a few leads (a lead page's) that started by as_of, whatever its period:
    one row per lead and response/attempts commitment, each measured against the signed
    version in force at the clock's own start (a clock no version covers is left out).

    Columns (LEAD_CLOCK_COLUMNS): lead_id, commitment, state (a CLOCK_STATES name), start,
    due, stopped_at (aware UTC Timestamps, NaT when missing), business_seconds_left (budget
    minus elapsed: negative when late), elapsed_seconds, version (Int64), owner (the rep the
    clock counts for under `--by rep`), attempts_done and attempts_required (Int64, NA for a
    response commitment). Ordered by start, then by commitment as the versions list them."""
    leads = leads.reset_index(drop=True)
    as_of_ns = _stamp_ns(as_of)
    ids = list(dict.fromkeys(c.id for version in versions
                             for c in clock_commitments(version.document)))
    if not versions or not len(leads) or not ids:
        return no_lead_clocks()
    times = _Times(leads)
    touch_index = _Touches(leads, touches, as_of_ns)
    started = {stage: _by_as_of(times[column], as_of_ns) != NAT_NS
               for stage, column in STAGE_COLUMNS.items()}
    measured, _ = _measured_clocks(versions[0].document, None, versions, times, touch_index,
                                   as_of_ns, started, ids=ids)
    history = OwnerHistory.of(leads, owner_changes)
    lead_owners = leads["owner"].to_numpy(dtype=object)
    documents = {version.number: version.document for version in versions}
    frames = []
    for order, commitment_id in enumerate(ids):
        arrays = measured[commitment_id]
        if not arrays["position"].size:
            continue
        owners = lead_owners[arrays["position"]]
        rows, names = _attributed(arrays, history)
        owners[rows] = names
        done, required = _attempt_counts(commitment_id, arrays, documents,
                                         versions[0].document, touch_index)
        frames.append(pd.DataFrame({
            "lead_id": leads["id"].to_numpy()[arrays["position"]],
            "commitment": commitment_id,
            "state": np.asarray(CLOCK_STATES, dtype=object)[arrays["state"]],
            "start": _timestamps(arrays["start"]),
            "due": _timestamps(arrays["due"]),
            "stopped_at": _timestamps(arrays["stop"]),
            "business_seconds_left": arrays["budget_seconds"] - arrays["elapsed_seconds"],
            "elapsed_seconds": arrays["elapsed_seconds"],
            "version": _nullable(arrays["version"]),
            "owner": pd.Series(owners, dtype=object),
            "attempts_done": _nullable(done),
            "attempts_required": _nullable(required),
            "order": order,
        }))
    if not frames:
        return no_lead_clocks()
    clocks = pd.concat(frames, ignore_index=True).sort_values(["start", "order"], kind="stable")
    return clocks[LEAD_CLOCK_COLUMNS].reset_index(drop=True)


def _timestamps(ns: np.ndarray) -> pd.Series:
    """Epoch ns as aware UTC Timestamps, NaT for NAT_NS."""
    return pd.Series(pd.to_datetime(np.where(ns == NAT_NS, np.datetime64("NaT"),
                                             ns.astype("datetime64[ns]")), utc=True))


def _nullable(values: np.ndarray) -> pd.Series:
    """Whole numbers as Int64, NA where negative (the arrays' "none")."""
    return pd.Series(pd.array(np.where(values >= 0, values, 0), dtype="Int64")).mask(values < 0)


def no_lead_clocks() -> pd.DataFrame:
    """The lead_clocks frame of no clock."""
    dtypes = {"lead_id": "int64", "commitment": object, "state": object,
              "start": "datetime64[ns, UTC]", "due": "datetime64[ns, UTC]",
              "stopped_at": "datetime64[ns, UTC]", "business_seconds_left": "int64",
              "elapsed_seconds": "int64", "version": "Int64", "owner": object,
              "attempts_done": "Int64", "attempts_required": "Int64"}
    return pd.DataFrame({name: pd.Series(dtype=dtypes[name]) for name in LEAD_CLOCK_COLUMNS})
