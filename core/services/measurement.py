"""The one read side: a scope (agreement, period, as_of) → the rows it needs → the evaluation
every figure comes from.

Every reader asks this module: the report and its detail, what-if, the dashboards and the home
scorecard, the worklist, the quarterly review and the planner's history. It is the only caller
of `core.compliance.evaluate` and the only loader of leads and touches for measuring.

- `scope` resolves the agreement (the only signed one by default), the period (read in the
  calendar zone of its latest signed version), as_of, and the version in force at the period's
  start. A period no signed version covers is refused (`NotCovered`) with the versions that
  exist and their effective dates; a what-if can still measure it.
- `read_rows` reads a window's leads (any stage timestamp inside it), all their touches and
  their owner history (who owned a lead when: `--by rep` counts each clock for the owner of
  the moment it stopped or breached);
  `refresh` brings rows up to date by reading only what changed since (db.changes), and
  `RowCache` keeps one set of rows per window and owner for a process.
- `evaluate` measures rows under a scope: the filtered leads under the signed versions (each
  clock against the version in force at its start), or all of them under a what-if document.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from core import agreement as sla
from core import clock, compliance, dashboard, gc_pause, limits, periods
from core.errors import InvalidInput, NotFound
from core.periods import InForce, Period
from core.permissions import Action, Role, require
from core.services.accounts import Actor
from core.services.agreements import SIGNED_STATES
from db import changes, columnar
from db.models import AgreementVersion, AuditEvent, Dispute, Lead, LeadOwnerChange, Touch

LEAD_COLUMNS = [
    "id", "source", "external_id", "created_at", "mql_at", "accepted_at", "rejected_at",
    "rejection_reason", "sql_at", "opportunity_at", "won_at", "lost_at", "owner", "channel",
    "segment", "region", "country", "company", "name", "email", "score", "amount", "recycled",
    "attributes",
]
# What a report measures: the stages, the breakdowns and filters, and what definitions test by
# default. A report also reads every lead column an agreement version names (a criterion's
# field, a filter's key); the detail, the drill-downs and the pages read them all.
REPORT_COLUMNS = [
    "id", "created_at", "mql_at", "accepted_at", "rejected_at", "rejection_reason", "sql_at",
    "opportunity_at", "won_at", "lost_at", "owner", "channel", "segment", "region", "score",
    "amount", "recycled", "attributes",
]
# What measuring needs of a touch (its kind and rep are never measured: reading them cost a
# year's report a second). ix_touches_lead_columns holds them (with the row id): a window's
# touches are read from the index alone.
TOUCH_COLUMNS = ["id", "lead_id", "at", "automated"]
# What attributing a clock to a rep needs of a lead's owner history (core.compliance).
OWNER_CHANGE_COLUMNS = ["lead_id", "at", "from_owner", "to_owner"]
STAGE_COLUMNS = ["created_at", "mql_at", "accepted_at", "rejected_at", "sql_at",
                 "opportunity_at", "won_at"]
FILTERS = compliance.BREAKDOWN_COLUMNS  # rep → owner, channel, segment, region
WORKLIST_DAYS = 30
WHOLE_SCAN_SHARE = 0.75  # a window holding more of the leads reads every touch in one pass
OPEN_ENDED = pd.Timestamp(f"{limits.DATE_LAST_YEAR}-01-01", tz="UTC")


class AmbiguousAgreement(ValueError):
    """Several agreements have signed versions and none was named (a usage error)."""


class NotCovered(InvalidInput):
    """No signed version covers the period: nothing can be measured against the agreement.
    `versions` lists the signed versions there are, (number, effective start, end), to offer a
    what-if against one of them."""

    def __init__(self, period: str, versions: list[InForce]) -> None:
        listed = "; ".join(f"version {v.number} is in force from {v.document.effective.start} "
                           f"to {v.document.effective.end}" for v in versions)
        super().__init__("period", f"no signed version covers {period} ({listed}); measure it "
                                   "against a version with a what-if instead (report --what-if N)")
        self.period = period
        self.versions = [(v.number, v.document.effective.start, v.document.effective.end)
                         for v in versions]


# --- scopes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementContext:
    """An agreement's signed versions (in signing order), the zone its periods are read in (its
    latest signed version's), and as_of."""

    agreement_id: int
    versions: tuple[InForce, ...]
    timezone: str
    as_of: pd.Timestamp

    def local(self, instant: pd.Timestamp) -> pd.Timestamp:
        """An instant in the agreement's calendar zone."""
        return instant.tz_convert(self.timezone)


