"""The SLA document of DESIGN §3: model, validation, YAML load and dump, redline diff, template.

Pure domain code: no streamlit, no database. A `Document` is one agreement version; it is built only
through validation (`parse_yaml`, `from_dict`, `template`), so every `Document` obeys the schema.
"""

import codecs
import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core import limits
from core.permissions import Role

if TYPE_CHECKING:
    from core.calendar import BusinessCalendar

__all__ = [
    "FORMAT_VERSION",
    "COMMITMENT_KINDS",
    "ESCALATED_KINDS",
    "OPERATORS",
    "RECIPIENTS",
    "WEEKDAYS",
    "AcceptanceRateCommitment",
    "AttemptsCommitment",
    "Calendar",
    "ClauseChange",
    "Commitment",
    "Consequences",
    "Criterion",
    "Document",
    "DocumentError",
    "Effective",
    "Escalation",
    "EscalationAction",
    "Holidays",
    "InvalidAgreement",
    "ResponseCommitment",
    "business_calendar",
    "clause_ids",
    "SharedGoal",
    "Stage",
    "Stages",
    "TeamReference",
    "VolumeCommitment",
    "diff",
    "dump_yaml",
    "from_dict",
    "locate",
    "parse_within",
    "parse_yaml",
    "recipient_kind",
    "team_references",
    "teams_named",
    "template",
    "to_dict",
    "within_seconds",
]

FORMAT_VERSION = 1

