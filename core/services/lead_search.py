"""The Leads search page's reads: one page of leads matching a search and filters, sorted, with
a capped count, fast at a million leads on SQLite and PostgreSQL alike.

Everything runs in the database on the indexes of migration 0011 (db/models.py `Lead`):
filtering, sorting, counting and paging; only the page's ids come back, then the page's rows
and their touches (one query each). Nothing reads all the leads.

Search is by prefix, case-insensitive: each word of the text must start the name, the company,
the email or the external id, or the second or third word of the name or of the company
("harb" finds "Blue Harbor Labs", "reed" finds "Ava Reed", "ava.r" finds ava.reed@acme.com).
Substring matching ("arbor" in "Harbor") would scan every lead: measured at 1,000,000 leads it
takes 0.3-0.4 s on SQLite and 0.6-1.1 s on PostgreSQL just to count, and 2-2.5 s for a page of
a rare word (benchmarks/bench_lead_search.py); the prefixes are read from expression indexes
in milliseconds. SQLite lowers ASCII letters only (PostgreSQL every letter), so the search is
case-insensitive for ASCII on both, and for other letters on PostgreSQL only.

Sorting: text is compared byte by byte on both backends (PostgreSQL with COLLATE "C" for
name, company and external id; owner, channel, segment and region in the database's collation,
the same when it is C, as in the tests); leads without a value come last in either direction;
ties are broken by id, in the sort's direction, so pages are stable.
"""

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, or_, select, text
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import Session, col

from core.errors import InvalidInput
from core.permissions import Action, Role, require
from core.services.accounts import Actor
from db import columnar
from db.models import Lead, Touch, User

STAGES = ("open", "accepted", "rejected", "sql", "opportunity", "won", "lost")
COUNT_CAP = 10_000  # matches counted; past it the page says "10,000+" (capped)
MAX_PAGE_SIZE = 200
MAX_TEXT_CHARS = 200
MAX_WORDS = 8
MAX_IDS = 50_000  # lead_ids and time_left
MAX_VALUES = 1_000  # owners, channels, segments, regions
MAX_CHOICES = 1_000  # distinct values filter_choices lists per filter

COLUMNS = ["id", "source", "external_id", "name", "company", "email", "owner", "channel",
           "segment", "region", "mql_at", "accepted_at", "rejected_at", "rejection_reason",
           "sql_at", "opportunity_at", "won_at", "lost_at", "stage", "touches", "last_touch_at"]


def _indexed(name: str) -> ColumnElement:
    """The expression of an expression index on leads, as the index has it (a query must use
    the same expression for the database to read the index)."""
    index = next(index for index in Lead.__table__.indexes if index.name == name)
    return index.expressions[0].element


# Keys of the search and of the text sorts (lowered; the words of names and companies).
NAME, COMPANY = _indexed("ix_leads_name_lower"), _indexed("ix_leads_company_lower")
EMAIL, EXTERNAL_ID = _indexed("ix_leads_email_lower"), _indexed("ix_leads_external_id_lower")
SEARCH_KEYS = (NAME, _indexed("ix_leads_name_word2"), _indexed("ix_leads_name_word3"),
               COMPANY, _indexed("ix_leads_company_word2"), _indexed("ix_leads_company_word3"),
               EMAIL, EXTERNAL_ID)
BYTEWISE = (*SEARCH_KEYS,)  # indexed COLLATE "C" on PostgreSQL

# A lead's furthest stage as its index in STAGES (NULL: not an MQL yet): the latest of won,
# lost, opportunity, SQL; else rejected or accepted, whichever came last (a tie is accepted);
# else open.
STAGE = _indexed("ix_leads_stage_mql_at")