@dataclass(frozen=True)
class Scope:
    """What a measurement covers: the agreement and its version in force at the period's start
    (commitments, targets, calendar), every signed version (each clock is measured against the
    one in force at its own start), the period and as_of."""

    agreement_id: int
    version: int
    document: sla.Document
    period: Period
    as_of: pd.Timestamp
    versions: tuple[InForce, ...] = ()
    timezone: str = "UTC"

    @property
    def agreement(self) -> dict:
        """The report's `agreement` object."""
        return {"id": self.agreement_id, "version": self.version, "title": self.document.title}


def context(*, session: Session, actor: Actor, agreement_id: int | None = None,
            as_of: str | datetime | None = None) -> AgreementContext:
    """The agreement (the only one with a signed version by default) and as_of."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    signed = session.exec(
        select(AgreementVersion.agreement_id, AgreementVersion.number, AgreementVersion.document)
        .where(col(AgreementVersion.state).in_(SIGNED_STATES))
        .order_by(col(AgreementVersion.signed_at), col(AgreementVersion.number))
    ).all()
    if agreement_id is None:
        agreement_ids = {v.agreement_id for v in signed}
        if len(agreement_ids) > 1:
            listed = ", ".join(str(i) for i in sorted(agreement_ids))
            raise AmbiguousAgreement(
                f"several agreements have signed versions ({listed}): pass --agreement ID")
        if not agreement_ids:
            raise InvalidInput("agreement", "no agreement has a signed version yet")
        agreement_id = agreement_ids.pop()
    rows = [v for v in signed if v.agreement_id == agreement_id]
    if not rows:
        raise InvalidInput("agreement", f"agreement {agreement_id} has no signed version")
    versions = tuple(InForce(v.number, sla.from_stored(v.document)) for v in rows)
    zone = versions[-1].document.calendar.timezone
    return AgreementContext(agreement_id, versions, zone, instant(as_of, zone))


def scope(*, session: Session, actor: Actor, period: str | None = None,
          agreement_id: int | None = None, as_of: str | datetime | None = None,
          trailing_days: int | None = None, require_cover: bool = True) -> Scope:
    """Resolve the agreement, the period (text such as "2018-03", or else the `trailing_days`
    up to as_of) and as_of. A period no signed version covers is refused (NotCovered) unless
    `require_cover` is off (a what-if measures it against its own version)."""
    agreement = context(session=session, actor=actor, agreement_id=agreement_id, as_of=as_of)
    if period is None and trailing_days is not None:
        window = Period(agreement.as_of - pd.Timedelta(days=trailing_days),
                        agreement.as_of + pd.Timedelta(seconds=1))
    else:
        try:
            window = periods.parse_period(period, agreement.timezone)
        except ValueError as error:
            raise InvalidInput("period", str(error)) from None
    versions = list(agreement.versions)
    named = period if trailing_days is None and require_cover else None
    framing = periods.in_force_at(window.start, versions) or _first_covering(
        window, versions, named)
    return Scope(agreement.agreement_id, framing.number, framing.document, window,
                 agreement.as_of, agreement.versions, agreement.timezone)


def _first_covering(window: Period, versions: list[InForce], text: str | None) -> InForce:
    """The earliest version covering part of a period whose start no version covers; a named
    period no version covers at all is refused, naming the versions that exist."""
    covering = periods.covering(window, versions)
    if covering:
        return min(covering, key=lambda v: periods.effective_range(v.document)[0])
    if text is None:  # a trailing window (the worklist), or a what-if: the latest version
        return versions[-1]
    raise NotCovered(text, versions)


def current_month(*, session: Session, actor: Actor, as_of: str | datetime | None = None,
                  agreement_id: int | None = None) -> str:
    """The month ("2026-11") holding as_of in the agreement's calendar zone."""
    agreement = context(session=session, actor=actor, agreement_id=agreement_id, as_of=as_of)
    return periods.month_of(agreement.local(agreement.as_of))


def instant(value: str | datetime | None, zone: str) -> pd.Timestamp:
    """as_of in UTC (default now); a naive or date-only value is read in the calendar zone."""
    if value is None:
        return pd.Timestamp(clock.now())
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise InvalidInput("as_of", f"'{value}' is not an ISO 8601 instant or date") from None
    if not limits.DATE_FIRST_YEAR <= stamp.year <= limits.DATE_LAST_YEAR:
        raise InvalidInput("as_of", f"'{value}' is not within the years "
                           f"{limits.DATE_FIRST_YEAR} to {limits.DATE_LAST_YEAR}")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(ZoneInfo(zone), nonexistent="shift_forward",
                                  ambiguous=True)
    return stamp.tz_convert("UTC")