Owner = Literal["marketing", "sales"]
Period = Literal["week", "month", "quarter"]
VolumeStage = Literal["created", "mql", "sal", "sql", "opportunity", "won"]
ClockStart = Literal["created", "mql", "sal", "sql"]
ClockStop = Literal["first_touch", "accepted_or_rejected", "sal", "sql"]
Metric = Literal["won_amount", "won_count", "pipeline_amount", "sql_count"]
Operator = Literal["==", "!=", "in", "not in", ">=", ">", "<=", "<", "contains", "exists"]
Trigger = Literal["at_risk", "breached"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPERATORS: tuple[str, ...] = get_args(Operator)
ORDERING_OPERATORS = (">=", ">", "<=", "<")
LIST_OPERATORS = ("in", "not in")

_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WITHIN = re.compile(r"([1-9][0-9]*)([mhd])")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_LAST_STEP = re.compile(r"(\.[^.\[]*|\[[^\]]*\])$")  # of a key path: ".key" or "[index]"
_UNIT_SECONDS = {"m": 60, "h": 3600}
# The longest `within` per unit, and the most digits it can have (checked before int()).
_WITHIN_MAX = {"m": limits.WITHIN_MAX_SECONDS // 60, "h": limits.WITHIN_MAX_SECONDS // 3600,
               "d": limits.WITHIN_MAX_DAYS}
_WITHIN_MAX_DIGITS = len(str(max(_WITHIN_MAX.values())))
_MONEY_METRICS = ("won_amount", "pipeline_amount")
_REASON_MAX_CHARS = limits.LEAD_FIELD_MAX_CHARS["rejection_reason"]
_SHOWN_MAX_CHARS = 80
_LISTED_MAX = 10  # ids a message lists before it says how many more there are
# Who an escalation notifies, besides a team (`team:<name>`) and the users of a role.
RECIPIENTS = ("owner", "owner_team", "sales_head", "marketing_head", "exec")
_ROLES = tuple(role.value for role in Role)
_RECIPIENT_FORMS = (f"{', '.join(RECIPIENTS)}, team:<name> (the users of a team) or "
                    f"role:<role> (the users of a role: {', '.join(_ROLES)})")
# The commitments with a clock per lead, which an escalation can follow.
ESCALATED_KINDS = ("response", "attempts")


# --- errors ----------------------------------------------------------------------------------


class DocumentError(NamedTuple):
    """One problem in an agreement document: key path ("" for the root), message, 1-based line."""

    path: str
    message: str
    line: int | None = None

    def describe(self, source: str | None = None) -> str:
        """`<source>:<line>: <path>: <message>`, leaving out the parts that are unknown."""
        place = ":".join(str(part) for part in (source, self.line) if part is not None)
        return ": ".join(part for part in (place, self.path, self.message) if part)


class InvalidAgreement(ValueError):
    """An agreement document broke the schema; `errors` lists every problem found."""

    def __init__(self, errors: list[DocumentError], source: str | None = None):
        self.errors = list(errors)
        self.source = source
        super().__init__("\n".join(error.describe(source) for error in self.errors))


class _Problems(ValueError):
    """Raised by a validator that locates problems below the value it checks."""

    def __init__(self, *problems: tuple[str, str]):
        self.problems = problems  # (path relative to the checked value, message)
        super().__init__("; ".join(f"{where}: {message}" for where, message in problems))


def _join(path: str, key: str | int) -> str:
    """The path of `key` (a mapping key, or a list index when an int) below `path`.

    A long key is cut short: every error below it repeats its path.
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = _cut(str(key))
    if key.startswith("["):
        return f"{path}{key}"
    return f"{path}.{key}" if path else key


# --- scalar validators, shared by every model -----------------------------------------------


def _kind_of(value: Any) -> str:
    """How YAML read a value, for messages that ask the author to write it differently."""
    if isinstance(value, bool):
        return "a boolean (YAML reads yes, no, on, off, true, false as booleans)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "text" if isinstance(value, str) else type(value).__name__


def _text(value: Any) -> str:
    """A non-blank string; other scalars must be quoted to become text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("must not be empty")
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {_kind_of(value)}; quote it")
    if "\x00" in value:  # PostgreSQL's text columns cannot hold it
        raise ValueError("holds a NUL character (\\0), which no text may hold")
    return value


def _number(value: Any) -> int | float:
    """An int or a float, kept as written (1000 stays 1000) so that export is faithful."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = "; remove the quotes" if isinstance(value, str) else ""
        raise ValueError(f"must be a number, not {_kind_of(value)}{hint}")
    if not _finite(value):
        raise ValueError("must be a finite number")
    return value


def _finite(value: int | float) -> bool:
    """Whether a number is finite; an int always is (math.isfinite overflows on huge ones)."""
    return isinstance(value, int) or math.isfinite(value)


def _shown(value: Any) -> str:
    """A value's repr for a message, cut short: an error never echoes a whole upload."""
    return _cut(repr(value))


def _cut(text: str) -> str:
    """A text for a message, cut short."""
    return text if len(text) <= _SHOWN_MAX_CHARS else text[:_SHOWN_MAX_CHARS - 1] + "…"


def _at_most(most: int, limit: str) -> Callable[[Any], Any]:
    """A validator refusing a number above `most`, or a text longer than `most` characters."""
    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > most:
            raise ValueError(f"is {len(value):,} characters long; at most {most:,} are allowed "
                             f"({limit})")
        if not isinstance(value, str) and value > most:
            raise ValueError(f"must be at most {most:,}, not {_shown(value)} ({limit})")
        return value
    return check


def _positive(value: int | float) -> int | float:
    """A number above zero."""
    if value <= 0:
        raise ValueError(f"must be greater than 0, not {value}")
    return value


def _percent(value: int | float) -> int | float:
    """A percentage in (0, 100]."""
    if not 0 < value <= 100:
        raise ValueError(f"must be a percentage above 0 and at most 100, not {value}")
    return value


def _count(value: Any) -> int:
    """A whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, not {_shown(value)}")
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def _slug(value: Any) -> str:
    """A lowercase identifier such as `first-touch`."""
    if not _SLUG.fullmatch(_text(value)):
        raise ValueError(
            f"{_shown(value)} is not a valid id: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or a digit"
        )
    return value


def _day(value: Any) -> date:
    """A calendar date, from YAML (a date) or from a plain dict (a "YYYY-MM-DD" string)."""
    if isinstance(value, datetime):
        raise ValueError("must be a date without a time, written YYYY-MM-DD")
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a real date") from None
    if not isinstance(value, date):
        raise ValueError(f"must be a date written YYYY-MM-DD, not {_shown(value)}")
    if not limits.DATE_FIRST_YEAR <= value.year <= limits.DATE_LAST_YEAR:
        raise ValueError(f"must be a date in the years {limits.DATE_FIRST_YEAR} to "
                         f"{limits.DATE_LAST_YEAR}, not {value.isoformat()} "
                         "(DATE_FIRST_YEAR, DATE_LAST_YEAR)")
    return value


def _time(value: Any) -> str:
    """A wall-clock time written as a quoted "HH:MM" string; "24:00" is midnight at day end."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 13:00 as the base-60 integer 780.
        hint = f'"{value // 60:02d}:{value % 60:02d}"' if 0 <= value <= 1440 else '"HH:MM"'
        raise ValueError(
            f"times must be quoted: YAML read an unquoted time as the number {value}; "
            f"write {hint}"
        )
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise ValueError(f'must be a quoted "HH:MM" time such as "09:00", not {_shown(value)}')
    return value


def parse_within(within: str) -> tuple[int, str]:
    """Split a time budget such as "4h" into (4, "h"); raise ValueError for anything else."""
    match = _WITHIN.fullmatch(within) if isinstance(within, str) else None
    if match is None:
        raise ValueError(
            f"must be a whole number above 0 followed by m, h or d (such as 30m, 4h, 5d), "
            f"not {_shown(within)}"
        )
    if len(match[1]) > _WITHIN_MAX_DIGITS:
        raise ValueError(_longest_budget(within))
    return int(match[1]), match[2]


def _longest_budget(within: str) -> str:
    """The message for a budget beyond the longest one allowed."""
    return (f"{_shown(within)} is longer than the longest budget allowed: a year of business "
            f"time ({_WITHIN_MAX['h']:,}h or {_WITHIN_MAX['m']:,}m, WITHIN_MAX_SECONDS; "
            f"{_WITHIN_MAX['d']}d, WITHIN_MAX_DAYS)")


def within_seconds(within: str) -> int | None:
    """The budget in business seconds; None for business days (`d`), which have no fixed length."""
    amount, unit = parse_within(within)
    return amount * _UNIT_SECONDS[unit] if unit in _UNIT_SECONDS else None


def _within(value: Any) -> str:
    """A valid time budget string, at most a year of business time."""
    amount, unit = parse_within(value)
    if amount > _WITHIN_MAX[unit]:
        raise ValueError(_longest_budget(value))
    return value


def _flag(value: Any) -> bool:
    """true or false, as YAML writes them (not "yes" in quotes, not 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_kind_of(value)}")
    return value


def _at_most_entries(most: int, limit: str, what: str) -> Callable[[Any], Any]:
    """A validator refusing a list of more than `most` entries, before any entry is validated."""
    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > most:
            raise ValueError(f"has {len(value):,} {what}; at most {most:,} are allowed ({limit})")
        return value
    return check


def _at_least_one(what: str) -> Callable[[list], list]:
    """A validator refusing an empty list."""
    def check(items: list) -> list:
        if not items:
            raise ValueError(f"needs at least one {what}")
        return items
    return check


def recipient_kind(text: str) -> tuple[str, str | None]:
    """Split an escalation's `notify` entry into its kind and name: "owner" → ("owner", None),
    "team:Inbound East" → ("team", "Inbound East"), "role:sales_rep" → ("role", "sales_rep").

    Raise ValueError, listing the allowed forms, for anything else.
    """
    if text in RECIPIENTS:
        return text, None
    kind, colon, name = text.partition(":") if isinstance(text, str) else ("", "", "")
    if colon and kind == "team":
        return "team", _team_name(name, text)
    if colon and kind == "role":
        if name not in _ROLES:
            raise ValueError(f"unknown role {_shown(name)} in {_shown(text)}; roles: "
                             f"{', '.join(_ROLES)}")
        return "role", name
    raise ValueError(f"{_shown(text)} is not a recipient; use {_RECIPIENT_FORMS}")


def _team_name(name: str, text: str) -> str:
    """The team of a `team:<name>` entry: written as the users' team is (trimmed, at most
    TEAM_MAX_CHARS), or no user could ever belong to it."""
    if not name.strip():
        raise ValueError(f"{_shown(text)} names no team; write team:<name>, such as "
                         "team:Inbound East")
    if name != name.strip():
        raise ValueError(f"{_shown(text)}: write the team name right after the colon, "
                         f"without spaces around it: {_shown('team:' + name.strip())}")
    if len(name) > limits.TEAM_MAX_CHARS:
        raise ValueError(f"the team name is {len(name):,} characters long; at most "
                         f"{limits.TEAM_MAX_CHARS} are allowed (TEAM_MAX_CHARS)")
    return name


def _recipient(value: Any) -> str:
    """One `notify` entry."""
    recipient_kind(_text(value))
    return value


def _reassign_target(value: Any) -> str:
    """Whom a breached lead is reassigned among: the owner's team or a named team."""
    text = _text(value)
    if text != "owner_team" and not text.startswith("team:"):
        raise ValueError("must be owner_team (the team of the lead's owner) or team:<name>, "
                         f"not {_shown(value)}")
    recipient_kind(text)
    return text


def _listed(ids: list[str]) -> str:
    """Ids for a message, the first few of a long list."""
    if not ids:
        return "none"
    more = len(ids) - _LISTED_MAX
    return ", ".join(ids[:_LISTED_MAX]) + (f" and {more:,} more" if more > 0 else "")


def _weekday(value: Any) -> str:
    """A weekday key of `calendar.hours`."""
    if value not in WEEKDAYS:
        raise ValueError(f"unknown weekday {_shown(value)}; use {', '.join(WEEKDAYS)}")
    return value


def _timezone(value: Any) -> str:
    """An IANA time zone name known to zoneinfo."""
    try:
        ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {_shown(value)}; use an IANA name such as America/New_York"
        ) from None
    return value


def _country(value: Any) -> str:
    """A country code the `holidays` package knows."""
    supported = holidays.list_supported_countries()
    if _text(value) not in supported:
        hint = f"; did you mean {value.upper()}?" if value.upper() in supported else ""
        raise ValueError(f"unknown holidays country code {_shown(value)}{hint}")
    return value


def _scalar(value: Any) -> bool:
    """Whether a value is a plain scalar a lead field can be compared with."""
    return isinstance(value, str | bool) or (isinstance(value, int | float) and _finite(value))