# sort key -> what the page is ordered by (None: by the time_left values given)
SORTS: dict[str, ColumnElement | None] = {
    "mql_at": col(Lead.mql_at),
    "external_id": EXTERNAL_ID,
    "name": NAME,
    "company": COMPANY,
    "owner": col(Lead.owner),
    "channel": col(Lead.channel),
    "segment": col(Lead.segment),
    "region": col(Lead.region),
    "stage": STAGE,
    "time_left": None,
}
_NOT_NULL = frozenset({"external_id"})  # sort keys never NULL


@dataclass(frozen=True)
class LeadQuery:
    """What the Leads page asks for: a search, filters, a sort and a page."""

    text: str = ""  # search: name, company, email or external id, by prefix (see above)
    owners: tuple[str, ...] = ()
    team: str | None = None  # leads owned by users whose User.team is this
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    stage: str | None = None  # one of STAGES
    mql_from: datetime | None = None  # period on mql_at, [mql_from, mql_to)
    mql_to: datetime | None = None
    # Restrict to these (the page passes the ids of leads whose clock is in a chosen state,
    # from the cached worklist); at most MAX_IDS.
    lead_ids: tuple[int, ...] | None = None
    # (lead id, business seconds left) for sort="time_left": ascending = most urgent first;
    # leads without a value (or NaN) sort last, by id. At most MAX_IDS.
    time_left: tuple[tuple[int, float], ...] = ()
    sort: str = "mql_at"
    descending: bool = True
    page: int = 1  # 1-based
    page_size: int = 50  # at most MAX_PAGE_SIZE