def version_document(*, session: Session, actor: Actor, agreement_id: int,
                     number: int) -> sla.Document:
    """The document of any version of an agreement (a draft for what-if, say)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    version = session.exec(select(AgreementVersion).where(
        AgreementVersion.agreement_id == agreement_id, AgreementVersion.number == number)).first()
    if version is None:
        raise InvalidInput("version", f"agreement {agreement_id} has no version {number}")
    return sla.from_stored(version.document)


def draft_versions(*, session: Session, actor: Actor, agreement_id: int) -> list[int]:
    """Numbers of the agreement's versions not signed yet (what-if candidates), newest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return list(session.exec(
        select(AgreementVersion.number).where(
            AgreementVersion.agreement_id == agreement_id,
            col(AgreementVersion.state).in_(("draft", "in_review", "agreed")))
        .order_by(col(AgreementVersion.number).desc())).all())


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """A window's leads (any stage inside it; one owner's when set) and all their touches, as
    of a change position; `revision` grows whenever the rows themselves changed, `fetched`
    counts the leads and touches the read that made them took from the database.

    `changed_at` is the position the rows last changed at (a write elsewhere moves `position`
    only); `changed` the leads whose row, touches or dispute may differ from the revision
    before, whose `content` is `previous` (None: after a full read). Together they let a cache
    keep what a change did not reach."""

    window: Period
    owner: str | None
    leads: pd.DataFrame
    touches: pd.DataFrame
    position: changes.Position
    revision: int = 0
    fetched: int = 0
    changed_at: changes.Position | None = None
    changed: frozenset[int] | None = None
    previous: tuple | None = None
    owner_changes: pd.DataFrame | None = None  # the leads' reassignments; None: there are none

    @property
    def columns(self) -> list[str]:
        """The lead columns read (a refresh reads the same)."""
        return [name for name in self.leads.columns if name != "disputed"]

    @property
    def content(self) -> tuple:
        """Equal for two Rows of one window and owner exactly when they hold the same rows (a
        cache key: a re-read after eviction has a later position)."""
        return (self.window, self.owner, self.changed_at or self.position, self.revision)


@gc_pause.paused()
def read_rows(session: Session, window: Period, owner: str | None = None,
              columns: list[str] = LEAD_COLUMNS) -> Rows:
    """Every lead of the window (its `columns`), all its touches and its owner history. The
    change position is read first, so any change the rows may miss carries a later stamp and
    the next `refresh` reads it (a reassignment stamps the lead)."""
    at = changes.position(session)
    inside = _in_window(window, owner)
    size = _Size.of(session)
    expected = _count(session, Lead, _mqls_in(window, owner))  # an index range, a fair guess
    if expected > WHOLE_SCAN_SHARE * size.leads:
        # Most leads: every touch in one pass, beside the leads, in slices of lead ids (each
        # slice in (lead, time) order from ix_touches_lead_columns: measuring need not sort).
        leads, touches = columnar.read_frames(
            session, [_lead_statement(inside, columns), _touch_statement()],
            expected_rows=size.rows_for(expected), slices=["id", "lead_id"])
        touches = touches[touches["lead_id"].isin(leads["id"])].reset_index(drop=True)
    else:
        # The leads, then their touches looked up by id: the window is scanned once.
        leads = columnar.read_frame(session, _lead_statement(inside, columns),
                                    expected_rows=expected, slices=["id"])
        touches = _touches_of(session, leads["id"], size)
    # Most leads: every reassignment, kept for the leads read; else those of the window's.
    owner_changes = _owner_changes(
        session, leads["id"], None if expected > WHOLE_SCAN_SHARE * size.leads else inside)
    return Rows(window, owner, _with_disputes(session, leads), touches, at,
                fetched=len(leads) + len(touches), changed_at=at, owner_changes=owner_changes)


def _owner_changes(session: Session, lead_ids: pd.Series, of_leads=None,
                   expected_rows: int | None = None) -> pd.DataFrame | None:
    """The reassignments of these leads (`of_leads`: an SQL condition on leads narrowing the
    read to about them; None reads every reassignment), in (lead, time) order; None when there
    are none, without reading anything when no lead was ever reassigned. `expected_rows`: how
    many the read may find (default: every reassignment there is)."""
    table = LeadOwnerChange.__table__
    if session.exec(select(table.c.id).limit(1)).first() is None:
        return None
    statement = select(*(table.c[name] for name in OWNER_CHANGE_COLUMNS)).order_by(
        table.c.lead_id, table.c.at, table.c.id)
    if of_leads is not None:
        statement = statement.where(table.c.lead_id.in_(
            select(Lead.__table__.c.id).where(of_leads)))
    found = columnar.read_frame(session, statement, expected_rows=_count(
        session, LeadOwnerChange) if expected_rows is None else expected_rows)
    found = found[found["lead_id"].isin(lead_ids)].reset_index(drop=True)
    return found if len(found) else None