def _filter_value(value: Any) -> Any:
    """A filter's value: one scalar, or a non-empty list of scalars (any of them matches)."""
    if isinstance(value, list) and value and all(_scalar(item) for item in value):
        return value
    if _scalar(value):
        return value
    raise ValueError("must be a value or a non-empty list of values (text, numbers, true/false)")


def _unique_items(values: list) -> list:
    """Refuse repeated entries, naming each repeat (in one pass: lists may be long)."""
    seen = set()
    repeats = []
    for index, value in enumerate(values):
        if value in seen:
            repeats.append((f"[{index}]", f"duplicate {_shown(value)}"))
        seen.add(value)
    if repeats:
        raise _Problems(*repeats)
    return values


def _window(window: tuple[str, str]) -> tuple[str, str]:
    """A [start, end) window whose end comes after its start."""
    start, end = window
    if start == "24:00":
        raise _Problems(("[0]", '"24:00" may only end a window; start the next day at "00:00"'))
    if end <= start:
        hint = '; a window up to midnight ends at "24:00"' if end == "00:00" else (
            f'; an overnight shift is two windows, ["{start}", "24:00"] on one day and '
            f'["00:00", "{end}"] on the next')
        raise ValueError(f"the end {end} must be after the start {start}{hint}")
    return window


def _no_overlaps(windows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Refuse windows of one day that overlap each other.

    Windows are swept in order of start (not compared pairwise: a day may list thousands), each
    against the one reaching furthest among those that start before it.
    """
    overlaps = []
    furthest = None
    for index in sorted(range(len(windows)), key=lambda index: (*windows[index], index)):
        start, end = windows[index]
        if furthest is not None and start < furthest[1]:
            overlaps.append((f"[{index}]", f"overlaps the window {furthest[0]}–{furthest[1]}"))
        if furthest is None or end > furthest[1]:
            furthest = (start, end)
    if overlaps:
        raise _Problems(*overlaps)
    return windows


def _working_week(hours: dict[str, list]) -> dict[str, list]:
    """At least one working window in the week; days kept in weekday order."""
    if not any(hours.values()):
        raise ValueError("the week has no working hours; give at least one day a window")
    return {day: hours[day] for day in WEEKDAYS if day in hours}


def _format_version(value: Any) -> int:
    """The `handoff:` format version this code reads."""
    if isinstance(value, bool) or value != FORMAT_VERSION or not isinstance(value, int):
        raise ValueError(f"unsupported format version {_shown(value)}; "
                         "this Handoff reads handoff: 1")
    return value


Text = Annotated[str, PlainValidator(_text),
                 AfterValidator(_at_most(limits.TEXT_MAX_CHARS, "TEXT_MAX_CHARS"))]
Title = Annotated[Text, AfterValidator(_at_most(limits.TITLE_MAX_CHARS, "TITLE_MAX_CHARS"))]
FieldName = Annotated[Text, AfterValidator(_at_most(limits.KEY_MAX_CHARS, "KEY_MAX_CHARS"))]
# Rejection reasons are stored on leads and disputes, in columns of this width.
ReasonId = Annotated[Text, AfterValidator(_at_most(_REASON_MAX_CHARS, "LEAD_FIELD_MAX_CHARS"))]
Slug = Annotated[str, PlainValidator(_slug),
                 AfterValidator(_at_most(limits.ID_MAX_CHARS, "ID_MAX_CHARS"))]
Number = Annotated[int | float, PlainValidator(_number)]
PositiveNumber = Annotated[Number, AfterValidator(_positive)]
CountTarget = Annotated[PositiveNumber,
                        AfterValidator(_at_most(limits.COUNT_TARGET_MAX, "COUNT_TARGET_MAX"))]
Percent = Annotated[Number, AfterValidator(_percent)]
Count = Annotated[int, PlainValidator(_count),
                  AfterValidator(_at_most(limits.COUNT_TARGET_MAX, "COUNT_TARGET_MAX"))]
Day = Annotated[date, BeforeValidator(_day)]
Time = Annotated[str, PlainValidator(_time)]
Within = Annotated[str, PlainValidator(_within)]
Flag = Annotated[bool, PlainValidator(_flag)]
Weekday = Annotated[str, PlainValidator(_weekday)]
TimeZone = Annotated[str, PlainValidator(_timezone)]
CountryCode = Annotated[str, PlainValidator(_country)]
FilterValue = Annotated[Any, PlainValidator(_filter_value)]
Filter = dict[FieldName, FilterValue]
Window = Annotated[tuple[Time, Time], AfterValidator(_window)]
DayHours = Annotated[list[Window], AfterValidator(_no_overlaps)]
WeekHours = Annotated[dict[Weekday, DayHours], AfterValidator(_working_week)]
Recipient = Annotated[str, PlainValidator(_recipient)]
Recipients = Annotated[
    list[Recipient],
    BeforeValidator(_at_most_entries(limits.ESCALATION_RECIPIENTS_MAX,
                                     "ESCALATION_RECIPIENTS_MAX", "recipients")),
    AfterValidator(_unique_items), AfterValidator(_at_least_one("recipient")),
]
ReassignTarget = Annotated[str, PlainValidator(_reassign_target)]


# --- the document ----------------------------------------------------------------------------


class _Model(BaseModel):
    """Base of every part of the document: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(_Model):
    """The period [start, end) in which the version is in force, in the calendar's zone."""

    start: Day
    end: Day

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date, info: ValidationInfo) -> date:
        """The period must not be empty."""
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"must be after effective.start ({start.isoformat()})")
        return end


class Holidays(_Model):
    """Full-day closures: a country's (and subdivision's) public holidays, plus extra dates."""

    country: CountryCode | None = None
    subdivision: Text | None = None
    dates: list[Day] = Field(default_factory=list)

    @model_validator(mode="after")
    def _subdivision_of_country(self) -> "Holidays":
        """A subdivision needs a country that has it."""
        if self.subdivision is None:
            return self
        if self.country is None:
            raise _Problems(("subdivision", "a subdivision needs a country"))
        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            known = ", ".join(holidays.list_supported_countries()[self.country]) or "none"
            raise _Problems(
                ("subdivision", f"{self.country} has no subdivision {_shown(self.subdivision)}; "
                                f"known subdivisions: {known}")
            ) from None
        return self


class Calendar(_Model):
    """Business hours: local wall-clock windows per weekday in an IANA zone, minus holidays."""

    timezone: TimeZone
    hours: WeekHours
    holidays: Holidays = Field(default_factory=Holidays)


class Criterion(_Model):
    """One condition a lead must meet to be in a stage: `field op value`."""

    field: FieldName
    op: Operator
    value: Any

    @field_validator("value")
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> Any:
        """Each operator needs its own kind of value."""
        op = info.data.get("op")
        if op in LIST_OPERATORS:
            if not (isinstance(value, list) and value and all(_scalar(item) for item in value)):
                raise ValueError(f"`{op}` needs a non-empty list of values, such as [a, b]")
        elif op == "exists":
            if not isinstance(value, bool):
                raise ValueError("`exists` needs true or false")
        elif op in ORDERING_OPERATORS:
            if isinstance(value, bool) or not _scalar(value):
                raise ValueError(f"`{op}` needs a number or a text value")
        elif op is not None and not _scalar(value):
            raise ValueError(f"`{op}` needs a single value (text, number, true/false)")
        return value