@dataclass(frozen=True)
class LeadPage:
    """One page of matching leads, and how many match (counted up to COUNT_CAP)."""

    rows: pd.DataFrame  # COLUMNS; stage is a name of STAGES (None: not an MQL)
    total: int  # matching leads, at most COUNT_CAP
    capped: bool  # whether more than `total` match
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages `total` fills (at least 1: an empty result is one empty page)."""
        return max(1, math.ceil(self.total / self.page_size))


def search_leads(*, session: Session, actor: Actor, query: LeadQuery) -> LeadPage:
    """One page of the leads matching `query` (a sales rep's own leads only), sorted."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    _check(query)
    search = _Search.of(session, actor, query)
    if search is None:  # a filter nothing can match (a team without members, no lead ids)
        return LeadPage(_frame([]), 0, False, query.page, query.page_size)
    offset, size = (int(query.page) - 1) * int(query.page_size), int(query.page_size)
    if search.estimate <= PROBE_CAP and query.sort != "time_left" \
            and (not search.postgres or search.fenced()):
        # Few matches, by a selective index: filter them and sort them, counted on the way.
        search.filter_first = True
        ids, total = search.counted_page(SORTS[query.sort], query.descending, offset,
                                         min(size, COUNT_CAP - offset))
        if total is None:  # past the end (or past what is counted): count them alone
            total = search.count(COUNT_CAP + 1)
        capped, total = total > COUNT_CAP, min(total, COUNT_CAP)
        return LeadPage(_rows(session, ids), total, capped, query.page, query.page_size)
    total = search.count(COUNT_CAP + 1)
    capped, total = total > COUNT_CAP, min(total, COUNT_CAP)
    # Few matches: filter them, then sort them; otherwise read in the order of the sort's
    # index, filtering as it goes.
    search.filter_first = not capped or search.estimate <= PROBE_CAP
    limit = min(size, total - offset)  # the pages end where the count does
    if limit <= 0:  # past the end (or past what was counted): nothing to read
        ids = []
    elif query.sort == "time_left":
        ids = _by_time_left(search, query, offset, limit)
    else:
        ids = search.page(SORTS[query.sort], query.descending, offset, limit,
                          nullable=query.sort not in _NOT_NULL)
    return LeadPage(_rows(session, ids), total, capped, query.page, query.page_size)


def filter_choices(*, session: Session, actor: Actor) -> dict[str, list[str]]:
    """The values each filter offers: "owners", "teams", "channels", "segments", "regions"
    (distinct values, read by skipping through their indexes). A sales rep is offered only
    themselves as owner, and their own team."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    rep = actor.role == Role.SALES_REP
    teams = session.execute(select(User.team).distinct().where(
        col(User.team).is_not(None))).scalars().all()
    return {
        "owners": [actor.username] if rep else _distinct(session, "owner"),
        "teams": ([actor.team] if actor.team else []) if rep else sorted(teams, key=str.casefold),
        "channels": _distinct(session, "channel"),
        "segments": _distinct(session, "segment"),
        "regions": _distinct(session, "region"),
    }


# ---------------------------------------------------------------------------------------------
# Input


def _check(query: LeadQuery) -> None:
    """InvalidInput, naming the field, for anything the page should not ask."""
    if not isinstance(query.text, str) or len(query.text) > MAX_TEXT_CHARS:
        raise InvalidInput("text", f"search for at most {MAX_TEXT_CHARS} characters")
    if len(query.text.split()) > MAX_WORDS:
        raise InvalidInput("text", f"search for at most {MAX_WORDS} words")
    for field in ("owners", "channels", "segments", "regions"):
        values = getattr(query, field)
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise InvalidInput(field, "give a list of values")
        if len(values) > MAX_VALUES:
            raise InvalidInput(field, f"choose at most {MAX_VALUES:,} values")
    if query.team is not None and not isinstance(query.team, str):
        raise InvalidInput("team", "give a team's name")
    if query.stage is not None and query.stage not in STAGES:
        raise InvalidInput("stage", f"'{query.stage}' is not one of {', '.join(STAGES)}")
    for field in ("mql_from", "mql_to"):
        value = getattr(query, field)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise InvalidInput(field, "give an instant with its time zone")
    if query.mql_from is not None and query.mql_to is not None \
            and query.mql_from >= query.mql_to:
        raise InvalidInput("mql_to", "the period must end after it starts")
    if query.lead_ids is not None:
        if len(query.lead_ids) > MAX_IDS:
            raise InvalidInput("lead_ids", f"at most {MAX_IDS:,} leads")
        if not all(_is_int(i) for i in query.lead_ids):
            raise InvalidInput("lead_ids", "give lead ids")
    if len(query.time_left) > MAX_IDS:
        raise InvalidInput("time_left", f"at most {MAX_IDS:,} leads")
    for pair in query.time_left:
        if len(pair) != 2 or not _is_int(pair[0]) or not _is_number(pair[1]):
            raise InvalidInput("time_left", "give (lead id, seconds left) pairs")
    if query.sort not in SORTS:
        raise InvalidInput("sort", f"'{query.sort}' is not one of {', '.join(SORTS)}")
    if not _is_int(query.page) or query.page < 1:
        raise InvalidInput("page", "pages are numbered from 1")
    if not _is_int(query.page_size) or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"show 1 to {MAX_PAGE_SIZE} leads a page")


def _is_int(value) -> bool:
    """An integer, a numpy one too (ids come from DataFrames), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Filters, and which index to read them by


PROBE_CAP = 50_000  # an index that yields at most this many leads is worth reading them by
# The ways into the leads, in the order tried: the kinds of filter one index serves together.
PATHS = (("ids",), ("word",), ("owner", "period"), ("channel", "period"), ("stage", "period"),
         ("region", "period"), ("segment", "period"), ("period",))
_COLUMN_KINDS = ("owner", "channel", "stage", "region", "segment", "period")


@dataclass(frozen=True)
class _Filter:
    """One condition of the query: as an index of its kind serves it, and as no index can
    (SQLite: its columns behind a unary +, which SQLite never reads an index for; PostgreSQL
    keeps its own choice of indexes: the same condition)."""

    kind: str  # owner, channel, stage, region, segment, period, ids, word, not_ids
    indexed: ColumnElement
    unindexed: ColumnElement
    size: int | None = None  # ids: how many


class _Search:
    """The query's filters on a session, and how to read them: by which index, and whether to
    filter the matches first and then sort them, or to read the sort's index in order.

    SQLite plans without statistics (nothing runs ANALYZE): it takes an equality on any
    indexed column for a handful of rows, and prefers reading in the sort's order to sorting,
    which for a rare word means reading every lead. So here each index that could serve the
    filters (PATHS) counts what it would yield, up to PROBE_CAP and the best so far, from the
    index alone; the least is read, the other conditions are written so that SQLite cannot use
    their indexes. With few matches (that many, or a count under COUNT_CAP) they are filtered
    first and then sorted (and counted in the same pass when the index said so); else the
    sort's index is read in order, filtering as it goes.
    PostgreSQL plans from its statistics and needs none of it but the last: when it expects
    few matches (EXPLAIN) or the count is under COUNT_CAP, it is kept from scanning the sort's
    index for them by a subquery it cannot flatten (OFFSET 0), but where it chooses well."""

    def __init__(self, session: Session, filters: list[_Filter], postgres: bool):
        self.session, self.filters, self.postgres = session, filters, postgres
        self.read_by: list[_Filter] | None = None  # the filters the chosen index serves
        self.estimate = math.inf  # how many leads that index yields (PostgreSQL: match)
        self.filter_first = False
        self.sorted_by_mql = False
        if postgres:
            self.estimate = self._planned_rows()
            return
        best = None
        for group in self._groups():
            size = group[0].size if group[0].kind == "ids" else self._yield(
                group, min(self.estimate, PROBE_CAP + 1))
            if size < self.estimate:
                best, self.estimate = group, size
        if self.estimate <= PROBE_CAP:
            self.read_by = best

    @classmethod
    def of(cls, session: Session, actor: Actor, query: LeadQuery) -> "_Search | None":
        postgres = session.get_bind().dialect.name == "postgresql"
        filters = _filters(session, actor, query, postgres)
        if filters is None:
            return None
        search = cls(session, filters, postgres)
        search.sorted_by_mql = query.sort == "mql_at"
        return search

    def _groups(self) -> list[list[_Filter]]:
        """The filters each index could serve, in the order of PATHS."""
        groups, kinds = [], {f.kind for f in self.filters}
        for path in PATHS:
            if path[0] not in kinds or (path == ("period",) and kinds & set(_COLUMN_KINDS[:-1])):
                continue  # the period alone yields more than with a column before it
            if path[0] in ("ids", "word"):
                groups.extend([f] for f in self.filters if f.kind == path[0])
            else:
                groups.append([f for f in self.filters if f.kind in path])
        return groups

    def _planned_rows(self) -> float:
        """PostgreSQL's estimate of the matches, from its statistics (planned, not run)."""
        if not self.filters:
            return math.inf
        compiled = _matching(self.where(counting=True)).compile(
            dialect=self.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        plan = self.session.connection().exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
        return plan[0]["Plan"]["Plan Rows"]

    def _yield(self, group: list[_Filter], cap: int) -> int:
        """How many leads the index of `group` yields, up to cap."""
        return self.session.execute(select(func.count()).select_from(
            select(Lead.id).where(*(f.indexed for f in group)).limit(cap).subquery())
        ).scalar_one()

    def where(self, extra: Sequence[_Filter] = (), *, counting: bool = False
              ) -> list[ColumnElement]:
        """The conditions, written so that the database reads the chosen index (counting:
        no order to keep, any index will do)."""
        filters = (*self.filters, *extra)
        if self.read_by is not None:
            chosen = {id(f) for f in self.read_by}
            return [f.indexed if id(f) in chosen else f.unindexed for f in filters]
        if counting or self.filter_first:  # no index worth reading one by
            return [f.indexed for f in filters]
        # Reading the sort's index in order; by mql_at, an index of a column then mql_at
        # keeps that order too.
        kinds = _COLUMN_KINDS if self.sorted_by_mql else ()
        return [f.indexed if f.kind in kinds else f.unindexed for f in filters]

    def count(self, cap: int) -> int:
        """How many leads match, up to cap."""
        statement = select(func.count()).select_from(
            _matching(self.where(counting=True)).limit(cap).subquery())
        if not (self.postgres and any(f.kind == "word" for f in self.filters)):
            return self.session.execute(statement).scalar_one()
        # PostgreSQL costs the search's keys (lower, ltrim, replace) as nothing and would
        # rather compute them for every lead, up to the cap, than read their indexes: 0.35 s
        # instead of 0.04 s for a common letter at a million leads. Not this count.
        previous = self.session.execute(text("SHOW enable_seqscan")).scalar_one()
        self.session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            return self.session.execute(statement).scalar_one()
        finally:
            self.session.execute(text("SELECT set_config('enable_seqscan', :value, true)"),
                                 {"value": previous})

    def counted_page(self, key: ColumnElement, descending: bool, offset: int, limit: int
                     ) -> tuple[list[int], int | None]:
        """The ids of the matches from offset (at most limit), sorted as page() sorts them,
        and how many match (None when the page is empty: past the end). One pass: the
        matches are filtered and sorted, the count taken over them before the page is cut."""
        if limit <= 0:
            return [], None
        key = self._key(_bytewise(key, self.postgres))
        ids = self._key(col(Lead.id))
        order = [key.desc(), ids.desc()] if descending else [key, ids]
        rows = self.session.execute(
            select(Lead.id, func.count().over()).where(*self.where())
            .order_by(key.is_(None), *order).limit(limit).offset(offset)).all()
        return [row[0] for row in rows], (rows[0][1] if rows else None)

    def page(self, key: ColumnElement | None, descending: bool, offset: int, limit: int, *,
             nullable: bool = True, extra: Sequence[_Filter] = ()) -> list[int]:
        """The ids of the matches from offset, at most limit, in the order of the sort key
        (None: by id) with ties by id; those without a value of the key come last, by id."""
        if key is None or not nullable:
            return self._ids(key, descending, offset, limit, self.where(extra))
        key = _bytewise(key, self.postgres)
        with_value = [*self.where(extra), self._key(key).is_not(None)]
        ids = self._ids(key, descending, offset, limit, with_value)
        if len(ids) == limit:
            return ids
        if ids:  # the leads with a value end on this page
            valued = offset + len(ids)
        elif offset:  # ... or before it: how many have one (fewer than offset <= COUNT_CAP)
            valued = self.session.execute(select(func.count()).select_from(
                _matching(with_value).limit(offset).subquery())).scalar_one()
        else:
            valued = 0
        return ids + self._ids(None, descending, offset + len(ids) - valued, limit - len(ids),
                               [*self.where(extra), self._key(key).is_(None)])

    def fenced(self) -> bool:
        """Whether PostgreSQL is kept from choosing to read the sort's index for few matches:
        always but by mql_at without words, where its filter indexes (a column then mql_at)
        keep the order and it chooses well (fenced, it would sort every match of a stage)."""
        return not self.sorted_by_mql or any(f.kind == "word" for f in self.filters)

    def _key(self, key: ColumnElement) -> ColumnElement:
        """The sort key (or the id) as the plan reads it: SQLite sorts the matches it
        filtered first rather than read the key's index (or the table in id order)."""
        return _plus(key) if self.filter_first and not self.postgres else key

    def _ids(self, key: ColumnElement | None, descending: bool, offset: int, limit: int,
             conditions: list[ColumnElement]) -> list[int]:
        """The ids matching conditions in the order of key (None: by id), ties by id."""
        if self.filter_first and self.postgres and key is not None and self.fenced():
            # PostgreSQL sorts the matches rather than scan the key's index for them.
            matches = select(col(Lead.id).label("id"), key.label("key")).where(
                *conditions).offset(0).subquery()
            keys, ids = [matches.c.key], matches.c.id
            statement = select(matches.c.id)
        else:
            keys, ids = ([] if key is None else [self._key(key)]), self._key(col(Lead.id))
            statement = select(Lead.id).where(*conditions)
        order = [*keys, ids]
        if descending:
            order = [part.desc() for part in order]
        return list(self.session.execute(statement.order_by(*order).limit(limit)
                                         .offset(offset)).scalars())


def _plus(expression: ColumnElement) -> ColumnElement:
    """SQLite: `+expression`, the same value, which no index is read for."""
    return UnaryExpression(expression, operator=custom_op("+"), type_=expression.type)


def _filters(session: Session, actor: Actor, query: LeadQuery, postgres: bool
             ) -> list[_Filter] | None:
    """The query's filters (None: nothing can match)."""
    filters = []

    def add(kind: str, make, size: int | None = None) -> None:
        indexed = make(lambda expression: expression)
        filters.append(_Filter(kind, indexed, indexed if postgres else make(_plus), size))

    if actor.role == Role.SALES_REP:
        add("owner", lambda c: c(col(Lead.owner)) == actor.username)
    if query.owners:
        add("owner", lambda c: c(col(Lead.owner)).in_(sorted(set(query.owners))))
    if query.team is not None:
        members = session.execute(select(User.username).where(
            User.team == query.team)).scalars().all()
        if not members:
            return None
        add("owner", lambda c: c(col(Lead.owner)).in_(sorted(members)))
    for kind, column, values in (("channel", Lead.channel, query.channels),
                                 ("segment", Lead.segment, query.segments),
                                 ("region", Lead.region, query.regions)):
        if values:
            add(kind, lambda c, column=column, values=values: c(col(column)).in_(
                sorted(set(values))))
    if query.mql_from is not None:
        add("period", lambda c: c(col(Lead.mql_at)) >= query.mql_from)
    if query.mql_to is not None:
        add("period", lambda c: c(col(Lead.mql_at)) < query.mql_to)
    if query.stage is not None:
        add("stage", lambda c: c(STAGE) == STAGES.index(query.stage))
    if query.lead_ids is not None:
        if not query.lead_ids:
            return None
        ids = sorted(set(query.lead_ids))
        add("ids", lambda c: columnar.one_of(c(col(Lead.id)), ids, session), len(ids))
    for word in _words(query.text, postgres):
        starts = _starts(word, postgres)
        # Unindexed (SQLite, read in the sort's order): each key computed once, not twice.
        filters.append(_Filter("word", starts, starts if postgres else or_(
            *(func.substr(key, 1, len(word)) == word for key in SEARCH_KEYS))))
    return filters


def _words(text_: str, postgres: bool) -> list[str]:
    """The search's distinct words, lowered as the database lowers its keys (every letter on
    PostgreSQL, ASCII letters only on SQLite), the longest first."""
    lowered = text_.lower() if postgres else text_.translate(_ASCII_LOWER)
    return sorted(dict.fromkeys(lowered.split()), key=len, reverse=True)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _starts(word: str, postgres: bool) -> ColumnElement:
    """SQL: one of SEARCH_KEYS starts with `word`: it is in [word, the least string after
    every string that starts with word), a range of the key's index."""
    after = _after(word)
    ranges = []
    for key in SEARCH_KEYS:
        key = _bytewise(key, postgres)
        ranges.append(and_(key >= word, key < after) if after is not None else key >= word)
    return or_(*ranges)


def _after(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix`, in code point
    order (= UTF-8 byte order); None when there is none."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last < 0xE000:  # surrogates are not characters
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _bytewise(key: ColumnElement, postgres: bool) -> ColumnElement:
    """A text key compared byte by byte, as its index is (COLLATE "C" on PostgreSQL)."""
    return key.collate("C") if postgres and any(key is k for k in BYTEWISE) else key


def _matching(conditions: Sequence[ColumnElement]) -> Select:
    return select(Lead.id).where(*conditions)


def _by_time_left(search: _Search, query: LeadQuery, offset: int, limit: int) -> list[int]:
    """The ids on the page sorted by the time left given: the given leads that match, ordered
    here by their values (ties by id), then the other matches by id."""
    seconds = {int(i): float(left) for i, left in query.time_left
               if not math.isnan(left)}  # NaN: no value, as a lead not given
    given = sorted(seconds)
    matched = []
    if given:
        restricted = _Search(search.session, [*search.filters, _Filter(
            "ids", columnar.one_of(col(Lead.id), given, search.session),
            columnar.one_of(col(Lead.id) if search.postgres else _plus(col(Lead.id)), given,
                            search.session), len(given))], search.postgres)
        restricted.filter_first = True
        matched = list(search.session.execute(_matching(restricted.where())).scalars())
    ordered = sorted(matched, key=lambda i: (seconds[i], i), reverse=query.descending)
    ids = ordered[offset:offset + limit]
    if len(ids) == limit:
        return ids
    extra = []
    if matched:
        other = ~columnar.one_of(col(Lead.id), matched, search.session)
        extra.append(_Filter("not_ids", other, other))
    return ids + search.page(None, query.descending, max(0, offset - len(ordered)),
                             limit - len(ids), extra=extra)


# ---------------------------------------------------------------------------------------------
# The page's rows


def _rows(session: Session, ids: list[int]) -> pd.DataFrame:
    """The leads `ids`, in that order, with their stage and human touches."""
    if not ids:
        return _frame([])
    leads = columnar.read_frame(session, select(
        Lead.id, Lead.source, Lead.external_id, Lead.name, Lead.company, Lead.email,
        Lead.owner, Lead.channel, Lead.segment, Lead.region, Lead.mql_at, Lead.accepted_at,
        Lead.rejected_at, Lead.rejection_reason, Lead.sql_at, Lead.opportunity_at,
        Lead.won_at, Lead.lost_at, STAGE.label("stage")).where(col(Lead.id).in_(ids)),
        columnar=False)
    human = col(Touch.automated).is_(False)
    touches = columnar.read_frame(session, select(
        col(Touch.lead_id).label("id"), func.sum(case((human, 1), else_=0)).label("touches"),
        func.max(case((human, Touch.at))).label("last_touch_at"))
        .where(col(Touch.lead_id).in_(ids)).group_by(Touch.lead_id), columnar=False)
    frame = leads.set_index("id").reindex(ids)
    frame["stage"] = pd.Series([None if pd.isna(s) else STAGES[int(s)] for s in frame["stage"]],
                               index=frame.index, dtype=object)
    touched = touches.set_index("id")
    frame["touches"] = touched["touches"].reindex(ids).fillna(0).astype("int64").to_numpy()
    frame["last_touch_at"] = pd.to_datetime(touched["last_touch_at"], utc=True,
                                            format="ISO8601").reindex(ids).to_numpy()
    return frame.reset_index()[COLUMNS]


def _frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------------------------------
# Choices


_DISTINCT = """
WITH RECURSIVE seen(value, n) AS (
    SELECT (SELECT min({column}) FROM leads), 1
    UNION ALL
    SELECT (SELECT min({column}) FROM leads WHERE {column} > seen.value), n + 1
    FROM seen WHERE seen.value IS NOT NULL AND n < :most
)
SELECT value FROM seen WHERE value IS NOT NULL
"""


def _distinct(session: Session, column: str) -> list[str]:
    """The distinct values of a lead column with an index of its own first: one index seek per
    value (a "loose index scan"), not a read of every lead; at most MAX_CHOICES."""
    assert column in ("owner", "channel", "segment", "region")
    values = session.execute(text(_DISTINCT.format(column=column)),
                             {"most": MAX_CHOICES}).scalars().all()
    return sorted(values, key=str.casefold)


__all__ = ["COUNT_CAP", "MAX_IDS", "MAX_PAGE_SIZE", "SORTS", "STAGES", "LeadPage", "LeadQuery",
           "filter_choices", "search_leads"]