def _of_ids(rows: pd.DataFrame | None, ids) -> pd.DataFrame | None:
    """The owner changes of these leads only (None when none is left)."""
    if rows is None:
        return None
    kept = rows[rows["lead_id"].isin(ids)].reset_index(drop=True)
    return kept if len(kept) else None


def start_reader() -> None:
    """Start the columnar reader now (db.columnar), so the first read does not wait for it."""
    columnar.start_reader()


def _touches_of(session: Session, lead_ids: pd.Series, size: "_Size") -> pd.DataFrame:
    """Every touch of these leads, in slices of their ids read at once; each slice comes in
    (lead, time) order from ix_touches_lead_columns, and the slices in id order."""
    ids = np.sort(lead_ids.to_numpy(dtype=np.int64))
    expected = size.rows_for(len(ids)) - len(ids)
    parts = np.array_split(ids, columnar.SLICES) if expected >= columnar.COLUMNAR_FROM_ROWS \
        else [ids]
    touches = Touch.__table__
    frames = columnar.read_frames(
        session, [_touch_statement(columnar.one_of(touches.c.lead_id, part, session))
                  for part in parts], expected_rows=expected)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


@gc_pause.paused()
def refresh(session: Session, rows: Rows) -> Rows:
    """The rows as of the committed change position now: only leads and touches stamped since
    are read (everything again after a deletion)."""
    now = changes.position(session)
    if now.epoch != rows.position.epoch:
        return replace(read_rows(session, rows.window, rows.owner, rows.columns),
                       revision=rows.revision + 1)
    if now.seq == rows.position.seq:
        leads = _with_disputes(session, rows.leads)
        flipped = _disputed(leads) ^ _disputed(rows.leads)
        if not flipped:
            return replace(rows, fetched=0)
        return replace(rows, leads=leads, revision=rows.revision + 1, fetched=0,
                       changed_at=now, changed=frozenset(flipped), previous=rows.content)
    since = rows.position.seq
    lead_changed = Lead.__table__.c.change_seq > since
    touch_changed = Touch.__table__.c.change_seq > since
    size = _Size.of(session)
    expected = size.rows_for(_count(session, Lead, lead_changed)) + _count(
        session, Touch, touch_changed)
    # The leads stamped since; new touches, and every touch of a lead that changed (it may
    # have just entered the window).
    changed, fresh = columnar.read_frames(
        session, [_lead_statement(lead_changed, rows.columns),
                  _touch_statement(_of_leads(lead_changed) | touch_changed)],
        expected_rows=expected)
    entering = changed[_inside(changed, rows.window, rows.owner)]
    leads = pd.concat([rows.leads[~rows.leads["id"].isin(changed["id"])], entering],
                      ignore_index=True)
    added = fresh[fresh["lead_id"].isin(leads["id"])]
    kept = rows.touches[rows.touches["lead_id"].isin(leads["id"])
                        & ~rows.touches["id"].isin(added["id"])]
    touches = pd.concat([kept, added], ignore_index=True)
    leads = _with_disputes(session, leads)
    # A reassignment stamps its lead: the history of the leads stamped since is read again.
    owner_changes = rows.owner_changes
    if len(changed):
        unchanged = leads["id"][~leads["id"].isin(changed["id"])]
        parts = [part for part in (_of_ids(rows.owner_changes, unchanged),
                                   _owner_changes(session, leads["id"], lead_changed,
                                                  expected_rows=len(changed)))
                 if part is not None]
        owner_changes = pd.concat(parts, ignore_index=True) if parts else None
    # Every lead whose row, touches or dispute may differ: changed leads held or entering,
    # leads with touches added or dropped, disputes opened or closed.
    reached = (set(changed["id"][changed["id"].isin(rows.leads["id"])].tolist())
               | set(entering["id"].tolist()) | set(added["lead_id"].tolist())
               | set(rows.touches["lead_id"][~rows.touches["id"].isin(kept["id"])].tolist())
               | (_disputed(leads) ^ _disputed(rows.leads)))
    fetched = len(changed) + len(fresh)
    if not reached:
        return replace(rows, position=now, fetched=fetched,
                       changed_at=rows.changed_at or rows.position)
    return Rows(rows.window, rows.owner, leads, touches, now, rows.revision + 1, fetched,
                changed_at=now, changed=frozenset(reached), previous=rows.content,
                owner_changes=owner_changes)