class Stage(_Model):
    """What a funnel stage means, and the criteria an MQL must meet."""

    description: Text | None = None
    criteria: list[Criterion] = Field(default_factory=list)


class Stages(_Model):
    """The agreed definitions of MQL (required), SAL and SQL."""

    mql: Stage
    sal: Stage | None = None
    sql: Stage | None = None


class Consequences(_Model):
    """What happens when a side misses its commitments, in free text per side."""

    marketing: Text | None = None
    sales: Text | None = None


class _Commitment(_Model):
    """Fields every commitment has; `kind` selects the rest."""

    id: Slug
    owner: Owner
    kind: str
    description: Text | None = None


class VolumeCommitment(_Commitment):
    """Count of leads reaching `stage` in each `per` period, optionally filtered."""

    kind: Literal["volume"]
    stage: VolumeStage
    target: CountTarget
    per: Period
    filter: Filter | None = None


class ResponseCommitment(_Commitment):
    """A business-time clock from `start` to `stop` with a budget of `within`."""

    kind: Literal["response"]
    start: ClockStart
    stop: ClockStop
    within: Within
    target_pct: Percent


class AttemptsCommitment(_Commitment):
    """Met when the Nth non-automated touch lands within the budget from `start`."""

    kind: Literal["attempts"]
    start: ClockStart = "mql"
    attempts: Count
    within: Within
    target_pct: Percent


class AcceptanceRateCommitment(_Commitment):
    """Accepted / (accepted + rejected) among the MQLs of the period."""

    kind: Literal["acceptance_rate"]
    target_pct: Percent


Commitment = Annotated[
    VolumeCommitment | ResponseCommitment | AttemptsCommitment | AcceptanceRateCommitment,
    Field(discriminator="kind"),
]
COMMITMENT_KINDS: dict[str, type[_Commitment]] = {
    "volume": VolumeCommitment,
    "response": ResponseCommitment,
    "attempts": AttemptsCommitment,
    "acceptance_rate": AcceptanceRateCommitment,
}


class SharedGoal(_Model):
    """A goal both sides own, such as won revenue per quarter."""

    id: Slug
    metric: Metric
    target: PositiveNumber
    per: Period
    filter: Filter | None = None

    @field_validator("target")
    @classmethod
    def _target_within_its_maximum(cls, target: int | float, info: ValidationInfo) -> int | float:
        """Money goals go up to MONEY_MAX, count goals up to COUNT_TARGET_MAX."""
        if info.data.get("metric") in _MONEY_METRICS:
            return _at_most(limits.MONEY_MAX, "MONEY_MAX")(target)
        return _at_most(limits.COUNT_TARGET_MAX, "COUNT_TARGET_MAX")(target)


class EscalationAction(_Model):
    """What the worker does to a breached lead besides notifying: reassign it, round robin
    among the active sales reps of a team (`team:<name>`) or of the owner's team."""

    reassign: ReassignTarget


class Escalation(_Model):
    """One rule of the escalation ladder the worker carries out: when a lead's clock of
    `commitment` is at risk, or breached (and `after` more business time has passed), tell
    the recipients of `notify` and, for a breach, perhaps reassign the lead. An urgent rule
    ignores working and quiet hours."""

    id: Slug
    commitment: Slug
    trigger: Trigger
    after: Within | None = None
    notify: Recipients
    action: EscalationAction | None = None
    urgent: Flag = False

    @model_validator(mode="after")
    def _waits_and_acts_only_on_a_breach(self) -> "Escalation":
        """A rule at risk fires before the due time, so it has no time past due to wait for,
        and the lead may still be met by its owner: only a breach reassigns."""
        if self.trigger == "breached":
            return self
        problems = []
        if self.after is not None:
            problems.append(("after", "only a rule with trigger: breached waits past the due "
                                      "time; an at_risk rule fires before it"))
        if self.action is not None:
            problems.append(("action", "only a rule with trigger: breached may act on the "
                                       "lead; an at_risk lead stays with its owner"))
        if problems:
            raise _Problems(*problems)
        return self