@dataclass(frozen=True)
class _Size:
    """How many leads and touches there are (two index-only counts), to size a read."""

    leads: int
    touches: int

    @classmethod
    def of(cls, session: Session) -> "_Size":
        return cls(_count(session, Lead), _count(session, Touch))

    def rows_for(self, leads: int) -> int:
        """The rows a read of `leads` leads and their touches fetches, at the average."""
        return leads + (leads * self.touches // self.leads if self.leads else 0)


def _count(session: Session, model, condition=None) -> int:
    statement = select(func.count()).select_from(model)
    return session.exec(statement if condition is None else statement.where(condition)).one()


def _in_window(window: Period, owner: str | None):
    """SQL: any stage timestamp inside the window (and the owner's, when given)."""
    condition = or_(*(_between(name, window) for name in STAGE_COLUMNS))
    return _owned(condition, owner)


def _mqls_in(window: Period, owner: str | None):
    """SQL: the MQL timestamp inside the window (the mql_at index serves it)."""
    return _owned(_between("mql_at", window), owner)


def _between(name: str, window: Period):
    column = Lead.__table__.c[name]
    return (column >= window.start.to_pydatetime()) & (column < window.end.to_pydatetime())


def _owned(condition, owner: str | None):
    return condition if owner is None else condition & (Lead.__table__.c.owner == owner)


def _inside(leads: pd.DataFrame, window: Period, owner: str | None) -> pd.Series:
    """In memory: the leads with a stage timestamp inside the window (and the owner's)."""
    inside = pd.Series(False, index=leads.index)
    for name in STAGE_COLUMNS:
        inside |= (leads[name] >= window.start) & (leads[name] < window.end)
    return inside if owner is None else inside & (leads["owner"] == owner)


def _lead_statement(condition, columns: list[str] = LEAD_COLUMNS):
    """The columns of the leads meeting a condition."""
    table = Lead.__table__
    return select(*(table.c[name] for name in columns)).where(condition)


def _touch_statement(condition=None):
    """The columns of the touches meeting a condition (every touch without one)."""
    statement = select(*(Touch.__table__.c[name] for name in TOUCH_COLUMNS))
    return statement if condition is None else statement.where(condition)


def _of_leads(condition):
    """SQL: the touch is of a lead meeting `condition` (looked up by lead_id, not by visiting
    every touch)."""
    leads = Lead.__table__
    return Touch.__table__.c.lead_id.in_(select(leads.c.id).where(condition))


def _with_disputes(session: Session, leads: pd.DataFrame) -> pd.DataFrame:
    """The leads with `disputed`: whether a dispute of their rejection is open now."""
    disputed = set(session.exec(select(Dispute.lead_id).where(Dispute.state == "open")).all())
    return leads.assign(disputed=leads["id"].isin(disputed))


def _disputed(leads: pd.DataFrame) -> set[int]:
    return set(leads.loc[leads["disputed"], "id"].tolist())


def narrowed(rows: Rows, window: Period) -> Rows:
    """The rows of a window inside `rows.window`: the leads with a stage in it, their touches."""
    leads = rows.leads[_inside(rows.leads, window, None)].reset_index(drop=True)
    touches = rows.touches[rows.touches["lead_id"].isin(leads["id"])].reset_index(drop=True)
    return Rows(window, rows.owner, leads, touches, rows.position, rows.revision,
                changed_at=rows.changed_at, owner_changes=_of_ids(rows.owner_changes,
                                                                  leads["id"]))


def reaches(rows: Rows, part: Rows) -> bool:
    """Whether the last change of `rows` reached `part`, a window narrowed from the revision
    before: a changed lead was in it, or is in it now."""
    if rows.changed is None or rows.previous is None:
        return True
    changed = list(rows.changed)
    if part.leads["id"].isin(changed).any():
        return True
    now = rows.leads[rows.leads["id"].isin(changed)]
    return bool(_inside(now, part.window, None).any())


class RowCache:
    """Rows per (database, window, owner) for a process: read once, then refreshed by what
    changed. A window inside one already held is taken from it (`narrowed`), and a reader that
    will want a neighbour next (the period before, for trends) can ask for a wider window to be
    read at once (`widen_to`): one read instead of two. A narrowed window that the last change
    did not reach keeps its Rows, so what was measured of it stays cached (`reaches`). Bounded
    to `size` read windows of everyone's leads (and as many narrowed ones) and `owned_size` of
    one owner's (a rep's worklist: small, and one per rep of a team), least recently used out
    first."""

    def __init__(self, size: int = 8, owned_size: int = 64) -> None:
        self.size, self.owned_size = size, owned_size
        self._entries: OrderedDict[tuple, Rows] = OrderedDict()
        self._narrowed: OrderedDict[tuple, tuple[tuple, Rows]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def rows(self, session: Session, window: Period, owner: str | None = None,
             widen_to: Period | None = None, columns: list[str] = LEAD_COLUMNS) -> Rows:
        """The window's rows (their lead `columns`), current as of now (`widen_to`, a window
        around it, is what to read when nothing held covers it)."""
        database, columns = str(session.get_bind().url), tuple(columns)
        with self._lock:
            held = [key[1] for key in self._entries
                    if key[0] == database and key[2] == owner and key[3] == columns
                    and _covers(key[1], window)]
        read = window if window in held else held[0] if held else widen_to or window
        rows = self._current(session, (database, read, owner, columns))
        if read == window:
            return rows
        key = (database, window, owner, read, columns)
        with self._lock:
            base, cached = self._narrowed.get(key, (None, None))
        if cached is not None and (base == rows.content or (
                base == rows.previous and not reaches(rows, cached))):
            result = cached  # what changed since did not reach it: the same rows and key
        else:
            result = narrowed(rows, window)
        self._remember(self._narrowed, key, (rows.content, result))
        return result

    def _current(self, session: Session, key: tuple) -> Rows:
        """The rows held under key, read or refreshed."""
        _, window, owner, columns = key
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # two renders of one window read it once
            cached = self._entries.get(key)
            rows = read_rows(session, window, owner, list(columns)) if cached is None \
                else refresh(session, cached)
            self._remember(self._entries, key, rows)
        return rows

    def _remember(self, entries: OrderedDict, key: tuple, entry) -> None:
        """Hold entry under key (keys are (database, window, owner, ...)), the least recently
        used of its kind (everyone's or one owner's) out when over that kind's bound."""
        owned = key[2] is not None
        with self._lock:
            entries[key] = entry
            entries.move_to_end(key)
            kind = [held for held in entries if (held[2] is not None) == owned]
            for held in kind[:max(0, len(kind) - (self.owned_size if owned else self.size))]:
                del entries[held]


def _covers(outer: Period, inner: Period) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Narrow the leads measured: each set value keeps only leads with that value."""

    values: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def of(cls, **chosen: str | None) -> "Filters":
        unknown = set(chosen) - set(FILTERS)
        if unknown:
            raise InvalidInput("filter", f"cannot filter by {', '.join(sorted(unknown))}")
        return cls(tuple(sorted((name, value) for name, value in chosen.items() if value)))

    def apply(self, leads: pd.DataFrame) -> pd.DataFrame:
        """The leads matching every filter."""
        for name, value in self.values:
            leads = leads[leads[FILTERS[name]] == value]
        return leads.reset_index(drop=True)


@gc_pause.paused()
def evaluate(scope: Scope, rows: Rows, filters: Filters = Filters(),
             what_if: sla.Document | None = None,
             what_if_number: int | None = None) -> compliance.Evaluation:
    """Measure rows: the filtered leads under the signed versions, or all of them under the
    `what_if` document (numbered `what_if_number`)."""
    leads = filters.apply(rows.leads)
    if what_if is None:
        return compliance.evaluate(scope.document, leads, rows.touches, scope.period,
                                   scope.as_of, agreement=scope.agreement,
                                   versions=list(scope.versions),
                                   owner_changes=rows.owner_changes)
    agreement = {"id": scope.agreement_id, "version": what_if_number, "title": what_if.title}
    return compliance.evaluate(what_if, leads, rows.touches, scope.period, scope.as_of,
                               agreement=agreement, owner_changes=rows.owner_changes)


def measure(*, session: Session, actor: Actor, scope: Scope, filters: Filters = Filters(),
            what_if: int | None = None, owner: str | None = None,
            for_report: bool = False) -> compliance.Evaluation:
    """The scope's period read and measured once (with `what_if`, every lead against that
    version of the agreement). `for_report`: only the report object is wanted, so only the
    columns it measures are read."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    document = None if what_if is None else version_document(
        session=session, actor=actor, agreement_id=scope.agreement_id, number=what_if)
    columns = LEAD_COLUMNS
    if for_report:
        documents = [v.document for v in scope.versions] + ([document] if document else [])
        columns = report_columns(documents)
    rows = read_rows(session, scope.period, owner, columns)
    return evaluate(scope, rows, filters, document, what_if)


def page_columns(*, session: Session, agreement_id: int) -> list[str]:
    """The lead columns the pages measure a period on: REPORT_COLUMNS and every column any
    version of the agreement names (drafts too: a what-if measures the same rows). What a page
    shows of a few leads only (names, companies) is read for those leads (`leads_behind`)."""
    documents = session.exec(select(AgreementVersion.document).where(
        AgreementVersion.agreement_id == agreement_id)).all()
    return _report_columns_naming(documents)


def leads_behind(*, session: Session, actor: Actor, evaluation: compliance.Evaluation,
                 chart: str, pick: dict) -> pd.DataFrame:
    """The leads behind a mark picked on a chart (core.dashboard.leads_behind), with the
    columns the measured rows left out read for those leads."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return dashboard.leads_behind(evaluation, chart, pick,
                                  details=lambda ids, columns: lead_details(session, ids,
                                                                            columns))


def lead_details(session: Session, ids: list[int], columns: list[str]) -> pd.DataFrame:
    """Lead columns of a few leads, indexed by id."""
    table = Lead.__table__
    frame = columnar.read_frame(
        session, select(table.c.id, *(table.c[name] for name in columns))
        .where(columnar.one_of(table.c.id, np.asarray(ids, dtype=np.int64), session)),
        expected_rows=len(ids))
    return frame.set_index("id")


def report_columns(documents: list[sla.Document]) -> list[str]:
    """REPORT_COLUMNS and every lead column the documents name (criteria fields, filter keys):
    a field that is not a column is read from the lead's attributes, so leaving out a named
    column would silently measure something else."""
    return _report_columns_naming([sla.to_dict(document) for document in documents])


def _report_columns_naming(documents: list[dict]) -> list[str]:
    """REPORT_COLUMNS and every lead column the documents (as plain data) name."""
    named = set().union(*(_fields_named(document) for document in documents))
    return REPORT_COLUMNS + [name for name in LEAD_COLUMNS
                             if name in named and name not in REPORT_COLUMNS]


def _fields_named(data) -> set[str]:
    """The values of every `field` key and the keys of every `filter` mapping, at any depth."""
    named: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "field" and isinstance(value, str):
                named.add(value)
            elif key == "filter" and isinstance(value, dict):
                named |= set(value)
            named |= _fields_named(value)
    elif isinstance(data, list):
        for item in data:
            named |= _fields_named(item)
    return named


@gc_pause.paused()
def report(*, session: Session, actor: Actor, scope: Scope, by: str | None = None) -> dict:
    """The DESIGN §6 report object for a scope."""
    return measure(session=session, actor=actor, scope=scope, for_report=True).report(by)


@gc_pause.paused()
def clock_detail(*, session: Session, actor: Actor, scope: Scope) -> pd.DataFrame:
    """One row per lead and clock commitment, with the version each clock was measured against."""
    return measure(session=session, actor=actor, scope=scope).detail()


@gc_pause.paused()
def what_if(*, session: Session, actor: Actor, scope: Scope, version: int,
            by: str | None = None) -> dict:
    """The report the scope's period would have had if version `version` of the agreement (a
    draft, typically) had governed every lead: the `report` object, its `agreement` naming that
    version, plus `what_if: {"version", "state"}`."""
    result = measure(session=session, actor=actor, scope=scope, what_if=version,
                     for_report=True).report(by)
    state = session.exec(select(AgreementVersion.state).where(
        AgreementVersion.agreement_id == scope.agreement_id,
        AgreementVersion.number == version)).one()
    return {**result, "what_if": {"version": version, "state": state}}


def worklist_window(as_of: pd.Timestamp, timezone: str, days: int = WORKLIST_DAYS) -> Period:
    """The rows a worklist reads: from the local midnight `days` + 1 days before as_of on (a
    superset of its trailing window that stays the same all day, so it can be cached)."""
    first = as_of.tz_convert(timezone).date() - pd.Timedelta(days=days + 1)
    return Period(periods.local_midnight(first, timezone), OPEN_ENDED)


def worklist_scope(*, session: Session, actor: Actor, as_of: str | None = None,
                   days: int = WORKLIST_DAYS) -> Scope:
    """The worklist's scope: clocks that started in the last `days` days up to as_of."""
    require(actor.role, Action.WORK_LEADS)
    return scope(session=session, actor=actor, as_of=as_of, trailing_days=days)