class Document(_Model):
    """One agreement version: the whole SLA document of DESIGN §3."""

    handoff: Annotated[int, PlainValidator(_format_version)]
    title: Title
    effective: Effective
    calendar: Calendar
    stages: Stages
    consequences: Consequences | None = None
    rejection_reasons: Annotated[list[ReasonId], AfterValidator(_unique_items)] = Field(
        default_factory=list
    )
    commitments: Annotated[list[Commitment], AfterValidator(_at_least_one("commitment"))]
    shared_goals: list[SharedGoal] = Field(default_factory=list)
    escalations: Annotated[
        list[Escalation],
        BeforeValidator(_at_most_entries(limits.ESCALATIONS_MAX, "ESCALATIONS_MAX", "rules")),
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_hold(self) -> "Document":
        """Ids are unique where comments and reports name them, and every escalation follows
        a clock of this document."""
        rules = ((f"escalations[{index}]", rule) for index, rule in enumerate(self.escalations))
        problems = [*_repeated_ids(self._identified()), *_repeated_ids(rules),
                    *self._unfollowable_commitments()]
        if problems:
            raise _Problems(*problems)
        return self

    def _identified(self) -> Iterator[tuple[str, _Commitment | SharedGoal]]:
        """Every commitment and shared goal with its path: they share one id space (a
        report's figures name both); escalations have their own (`escalations[<id>]`)."""
        for index, commitment in enumerate(self.commitments):
            yield f"commitments[{index}]", commitment
        for index, goal in enumerate(self.shared_goals):
            yield f"shared_goals[{index}]", goal

    def _unfollowable_commitments(self) -> Iterator[tuple[str, str]]:
        """Escalations naming a commitment this document lacks, or one without a clock."""
        kinds = {commitment.id: commitment.kind for commitment in self.commitments}
        clocks = [key for key, kind in kinds.items() if kind in ESCALATED_KINDS]
        for index, rule in enumerate(self.escalations):
            path = f"escalations[{index}].commitment"
            kind = kinds.get(rule.commitment)
            if kind is None:
                yield path, (f"no commitment {_shown(rule.commitment)}; commitments: "
                             f"{_listed(list(kinds))}")
            elif kind not in ESCALATED_KINDS:
                yield path, (f"{_shown(rule.commitment)} is a commitment of kind {kind}, "
                             "which has no clock per lead to escalate; name a response or "
                             f"attempts commitment: {_listed(clocks)}")

    def commitment(self, commitment_id: str) -> _Commitment:
        """The commitment with this id; KeyError when there is none."""
        for commitment in self.commitments:
            if commitment.id == commitment_id:
                return commitment
        raise KeyError(commitment_id)


def _repeated_ids(items: Iterator[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The problems of ids used twice among `items` (path, item with an id)."""
    first_use: dict[str, str] = {}
    repeats = []
    for path, item in items:
        if item.id in first_use:
            repeats.append((f"{path}.id", f"duplicate id {item.id!r}, already used by "
                                          f"{first_use[item.id]}"))
        first_use.setdefault(item.id, path)
    return repeats


def clause_ids(document: Document) -> list[str]:
    """The clauses a comment can point at, named as `diff` names them."""
    stages = [f"stages.{name}" for name in Stages.model_fields if getattr(document.stages, name)]
    commitments = [f"commitments[{commitment.id}]" for commitment in document.commitments]
    goals = [f"shared_goals[{goal.id}]" for goal in document.shared_goals]
    rules = [f"escalations[{rule.id}]" for rule in document.escalations]
    return [*stages, *commitments, *goals, *rules]


class TeamReference(NamedTuple):
    """A team an escalation names, where, and whether leads are reassigned to it (which
    needs active sales reps in it, not only users)."""

    path: str
    team: str
    reassign: bool


def team_references(document: Document) -> list[TeamReference]:
    """Every `team:<name>` of the escalations, in notify and in action, in document order:
    teams live in the workspace, so its services check them (a pure module cannot)."""
    references = []
    for index, rule in enumerate(document.escalations):
        for position, recipient in enumerate(rule.notify):
            kind, name = recipient_kind(recipient)
            if kind == "team":
                references.append(TeamReference(f"escalations[{index}].notify[{position}]",
                                                name, reassign=False))
        if rule.action is not None:
            kind, name = recipient_kind(rule.action.reassign)
            if kind == "team":
                references.append(TeamReference(f"escalations[{index}].action.reassign", name,
                                                reassign=True))
    return references


def teams_named(document: Document) -> set[str]:
    """Every team name the document's escalations mention."""
    return {reference.team for reference in team_references(document)}


def business_calendar(document: Document) -> "BusinessCalendar":
    """The document's working calendar, for business-time clocks and previews."""
    from core.calendar import BusinessCalendar  # late: only clocks need numpy and pandas

    calendar = document.calendar
    return BusinessCalendar(
        calendar.timezone,
        calendar.hours,
        holiday_country=calendar.holidays.country,
        holiday_subdivision=calendar.holidays.subdivision,
        closed_dates=calendar.holidays.dates,
    )


# --- dict conversion and error translation ---------------------------------------------------


_STORED: "OrderedDict[str, Document]" = OrderedDict()
_STORED_HELD = 64
_STORED_LOCK = threading.Lock()


def from_stored(data: Mapping) -> Document:
    """`from_dict` of a document as stored (every read of a version), parsed once per process
    for each distinct content: validating costs more than reading it, and a Document never
    changes (its parts are frozen)."""
    key = json.dumps(data, sort_keys=True, default=str)
    with _STORED_LOCK:
        document = _STORED.get(key)
        if document is not None:
            _STORED.move_to_end(key)
            return document
    document = from_dict(data)
    with _STORED_LOCK:
        _STORED[key] = document
        while len(_STORED) > _STORED_HELD:
            _STORED.popitem(last=False)
    return document


def from_dict(data: Mapping) -> Document:
    """Validate plain data (as from YAML or `to_dict`) into a Document; raise InvalidAgreement."""
    if data is None:
        raise InvalidAgreement([DocumentError("", "the agreement is empty")])
    if not isinstance(data, Mapping):
        message = f"the agreement must be a mapping of keys, not {_kind_of(data)}"
        raise InvalidAgreement([DocumentError("", message)])
    try:
        return Document.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidAgreement(_document_errors(exc)) from None


def to_dict(document: Document) -> dict:
    """A JSON-serialisable dict of the document, leaving out optional keys that were never set."""
    return document.model_dump(mode="json", exclude_unset=True, exclude_none=True)


def _document_errors(exc: ValidationError) -> list[DocumentError]:
    """Translate pydantic's errors into document errors with readable paths and messages."""
    errors = []
    for error in exc.errors():
        path = _path(error["loc"])
        failure = error.get("ctx", {}).get("error")
        if isinstance(failure, _Problems):
            errors += [DocumentError(_join(path, where), message)
                       for where, message in failure.problems]
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            errors.append(DocumentError(_join(path, "kind"), _kind_message(error)))
        else:
            errors.append(DocumentError(path, _message(error)))
    return errors


def _path(loc: tuple) -> str:
    """A dotted path from a pydantic location, without its dict-key and union-tag markers."""
    path = ""
    for index, part in enumerate(loc):
        if part == "[key]" or _is_union_tag(loc, index):
            continue
        path = _join(path, part)
    return path


def _is_union_tag(loc: tuple, index: int) -> bool:
    """Whether loc[index] is the `kind` tag pydantic inserts after a commitment's index."""
    return (index >= 2 and loc[index - 2] == "commitments" and isinstance(loc[index - 1], int)
            and loc[index] in COMMITMENT_KINDS)


def _kind_message(error: dict) -> str:
    """The message for a commitment whose kind is missing or unknown."""
    if error["type"] == "union_tag_not_found":
        return "required key is missing"
    return f"unknown kind {_shown(error['ctx']['tag'])}; use {', '.join(COMMITMENT_KINDS)}"


def _message(error: dict) -> str:
    """A readable message for one pydantic error."""
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    if kind == "literal_error":
        expected = error["ctx"]["expected"].replace("'", "")
        return f"must be {expected}, not {_shown(error['input'])}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping, not {_kind_of(error['input'])}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list, not {_kind_of(error['input'])}"
    if kind in ("too_long", "too_short"):
        return 'must be a [start, end] pair such as ["09:00", "17:00"]'
    return error["msg"].replace("Input should be", "must be")


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed at a location, found by walking the models' annotations."""
    models: list[type[BaseModel]] = [Document]
    for part in loc:
        if isinstance(part, int):
            continue
        if len(models) > 1 and part in COMMITMENT_KINDS:
            models = [COMMITMENT_KINDS[part]]
            continue
        models = [inner for model in models if part in model.model_fields
                  for inner in _models_in(model.model_fields[part].annotation)]
    return list(models[0].model_fields) if len(models) == 1 else []


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The model classes an annotation can hold, looking inside Optional, list and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in _models_in(argument)]


# --- YAML --------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _INT = _TAG + "str", _TAG + "int"
# What YAML reads a plain scalar as, by tag: the SLA uses these and nothing else.
_SCALAR_KINDS = {_STR: "text", _INT: "a number", _TAG + "float": "a number",
                 _TAG + "bool": "a boolean", _TAG + "null": "null (empty)",
                 _TAG + "timestamp": "a date"}
_COLLECTION_TAGS = {yaml.SequenceNode: _TAG + "seq", yaml.MappingNode: _TAG + "map"}
_RESOLVER = yaml.resolver.Resolver()
_INTEGER_NOISE = re.compile(r"^[-+]?(?:0[bx])?|[_:]")  # sign, base prefix, separators
_NOT_ALLOWED_TAG = ("an SLA holds only text, numbers, dates, true/false, lists and mappings; "
                    "quote text that starts with ! or is =")


def _line(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1


def _over_limit(what: str, most: str, limit: str, line: int | None = None,
                path: str = "") -> InvalidAgreement:
    """The refusal of a document that goes past one of the limits of core.limits."""
    return InvalidAgreement([DocumentError(path, f"{what}; at most {most} are allowed ({limit})",
                                           line)])


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a document as soon as it nests, holds or aliases too much, and
    hands impossible dates (2018-02-30) to the validator, which locates them."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = self.nodes = self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """One node; the limits are checked first, as the composer recurses into collections."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            self._refuse_past(self.aliases, limits.YAML_MAX_ALIASES, "aliases (*name)",
                              "YAML_MAX_ALIASES", event)
            return super().compose_node(parent, index)
        self.nodes += 1
        self._refuse_past(self.nodes, limits.YAML_MAX_NODES, "keys, values and list items",
                          "YAML_MAX_NODES", event)
        nests = isinstance(event, yaml.CollectionStartEvent)
        self.depth += int(nests)
        try:
            if self.depth > limits.YAML_MAX_DEPTH:
                raise _over_limit(
                    f"the document nests lists and mappings {self.depth} levels deep",
                    f"{limits.YAML_MAX_DEPTH}", "YAML_MAX_DEPTH", _line(event))
            return super().compose_node(parent, index)
        finally:
            self.depth -= int(nests)

    @staticmethod
    def _refuse_past(count: int, most: int, what: str, limit: str, event: yaml.Event) -> None:
        """Refuse the document at the event that takes a count past its limit."""
        if count > most:
            raise _over_limit(f"the document has more than {most:,} {what}", f"{most:,}", limit,
                              _line(event))

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        """A date or datetime, or the raw text when it is not a real one."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer; text YAML calls an integer but int() cannot read (`0x_`) is invalid YAML."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"{_shown(node.value)} is not a number; quote it if it is text",
                node.start_mark) from None


_Loader.add_constructor(_TAG + "timestamp", _Loader.construct_yaml_timestamp)
_Loader.add_constructor(_INT, _Loader.construct_yaml_int)


def parse_yaml(content: str | bytes, *, source: str | None = None) -> Document:
    """Read an agreement from YAML text or a file's bytes; raise InvalidAgreement with paths,
    line numbers and the limit a document reaches.

    Each limit of core.limits is checked before the work it bounds: the size before parsing;
    nesting, nodes and aliases while composing; the size with aliases expanded (memoised, so
    never by expanding them) before anything walks or builds the values.
    """
    try:
        node, data = _load(_decoded(content))
    except InvalidAgreement as exc:
        raise InvalidAgreement(exc.errors, source) from None
    try:
        return from_dict(data)
    except InvalidAgreement as exc:
        raise _located(exc.errors, node, source) from None


def locate(errors: list[DocumentError], content: str | bytes, *,
           source: str | None = None) -> InvalidAgreement:
    """The refusal of a document read by `parse_yaml` from `content` for problems found
    afterwards (the workspace's checks), each with its line as parse_yaml gives them."""
    node, _ = _load(_decoded(content))
    return _located(errors, node, source)


def _located(errors: list[DocumentError], root: yaml.Node | None,
             source: str | None) -> InvalidAgreement:
    """The refusal of errors found in the document of a node graph, with their lines."""
    lines = _key_lines(root)
    located = [error._replace(line=_line_of(error.path, lines)) for error in errors]
    return InvalidAgreement(_in_line_order(located), source)


def _in_line_order(errors: list[DocumentError]) -> list[DocumentError]:
    """Errors by line; those without one last."""
    return sorted(errors, key=lambda error: (error.line is None, error.line or 0))


# --- YAML: from bytes to text ---


def _decoded(content: str | bytes) -> str:
    """The document's text: refused when too large, or (bytes) when not UTF-8 or UTF-16.

    Bytes are UTF-8, with or without a byte order mark, or UTF-16 with one (what Windows
    editors call "Unicode"); anything else is refused at its first unreadable byte.
    """
    size = len(content if isinstance(content, bytes)
               else content.encode("utf-8", "surrogatepass"))
    if size > limits.YAML_MAX_BYTES:
        raise _over_limit(f"the document is {size:,} bytes",
                          f"{limits.YAML_MAX_BYTES:,} bytes ({limits.YAML_MAX_BYTES // 1024} KB)",
                          "YAML_MAX_BYTES")
    return content if isinstance(content, str) else _decode(content)


def _decode(data: bytes) -> str:
    """Strict UTF-8 without its BOM, or UTF-16 when a BOM says so."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InvalidAgreement([DocumentError("", "the file is UTF-32; save it as UTF-8")])
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = "utf-16" if utf16 else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidAgreement([_undecodable(data, exc, "UTF-16" if utf16 else "UTF-8")]) \
            from None


def _undecodable(data: bytes, exc: UnicodeDecodeError, encoding: str) -> DocumentError:
    """Where a file stops being readable text, by line, column and byte offset."""
    before = data[:exc.start].decode(exc.encoding, errors="replace").lstrip("\ufeff")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return DocumentError("", f"the file is not valid {encoding}: byte 0x{data[exc.start]:02X} at "
                             f"line {line}, column {column} (byte offset {exc.start:,}) cannot "
                             "be read; save the file as UTF-8", line)


# --- YAML: composing and checking the node graph ---


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node graph (for line numbers) and the plain data built from it, once the graph
    has passed every limit and check."""
    try:
        return _checked_load(text)
    except yaml.YAMLError as exc:
        raise InvalidAgreement([_syntax_error(exc, text)]) from None


def _checked_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose, check, construct: the loader's steps with the checks between them."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node)
        problems = _node_problems(node)
        if problems:
            raise InvalidAgreement(_in_line_order(problems))
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.YAMLError, text: str) -> DocumentError:
    """A document error for YAML that could not be read at all."""
    if isinstance(exc, yaml.reader.ReaderError):
        return _unreadable_character(exc, text)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return DocumentError("", f"invalid YAML: {exc}")
    detail = ", ".join(part for part in (exc.context, exc.problem) if part)
    mark = exc.problem_mark or exc.context_mark
    return DocumentError("", f"invalid YAML: {detail}", mark.line + 1 if mark else None)


def _unreadable_character(exc: yaml.reader.ReaderError, text: str) -> DocumentError:
    """A control character (or NUL) YAML does not allow, with its line and column."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    hint = ("; a file saved as UTF-16 without a byte order mark reads like this, save it as UTF-8"
            if exc.character == 0 else "")
    return DocumentError("", f"invalid YAML: the control character U+{exc.character:04X} at "
                             f"column {column} is not allowed in a YAML file; remove it or write "
                             f'it as an escape in double quotes, such as "\\t"{hint}', line)


def _entries(path: str, node: yaml.Node) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(path, the node that marks its line, value) of each entry of a mapping or list."""
    if isinstance(node, yaml.MappingNode):
        return [(_join(path, _key_name(key)), key, value) for key, value in node.value]
    if isinstance(node, yaml.SequenceNode):
        return [(_join(path, index), item, item) for index, item in enumerate(node.value)]
    return []


def _key_name(key: yaml.Node) -> str:
    """A key as a path shows it."""
    return key.value if isinstance(key, yaml.ScalarNode) else "?"


def _children(path: str, node: yaml.Node) -> Iterator[tuple[str, yaml.Node]]:
    """Each key and value of a mapping, or item of a list, with its path."""
    for child_path, marked, child in _entries(path, node):
        if marked is not child:
            yield child_path, marked
        yield child_path, child


def _distinct_nodes(root: yaml.Node) -> Iterator[tuple[str, yaml.Node]]:
    """Every node of the graph once, in document order, with the path where it first appears.

    An alias is the very node it names, so entering each node once never expands an alias.
    """
    entered: set[yaml.Node] = set()
    pending = [("", root)]
    while pending:
        path, node = pending.pop()
        if node not in entered:
            entered.add(node)
            yield path, node
            pending += reversed(list(_children(path, node)))


class _Extent(NamedTuple):
    """A node's size with its aliases expanded."""

    nodes: int
    height: int  # lists and mappings, from this node down to its deepest scalar
    chars: int


class _Expansion:
    """The extent of every node of a graph, each measured once (memoised by identity)."""

    def __init__(self) -> None:
        self.known: dict[yaml.Node, _Extent] = {}
        self.open: set[yaml.Node] = set()  # the nodes being measured: the current node's ancestors

    def extent(self, node: yaml.Node, path: str, level: int) -> _Extent:
        """The extent of a node that `level` lists and mappings enclose."""
        if node in self.open:
            raise InvalidAgreement([DocumentError(
                path, "recursive alias: it names a list or mapping that contains it", _line(node))])
        if node not in self.known:
            self.known[node] = self._measured(node, path, level)
        extent = self.known[node]
        if level + extent.height > limits.YAML_MAX_DEPTH:
            raise self._too_deep(node, path)
        return extent

    def _measured(self, node: yaml.Node, path: str, level: int) -> _Extent:
        """Measure a node not seen before; a collection is refused before it nests too deep."""
        if isinstance(node, yaml.ScalarNode):
            return _Extent(1, 0, len(node.value))
        if level + 1 > limits.YAML_MAX_DEPTH:
            raise self._too_deep(node, path)
        self.open.add(node)
        parts = [self.extent(child, child_path, level + 1)
                 for child_path, child in _children(path, node)]
        self.open.discard(node)
        return _Extent(1 + sum(part.nodes for part in parts),
                       1 + max((part.height for part in parts), default=0),
                       sum(part.chars for part in parts))

    @staticmethod
    def _too_deep(node: yaml.Node, path: str) -> InvalidAgreement:
        """The refusal of a node that aliases nest too deep."""
        return _over_limit(f"with its aliases expanded, the document nests lists and mappings "
                           f"more than {limits.YAML_MAX_DEPTH} levels deep",
                           f"{limits.YAML_MAX_DEPTH}", "YAML_MAX_DEPTH", _line(node), path)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a graph that would be too large, too deep or endless with its aliases expanded."""
    extent = _Expansion().extent(root, "", 0)
    if extent.nodes > limits.YAML_MAX_NODES:
        raise _over_limit(f"with its aliases expanded, the document has {extent.nodes:,} keys, "
                          "values and list items", f"{limits.YAML_MAX_NODES:,}", "YAML_MAX_NODES")
    if extent.chars > limits.YAML_MAX_EXPANDED_CHARS:
        raise _over_limit(f"with its aliases expanded, the document holds {extent.chars:,} "
                          "characters of keys and values",
                          f"{limits.YAML_MAX_EXPANDED_CHARS:,}", "YAML_MAX_EXPANDED_CHARS")


def _node_problems(root: yaml.Node) -> list[DocumentError]:
    """What no SLA holds, found in each node once: foreign tags, keys that are not text,
    duplicate keys, integers too long to read."""
    problems = []
    for path, node in _distinct_nodes(root):
        if isinstance(node, yaml.ScalarNode):
            problems += _scalar_problems(path, node)
        elif node.tag != _COLLECTION_TAGS[type(node)]:
            problems.append(_tag_problem(path, node))
        if isinstance(node, yaml.MappingNode):
            problems += [*_key_problems(path, node), *_duplicate_keys(path, node)]
    return problems


def _tag_problem(path: str, node: yaml.Node) -> DocumentError:
    """A node whose tag the SLA never uses (!!python/..., !!binary, !!set, merge keys...)."""
    if node.tag == _TAG + "merge":
        return DocumentError(path, "merge keys (<<) are not supported; write the keys out",
                             _line(node))
    tag = _cut(node.tag.replace(_TAG, "!!"))
    return DocumentError(path, f"the YAML tag {tag} is not allowed: {_NOT_ALLOWED_TAG}",
                         _line(node))


def _scalar_problems(path: str, node: yaml.ScalarNode) -> list[DocumentError]:
    """A scalar's tag must be one the SLA uses and fit its text; integers must be short."""
    if node.tag not in _SCALAR_KINDS:
        return [_tag_problem(path, node)]
    if node.tag != _STR and node.tag != _RESOLVER.resolve(yaml.ScalarNode, node.value,
                                                           (True, False)):
        tag = node.tag.replace(_TAG, "!!")
        return [DocumentError(path, f"{_shown(node.value)} is not {_SCALAR_KINDS[node.tag]}, "
                                    f"so it cannot be tagged {tag}", _line(node))]
    digits = len(_INTEGER_NOISE.sub("", node.value)) if node.tag == _INT else 0
    if digits > limits.YAML_MAX_INTEGER_DIGITS:
        return [DocumentError(path, f"the integer has {digits:,} digits; at most "
                                    f"{limits.YAML_MAX_INTEGER_DIGITS} are allowed "
                                    "(YAML_MAX_INTEGER_DIGITS)", _line(node))]
    return []


def _key_problems(path: str, node: yaml.MappingNode) -> Iterator[DocumentError]:
    """Keys that YAML reads as something other than text (lists, numbers, booleans...), and keys
    too long for any name (checked before validation, which repeats a key in every error below
    it)."""
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            kind = "a list" if isinstance(key, yaml.SequenceNode) else "a mapping"
            yield DocumentError(path, f"a key must be text, not {kind}", _line(key))
        elif key.tag != _STR and key.tag in _SCALAR_KINDS:
            yield DocumentError(_join(path, key.value), f"the key reads as "
                                f"{_SCALAR_KINDS[key.tag]}; keys are text: quote it", _line(key))
        elif len(key.value) > limits.KEY_MAX_CHARS:
            yield DocumentError(_join(path, key.value), f"the key is {len(key.value):,} characters "
                                f"long; at most {limits.KEY_MAX_CHARS} are allowed "
                                "(KEY_MAX_CHARS)", _line(key))


def _duplicate_keys(path: str, node: yaml.MappingNode) -> Iterator[DocumentError]:
    """Keys written twice in one mapping, which plain YAML loading silently collapses."""
    seen = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value in seen:
            yield DocumentError(_join(path, key.value),
                                "duplicate key; each key may appear only once", _line(key))
        seen.add(key.value if isinstance(key, yaml.ScalarNode) else key)


def _key_lines(root: yaml.Node | None) -> dict[str, int]:
    """The 1-based line of every key and list item of the document, by the path where its
    node first appears (an alias's entries point at the anchor's lines)."""
    if root is None:
        return {}
    lines: dict[str, int] = {}
    for path, node in _distinct_nodes(root):
        for child_path, marked, _ in _entries(path, node):
            lines.setdefault(child_path, _line(marked))
    return lines


def _line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of a path, or of its nearest written ancestor (a missing key's parent)."""
    while path:
        if path in lines:
            return lines[path]
        parent = _LAST_STEP.sub("", path)
        path = parent if parent != path else ""  # a key of the root has the root as parent
    return None


class _FlowList(list):
    """A list dumped on one line: [a, b]."""


class _FlowMap(dict):
    """A mapping dumped on one line: {a: 1, b: 2}."""


class _QuotedText(str):
    """A string dumped in double quotes, the one style that escapes every character."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key and never writes anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent block lists below their parent key, as the DESIGN example does."""
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        """Write repeated values out in full: the file is for people."""
        return True


_Dumper.add_representer(
    _FlowList, lambda dumper, data: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=True))
_Dumper.add_representer(
    _FlowMap, lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(
    _QuotedText, lambda dumper, data: dumper.represent_scalar(
        "tag:yaml.org,2002:str", str(data), style='"'))

# Mappings written on one line; lists are on one line unless they hold whole objects.
_FLOW_MAPPINGS = {"effective", "filter", "criteria", "action"}
_BLOCK_LISTS = {"criteria", "commitments", "shared_goals", "escalations"}
_NO_LINE_WRAP = 1 << 20


def dump_yaml(document: Document) -> str:
    """The canonical YAML of a document: DESIGN §3 key order, quoted times, YYYY-MM-DD dates."""
    data = document.model_dump(mode="python", exclude_unset=True, exclude_none=True)
    return yaml.dump(
        _styled(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
        default_flow_style=False, width=_NO_LINE_WRAP,
    )


def _styled(value: Any, key: str | None = None) -> Any:
    """Wrap plain values in the styles dump_yaml writes them in."""
    if isinstance(value, dict):
        styled = {name: _styled(item, name) for name, item in value.items()}
        return _FlowMap(styled) if key in _FLOW_MAPPINGS else styled
    if isinstance(value, list | tuple):
        items = [_styled(item, key) for item in value]
        return items if key in _BLOCK_LISTS else _FlowList(items)
    if isinstance(value, str) and _needs_double_quotes(value):
        return _QuotedText(value)
    return value


def _needs_double_quotes(text: str) -> bool:
    """Times, so YAML never reads them as numbers; text with line breaks PyYAML would fold."""
    return bool(_TIME.fullmatch(text)) or any(char in text for char in "\x85\u2028\u2029")


# --- redline diff ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseChange:
    """One difference between two versions: which clause, how, and its old and new values."""

    clause: str
    change: Literal["added", "removed", "changed"]
    old: Any
    new: Any


_MATCHED_BY_ID = {"commitments", "shared_goals", "escalations"}


def diff(old: Document, new: Document) -> list[ClauseChange]:
    """The clause-by-clause redline from `old` to `new`; empty exactly when they are equal.

    Commitments, shared goals and escalations are matched by id. Moving them around without
    other edits is reported once, as a change of the list's clause ("commitments") from the old
    to the new order of ids, so that any edit to an approved version shows up.
    """
    return list(_changes("", _values(old), _values(new)))


def _values(document: Document) -> dict:
    """Every value of the document in force, defaults included, as plain data."""
    return document.model_dump(mode="json", exclude_none=True)


def _changes(clause: str, old: Any, new: Any) -> Iterator[ClauseChange]:
    """The changes below one clause."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _keyed_changes(clause, old, new)
    elif clause in _MATCHED_BY_ID:
        yield from _keyed_changes(clause, _by_id(old), _by_id(new))
        yield from _order_change(clause, list(_by_id(old)), list(_by_id(new)))
    else:
        yield ClauseChange(clause, "changed", old, new)


def _keyed_changes(clause: str, old: dict, new: dict) -> Iterator[ClauseChange]:
    """Changes between two mappings: keys removed, added, or changed below."""
    for key in [*old, *(key for key in new if key not in old)]:
        child = f"{clause}[{key}]" if clause in _MATCHED_BY_ID else _join(clause, key)
        if key not in new:
            yield ClauseChange(child, "removed", old[key], None)
        elif key not in old:
            yield ClauseChange(child, "added", None, new[key])
        else:
            yield from _changes(child, old[key], new[key])


def _by_id(items: list[dict]) -> dict[str, dict]:
    """Commitments, goals or escalations keyed by id, in document order."""
    return {item["id"]: item for item in items}


def _order_change(clause: str, old_ids: list[str], new_ids: list[str]) -> Iterator[ClauseChange]:
    """A change of order among the ids both versions have."""
    kept_old = [item for item in old_ids if item in new_ids]
    kept_new = [item for item in new_ids if item in old_ids]
    if kept_old != kept_new:
        yield ClauseChange(clause, "changed", old_ids, new_ids)


# --- template ----------------------------------------------------------------------------------

_WORKING_DAY = [["09:00", "17:00"]]


def template(
    *,
    title: str,
    start: date,
    end: date,
    timezone: str = "America/New_York",
    mql_target: int = 1000,
) -> Document:
    """A sensible first draft: Mon–Fri 09:00–17:00, the usual commitments of both sides."""
    return from_dict({
        "handoff": FORMAT_VERSION,
        "title": title,
        "effective": {"start": start, "end": end},
        "calendar": {
            "timezone": timezone,
            "hours": {day: _WORKING_DAY for day in WEEKDAYS[:5]},
        },
        "stages": {
            "mql": {
                "description": "A lead that engaged enough to be worth a sales conversation.",
                "criteria": [{"field": "score", "op": ">=", "value": 60}],
            },
            "sal": {"description": "Sales accepted the lead as worth working."},
            "sql": {"description": "A discovery call confirmed need, budget and timing."},
        },
        "consequences": {
            "marketing": "A missed volume month is reviewed in the next planning meeting "
                         "with a recovery plan.",
            "sales": "Breached leads go back to the round-robin pool after 2 business days.",
        },
        "rejection_reasons": ["not_a_fit", "no_budget", "duplicate", "recycled",
                              "bad_contact_data", "student_or_job_seeker"],
        "commitments": _template_commitments(mql_target),
        "shared_goals": [{"id": "won-revenue", "metric": "won_amount", "target": 500000,
                          "per": "quarter"}],
    })


def _template_commitments(mql_target: int) -> list[dict]:
    """The template's commitments, marketing's volume first."""
    return [
        {"id": "mql-volume", "owner": "marketing", "kind": "volume", "stage": "mql",
         "target": mql_target, "per": "month"},
        {"id": "first-touch", "owner": "sales", "kind": "response", "start": "mql",
         "stop": "first_touch", "within": "4h", "target_pct": 90},
        {"id": "accept-or-reject", "owner": "sales", "kind": "response", "start": "mql",
         "stop": "accepted_or_rejected", "within": "24h", "target_pct": 95},
        {"id": "attempts", "owner": "sales", "kind": "attempts", "attempts": 3, "within": "5d",
         "target_pct": 80},
        {"id": "mql-acceptance", "owner": "marketing", "kind": "acceptance_rate",
         "target_pct": 80},
    ]


def canonical_sha256(data: Mapping[str, Any]) -> str:
    """The SHA-256 of a document's plain form (`to_dict`) in canonical JSON: what an approval
    names, so a changed document can never pass for the one an approver read."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