def worklist(*, session: Session, actor: Actor, as_of: str | None = None,
             days: int = WORKLIST_DAYS) -> pd.DataFrame:
    """Open clocks of the actor's leads (every rep's for the head of sales) whose clock started
    in the last `days` days, most urgent first (core.dashboard.worklist)."""
    measured = worklist_scope(session=session, actor=actor, as_of=as_of, days=days)
    rows = read_rows(session, worklist_window(measured.as_of, measured.timezone, days),
                     worklist_owner(actor))
    return open_clocks(measured, rows)


def every_open_clock(*, session: Session, actor: Actor, as_of: str | datetime | None = None,
                     days: int = WORKLIST_DAYS) -> tuple[Scope, pd.DataFrame]:
    """Every open clock the team's worklist is made of (one row per lead and commitment, not
    only each lead's most urgent), from the same read and measurement as the worklist: the
    alert engine's input (core.dashboard.open_clocks has the columns)."""
    measured = worklist_scope(session=session, actor=actor, as_of=as_of, days=days)
    rows = read_rows(session, worklist_window(measured.as_of, measured.timezone, days))
    return measured, dashboard.open_clocks(evaluate(measured, rows))


def open_clocks(scope: Scope, rows: Rows) -> pd.DataFrame:
    """The worklist of rows already read for a worklist scope, most urgent first."""
    return dashboard.worklist(evaluate(scope, rows))


LEAD_CLOCK_COLUMNS = [name for name in compliance.LEAD_CLOCK_COLUMNS if name != "lead_id"]


@gc_pause.paused()
def lead_clocks(*, session: Session, actor: Actor, lead_id: int, as_of: str | None = None,
                agreement_id: int | None = None) -> pd.DataFrame:
    """Every clock of one lead (the lead page), measured now or at `as_of`: one row per
    response or attempts commitment whose clock started, each against the signed version in
    force at its own start (none: no row). Reads that lead, its touches and its owner history
    only.

    Columns: commitment, state (met, breached, overdue, pending, at_risk), start, due,
    stopped_at (aware UTC Timestamps, NaT when missing), business_seconds_left (budget minus
    elapsed, negative when late), elapsed_seconds, version (the version measured against),
    owner (the rep the clock counts for under `--by rep`), attempts_done, attempts_required
    (Int64, NA for response commitments). Before any version is signed the frame is empty. A
    sales rep may see only their own leads (NotYourLead)."""
    from core.services.leads import NotYourLead  # it may come to use this module

    require(actor.role, Action.VIEW_DASHBOARDS)
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    if actor.role == Role.SALES_REP and lead.owner != actor.username:
        raise NotYourLead(actor, lead)
    try:
        agreement = context(session=session, actor=actor, agreement_id=agreement_id,
                            as_of=as_of)
    except InvalidInput as error:
        if agreement_id is None and error.field == "agreement":
            return compliance.no_lead_clocks()[LEAD_CLOCK_COLUMNS]  # nothing signed yet
        raise
    table = Lead.__table__
    leads = columnar.read_frame(session, select(*(table.c[name] for name in LEAD_COLUMNS))
                                .where(table.c.id == lead_id), expected_rows=1)
    touches = columnar.read_frame(session, _touch_statement(Touch.__table__.c.lead_id == lead_id)
                                  .order_by(Touch.__table__.c.at), expected_rows=1)
    owner_changes = _owner_changes(session, leads["id"], table.c.id == lead_id,
                                   expected_rows=1)
    clocks = compliance.lead_clocks(leads, touches, agreement.as_of, list(agreement.versions),
                                    owner_changes=owner_changes)
    return clocks[LEAD_CLOCK_COLUMNS]


def worklist_owner(actor: Actor) -> str | None:
    """Whose leads a worklist shows: a rep's own, everyone's for the head of sales."""
    return actor.username if actor.role == Role.SALES_REP else None


def history_leads(*, session: Session, actor: Actor, window: Period) -> pd.DataFrame:
    """The leads of a history window (the planner's cohorts and won deals)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return read_rows(session, window).leads


# --- for the pages ---------------------------------------------------------------------------


def data_version(*, session: Session) -> str:
    """A token that changes with every change of leads, touches, disputes or agreements: the
    change position, and the last audit event (every agreement step and decision is audited)."""
    at = changes.position(session)
    audit = session.exec(select(func.max(AuditEvent.id))).one()
    return f"{at.seq}:{at.epoch}:{audit}"


def filter_options(rows: Rows) -> dict[str, list[str]]:
    """The values each filter can take in a window's rows (read for measuring anyway: no scan
    of every lead on record)."""
    return {name: sorted(rows.leads[column].dropna().unique().tolist())
            for name, column in FILTERS.items()}
