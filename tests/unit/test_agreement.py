"""The SLA document of DESIGN §3: round trips, validation with paths and lines, diff, template."""

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.agreement import (
    FORMAT_VERSION,
    ClauseChange,
    Document,
    DocumentError,
    InvalidAgreement,
    business_calendar,
    clause_ids,
    diff,
    dump_yaml,
    from_dict,
    parse_within,
    parse_yaml,
    template,
    to_dict,
    within_seconds,
)

FIXTURES = Path(__file__).parent / "agreements"
FIXTURE_FILES = sorted(path.name for path in FIXTURES.glob("*.yaml"))
DESIGN_TEXT = (FIXTURES / "design_example.yaml").read_text(encoding="utf-8")
DESIGN = parse_yaml(DESIGN_TEXT)


def _fixture(name: str) -> str:
    """The text of a fixture file."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def _typed(value):
    """The value with every scalar tagged by its type, so that 1000 and 1000.0 differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return type(value).__name__, value


def _design_with(change: Callable[[dict], object]) -> dict:
    """The DESIGN example as a plain dict, edited in place by `change`."""
    data = to_dict(DESIGN)
    change(data)
    return data


def _errors(data: dict) -> dict[str, str]:
    """Message by path of every error from_dict finds in `data`."""
    with pytest.raises(InvalidAgreement) as caught:
        from_dict(data)
    return {error.path: error.message for error in caught.value.errors}


def _yaml_errors(text: str) -> list[DocumentError]:
    """Every error parse_yaml finds in `text`."""
    with pytest.raises(InvalidAgreement) as caught:
        parse_yaml(text, source="sla.yaml")
    assert caught.value.source == "sla.yaml"
    return caught.value.errors


def _line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line of `text` that contains `fragment`."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_export_import_export_gives_the_same_bytes(name):
    exported = dump_yaml(parse_yaml(_fixture(name)))
    assert dump_yaml(parse_yaml(exported)) == exported


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_import_export_keeps_every_value_with_its_type(name):
    text = _fixture(name)
    assert _typed(yaml.safe_load(dump_yaml(parse_yaml(text)))) == _typed(yaml.safe_load(text))


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_import_export_import_gives_an_equal_document(name):
    document = parse_yaml(_fixture(name))
    assert parse_yaml(dump_yaml(document)) == document


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_to_dict_is_json_and_from_dict_restores_the_document(name):
    document = parse_yaml(_fixture(name))
    plain = json.loads(json.dumps(to_dict(document)))
    assert from_dict(plain) == document
    assert dump_yaml(from_dict(plain)) == dump_yaml(document)


def test_dump_writes_the_design_order_quoted_times_and_plain_dates():
    exported = dump_yaml(DESIGN)
    keys = [line.split(":")[0] for line in exported.splitlines() if line[:1].isalpha()]
    assert keys == ["handoff", "title", "effective", "calendar", "stages", "consequences",
                    "rejection_reasons", "commitments", "shared_goals"]
    assert 'mon: [["09:00", "12:00"], ["13:00", "18:00"]]' in exported
    assert "effective: {start: 2018-01-01, end: 2018-04-01}" in exported
    assert "title: Q1 2018 Sales–Marketing SLA" in exported
    assert "      - {field: score, op: '>=', value: 60}" in exported
    assert "  - id: first-touch\n    owner: sales\n    kind: response\n" in exported


def test_optional_keys_that_were_absent_stay_absent():
    exported = dump_yaml(parse_yaml(_fixture("every_operator.yaml")))
    assert "consequences" not in exported
    assert "rejection_reasons" not in exported
    assert "subdivision" not in exported
    assert "criteria: []" in exported  # written explicitly, so kept


def test_numbers_keep_the_type_the_author_wrote():
    data = _design_with(lambda d: d["commitments"][0].update(target=1000.0))
    exported = dump_yaml(from_dict(data))
    assert "target: 1000.0" in exported
    assert "target: 500000\n" in exported


def test_strings_that_look_like_other_types_survive_the_round_trip():
    document = parse_yaml(_fixture("shifts_and_filters.yaml"))
    assert document.rejection_reasons == ["not_a_fit", "yes", "1000", "2024-01-01", "13:00"]
    assert parse_yaml(dump_yaml(document)).rejection_reasons == document.rejection_reasons


# Any text within the limits a title and a rejection reason have (64 characters, no NUL).
_TEXT = st.text(st.characters(blacklist_characters="\x00"), min_size=1,
                max_size=64).filter(str.strip)
_SCALAR = st.one_of(_TEXT, st.integers(), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=50, deadline=None)
@given(title=_TEXT, reason=_TEXT, value=_SCALAR)
def test_any_text_and_scalar_survives_the_round_trip(title, reason, value):
    def change(data: dict) -> None:
        data.update(title=title, rejection_reasons=[reason])
        data["commitments"][0]["filter"] = {"x": value, "y": [value]}
        data["stages"]["mql"]["criteria"].append({"field": "f", "op": "==", "value": value})

    document = from_dict(_design_with(change))
    exported = dump_yaml(document)
    assert repr(to_dict(parse_yaml(exported))) == repr(to_dict(document))
    assert dump_yaml(parse_yaml(exported)) == exported


# --- read access -------------------------------------------------------------------------------


def test_read_access_for_the_calendar_and_stages():
    assert DESIGN.handoff == FORMAT_VERSION
    assert (DESIGN.effective.start, DESIGN.effective.end) == (date(2018, 1, 1), date(2018, 4, 1))
    assert DESIGN.calendar.timezone == "America/Sao_Paulo"
    assert DESIGN.calendar.hours["mon"] == [("09:00", "12:00"), ("13:00", "18:00")]
    assert "sat" not in DESIGN.calendar.hours
    holidays = DESIGN.calendar.holidays
    assert (holidays.country, holidays.subdivision) == ("BR", "SP")
    assert holidays.dates == [date(2018, 2, 12), date(2018, 2, 13)]
    criterion = DESIGN.stages.mql.criteria[1]
    assert (criterion.field, criterion.op, criterion.value) == ("score", ">=", 60)
    assert DESIGN.stages.sal.criteria == []
    assert DESIGN.consequences.sales.startswith("Breached leads")


def test_read_access_for_commitments_and_goals():
    volume, first_touch, _, attempts, acceptance = DESIGN.commitments
    assert (volume.kind, volume.stage, volume.per) == ("volume", "mql", "month")
    assert volume.target == 1000 and isinstance(volume.target, int)
    assert volume.filter == {"channel": ["paid_search", "organic_search"]}
    assert (first_touch.start, first_touch.stop, first_touch.within) == ("mql", "first_touch", "4h")
    assert (attempts.start, attempts.attempts, attempts.within) == ("mql", 3, "5d")
    assert acceptance.target_pct == 80 and acceptance.description is None
    assert DESIGN.commitment("attempts") is attempts
    goal = DESIGN.shared_goals[0]
    assert (goal.id, goal.metric, goal.target, goal.per, goal.filter) == (
        "won-revenue", "won_amount", 500000, "quarter", None)


def test_a_calendar_without_holidays_reads_as_empty_holidays():
    holidays = parse_yaml(_fixture("every_operator.yaml")).calendar.holidays
    assert (holidays.country, holidays.subdivision, holidays.dates) == ("IN", None, [])
    assert template(title="T", start=date(2025, 1, 1), end=date(2025, 2, 1)).calendar.holidays \
        .country is None


def test_clause_ids_name_stages_commitments_and_goals_as_diff_does():
    assert clause_ids(DESIGN) == [
        "stages.mql", "stages.sal", "stages.sql", "commitments[mql-volume]",
        "commitments[first-touch]", "commitments[accept-or-reject]", "commitments[attempts]",
        "commitments[mql-acceptance]", "shared_goals[won-revenue]"]
    assert clause_ids(parse_yaml(_fixture("every_operator.yaml"))) == [
        "stages.mql", "stages.sal", "commitments[acceptance]", "shared_goals[wins]"]


def test_business_calendar_carries_the_document_calendar():
    calendar = business_calendar(DESIGN)
    assert calendar.timezone == "America/Sao_Paulo"
    assert calendar.hours_on("mon") == [("09:00", "12:00"), ("13:00", "18:00")]
    assert calendar.hours_on("sat") == []
    assert calendar.holiday_name(date(2018, 1, 1)) is not None
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("BR", "SP")


@pytest.mark.parametrize(("within", "parsed", "seconds"), [
    ("30m", (30, "m"), 1800), ("4h", (4, "h"), 14400), ("24h", (24, "h"), 86400),
    ("5d", (5, "d"), None),
])
def test_within_budgets(within, parsed, seconds):
    assert parse_within(within) == parsed
    assert within_seconds(within) == seconds


@pytest.mark.parametrize("within", ["4 hours", "2w", "0h", "-1h", "4", 4, "h", "04h", "", "٤h"])
def test_bad_within_budgets_raise_value_error(within):
    with pytest.raises(ValueError, match="m, h or d"):
        within_seconds(within)


# --- validation --------------------------------------------------------------------------------

INVALID = [
    ("unknown root key", lambda d: d.update(owner="me"), "owner", "unknown key"),
    ("format version", lambda d: d.update(handoff=2), "handoff", "unsupported format version"),
    ("missing title", lambda d: d.pop("title"), "title", "required key is missing"),
    ("blank title", lambda d: d.update(title="  "), "title", "must not be empty"),
    ("missing end", lambda d: d["effective"].pop("end"), "effective.end", "missing"),
    ("end before start", lambda d: d["effective"].update(end="2017-12-31"), "effective.end",
     "must be after effective.start"),
    ("end equals start", lambda d: d["effective"].update(end="2018-01-01"), "effective.end",
     "must be after"),
    ("not a date", lambda d: d["effective"].update(start="next monday"), "effective.start",
     "YYYY-MM-DD"),
    ("impossible date", lambda d: d["effective"].update(start="2018-02-30"), "effective.start",
     "not a real date"),
    ("unknown zone", lambda d: d["calendar"].update(timezone="Mars/Olympus"),
     "calendar.timezone", "unknown time zone"),
    ("unknown calendar key", lambda d: d["calendar"].update(zone="UTC"), "calendar.zone",
     "allowed keys: timezone, hours, holidays"),
    ("missing hours", lambda d: d["calendar"].pop("hours"), "calendar.hours", "missing"),
    ("unknown weekday", lambda d: d["calendar"]["hours"].update(monday=[["09:00", "10:00"]]),
     "calendar.hours.monday", "unknown weekday"),
    ("hour 25", lambda d: d["calendar"]["hours"].update(tue=[["09:00", "25:00"]]),
     "calendar.hours.tue[0][1]", '"HH:MM"'),
    ("one-digit hour", lambda d: d["calendar"]["hours"].update(tue=[["9:00", "18:00"]]),
     "calendar.hours.tue[0][0]", '"09:00"'),
    ("24:00 as a start", lambda d: d["calendar"]["hours"].update(tue=[["24:00", "24:00"]]),
     "calendar.hours.tue[0][0]", "may only end a window"),
    ("end not after start", lambda d: d["calendar"]["hours"].update(tue=[["18:00", "09:00"]]),
     "calendar.hours.tue[0]", "must be after the start"),
    ("midnight written 00:00", lambda d: d["calendar"]["hours"].update(fri=[["22:00", "00:00"]]),
     "calendar.hours.fri[0]", '"24:00"'),
    ("three times in a window",
     lambda d: d["calendar"]["hours"].update(wed=[["09:00", "12:00", "18:00"]]),
     "calendar.hours.wed[0]", "[start, end] pair"),
    ("overlapping windows",
     lambda d: d["calendar"]["hours"].update(mon=[["09:00", "12:00"], ["11:30", "18:00"]]),
     "calendar.hours.mon[1]", "overlaps the window 09:00–12:00"),
    ("no hours in the week",
     lambda d: d["calendar"].update(hours={"mon": [], "sat": []}), "calendar.hours",
     "no working hours"),
    ("unknown country", lambda d: d["calendar"]["holidays"].update(country="XY"),
     "calendar.holidays.country", "unknown holidays country code 'XY'"),
    ("lowercase country", lambda d: d["calendar"]["holidays"].update(country="br"),
     "calendar.holidays.country", "did you mean BR?"),
    ("unknown subdivision", lambda d: d["calendar"]["holidays"].update(subdivision="CA"),
     "calendar.holidays.subdivision", "BR has no subdivision 'CA'"),
    ("subdivision without country", lambda d: d["calendar"]["holidays"].pop("country"),
     "calendar.holidays.subdivision", "needs a country"),
    ("holiday not a date", lambda d: d["calendar"]["holidays"].update(dates=["carnival"]),
     "calendar.holidays.dates[0]", "YYYY-MM-DD"),
    ("unknown holidays key", lambda d: d["calendar"]["holidays"].update(region="SP"),
     "calendar.holidays.region", "unknown key"),
    ("unknown stage", lambda d: d["stages"].update(opportunity={"description": "x"}),
     "stages.opportunity", "allowed keys: mql, sal, sql"),
    ("missing mql", lambda d: d["stages"].pop("mql"), "stages.mql", "missing"),
    ("unknown operator", lambda d: d["stages"]["mql"]["criteria"][1].update(op="=~"),
     "stages.mql.criteria[1].op", "must be ==, !=, in, not in"),
    ("criterion without field", lambda d: d["stages"]["mql"]["criteria"][0].pop("field"),
     "stages.mql.criteria[0].field", "missing"),
    ("unknown criterion key", lambda d: d["stages"]["mql"]["criteria"][0].update(why="x"),
     "stages.mql.criteria[0].why", "allowed keys: field, op, value"),
    ("in without a list", lambda d: d["stages"]["mql"]["criteria"][0].update(value="email"),
     "stages.mql.criteria[0].value", "needs a non-empty list"),
    ("not in with an empty list",
     lambda d: d["stages"]["mql"]["criteria"][0].update(op="not in", value=[]),
     "stages.mql.criteria[0].value", "needs a non-empty list"),
    ("exists without a boolean",
     lambda d: d["stages"]["mql"]["criteria"][1].update(op="exists", value="yes please"),
     "stages.mql.criteria[1].value", "true or false"),
    ("ordering with a boolean", lambda d: d["stages"]["mql"]["criteria"][1].update(value=True),
     "stages.mql.criteria[1].value", "a number or a text value"),
    ("ordering with a list", lambda d: d["stages"]["mql"]["criteria"][1].update(value=[1, 2]),
     "stages.mql.criteria[1].value", "a number or a text value"),
    ("duplicate rejection reason", lambda d: d["rejection_reasons"].append("duplicate"),
     "rejection_reasons[6]", "duplicate 'duplicate'"),
    ("empty rejection reason", lambda d: d["rejection_reasons"].append(""),
     "rejection_reasons[6]", "must not be empty"),
    ("no commitments", lambda d: d.update(commitments=[]), "commitments",
     "at least one commitment"),
    ("duplicate commitment id", lambda d: d["commitments"][4].update(id="first-touch"),
     "commitments[4].id", "duplicate id 'first-touch', already used by commitments[1]"),
    ("goal id used by a commitment", lambda d: d["shared_goals"][0].update(id="attempts"),
     "shared_goals[0].id", "already used by commitments[3]"),
    ("id not a slug", lambda d: d["commitments"][0].update(id="MQL Volume"),
     "commitments[0].id", "not a valid id"),
    ("unknown owner", lambda d: d["commitments"][0].update(owner="finance"),
     "commitments[0].owner", "must be marketing or sales"),
    ("unknown kind", lambda d: d["commitments"][2].update(kind="telepathy"),
     "commitments[2].kind", "unknown kind 'telepathy'"),
    ("missing kind", lambda d: d["commitments"][2].pop("kind"), "commitments[2].kind", "missing"),
    ("kind field missing", lambda d: d["commitments"][1].pop("stop"), "commitments[1].stop",
     "missing"),
    ("foreign field", lambda d: d["commitments"][0].update(within="4h"),
     "commitments[0].within", "unknown key; allowed keys: id, owner, kind, description, stage"),
    ("filter on a response", lambda d: d["commitments"][1].update(filter={"channel": "x"}),
     "commitments[1].filter", "unknown key"),
    ("negative target", lambda d: d["commitments"][0].update(target=-5), "commitments[0].target",
     "greater than 0"),
    ("zero target", lambda d: d["commitments"][0].update(target=0), "commitments[0].target",
     "greater than 0"),
    ("quoted target", lambda d: d["commitments"][0].update(target="1000"),
     "commitments[0].target", "remove the quotes"),
    ("percent above 100", lambda d: d["commitments"][1].update(target_pct=101),
     "commitments[1].target_pct", "at most 100"),
    ("percent zero", lambda d: d["commitments"][4].update(target_pct=0),
     "commitments[4].target_pct", "above 0"),
    ("unknown period", lambda d: d["commitments"][0].update(per="year"), "commitments[0].per",
     "must be week, month or quarter"),
    ("unknown volume stage", lambda d: d["commitments"][0].update(stage="lead"),
     "commitments[0].stage", "must be created, mql, sal, sql, opportunity or won"),
    ("unknown clock start", lambda d: d["commitments"][1].update(start="won"),
     "commitments[1].start", "must be created, mql, sal or sql"),
    ("unknown clock stop", lambda d: d["commitments"][1].update(stop="done"),
     "commitments[1].stop", "must be first_touch, accepted_or_rejected, sal or sql"),
    ("within in words", lambda d: d["commitments"][1].update(within="4 hours"),
     "commitments[1].within", "'4 hours'"),
    ("within in weeks", lambda d: d["commitments"][1].update(within="2w"),
     "commitments[1].within", "m, h or d"),
    ("within zero", lambda d: d["commitments"][2].update(within="0h"), "commitments[2].within",
     "above 0"),
    ("within negative", lambda d: d["commitments"][2].update(within="-1h"),
     "commitments[2].within", "m, h or d"),
    ("within without unit", lambda d: d["commitments"][3].update(within=4),
     "commitments[3].within", "not 4"),
    ("zero attempts", lambda d: d["commitments"][3].update(attempts=0),
     "commitments[3].attempts", "at least 1"),
    ("filter with a mapping value",
     lambda d: d["commitments"][0].update(filter={"channel": {"any": 1}}),
     "commitments[0].filter.channel", "a value or a non-empty list"),
    ("filter not a mapping", lambda d: d["commitments"][0].update(filter=["paid_search"]),
     "commitments[0].filter", "must be a mapping"),
    ("unknown metric", lambda d: d["shared_goals"][0].update(metric="revenue"),
     "shared_goals[0].metric", "must be won_amount, won_count, pipeline_amount or sql_count"),
    ("goal target zero", lambda d: d["shared_goals"][0].update(target=0),
     "shared_goals[0].target", "greater than 0"),
    ("goal period", lambda d: d["shared_goals"][0].update(per="fortnight"),
     "shared_goals[0].per", "not 'fortnight'"),
    ("goal filter with an empty list",
     lambda d: d["shared_goals"][0].update(filter={"region": []}),
     "shared_goals[0].filter.region", "non-empty list"),
]


@pytest.mark.parametrize(("change", "path", "message"),
                         [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_documents_name_the_offending_path(change, path, message):
    errors = _errors(_design_with(change))
    assert path in errors, errors
    assert message in errors[path]


def test_every_problem_of_a_document_is_reported_at_once():
    def break_three_things(data: dict) -> None:
        data["title"] = ""
        data["commitments"][1]["within"] = "4 hours"
        data["shared_goals"][0]["per"] = "year"

    assert set(_errors(_design_with(break_three_things))) == {
        "title", "commitments[1].within", "shared_goals[0].per"}


@pytest.mark.parametrize(("data", "message"), [
    (None, "the agreement is empty"),
    (["handoff", 1], "the agreement must be a mapping of keys, not a list"),
])
def test_the_root_must_be_a_mapping(data, message):
    assert _errors(data) == {"": message}


def test_an_unquoted_time_is_refused_with_advice_to_quote_it():
    text = DESIGN_TEXT.replace('["13:00", "18:00"]', '[13:00, "18:00"]')
    [error] = _yaml_errors(text)
    assert error == DocumentError(
        "calendar.hours.mon[1][0]",
        'times must be quoted: YAML read an unquoted time as the number 780; write "13:00"',
        _line_of(text, "mon:"),
    )


@pytest.mark.parametrize(("old", "new", "path"), [
    ("    within: 4h ", "    within: 4 hours ", "commitments[1].within"),
    ("    target_pct: 95", "    target_pct: 95\n    colour: red", "commitments[2].colour"),
    ("  timezone: America/Sao_Paulo", "  timezone: America/Rio", "calendar.timezone"),
    ("    country: BR ", "    country: NO ", "calendar.holidays.country"),
    ("dates: [2018-02-12,", "dates: [2018-02-30,", "calendar.holidays.dates[0]"),
])
def test_yaml_errors_carry_the_line_of_the_key(old, new, path):
    text = DESIGN_TEXT.replace(old, new)
    errors = {error.path: error.line for error in _yaml_errors(text)}
    assert errors == {path: _line_of(text, new.strip().splitlines()[-1])}


def test_a_missing_key_points_at_its_parent():
    text = DESIGN_TEXT.replace("    stop: first_touch ", "    # no stop ")
    [error] = _yaml_errors(text)
    assert (error.path, error.line) == ("commitments[1].stop", _line_of(text, "id: first-touch"))


def test_duplicate_keys_are_refused_with_their_line():
    text = DESIGN_TEXT.replace("    target_pct: 95", "    target_pct: 95\n    within: 48h")
    [error] = _yaml_errors(text)
    assert error == DocumentError("commitments[2].within",
                                  "duplicate key; each key may appear only once",
                                  _line_of(text, "within: 48h"))


@pytest.mark.parametrize(("text", "line", "message"), [
    ('title: "unclosed\n', 2, "invalid YAML"),
    ("handoff: 1\ncalendar: [a\ntitle: x\n", 3, "invalid YAML"),
    ("handoff: 1\n---\nhandoff: 1\n", 2, "expected a single document"),
    ("- handoff: 1\n", None, "must be a mapping of keys, not a list"),
    ("", None, "the agreement is empty"),
])
def test_unreadable_yaml_is_refused(text, line, message):
    [error] = _yaml_errors(text)
    assert error.path == "" and error.line == line and message in error.message


def test_the_error_text_lists_every_error_with_source_and_line():
    exc = InvalidAgreement([DocumentError("commitments[2].within", "bad budget", 41),
                            DocumentError("title", "must not be empty"),
                            DocumentError("", "the agreement is empty", 1)], source="sla.yaml")
    assert str(exc) == ("sla.yaml:41: commitments[2].within: bad budget\n"
                        "sla.yaml: title: must not be empty\n"
                        "sla.yaml:1: the agreement is empty")
    assert str(InvalidAgreement([DocumentError("title", "must not be empty", 2)])) == (
        "2: title: must not be empty")


def test_parse_yaml_errors_are_value_errors_in_line_order():
    text = DESIGN_TEXT.replace("target: 500000", "target: -1").replace("title: Q1", "title: '' #")
    with pytest.raises(ValueError) as caught:
        parse_yaml(text, source="sla.yaml")
    assert [error.path for error in caught.value.errors] == ["title", "shared_goals[0].target"]
    assert str(caught.value).startswith("sla.yaml:2: title: must not be empty\n")


# --- diff ----------------------------------------------------------------------------------------


def _edited(change: Callable[[dict], object]) -> Document:
    """The DESIGN example with one edit."""
    return from_dict(_design_with(change))


def test_no_changes_give_an_empty_diff():
    assert diff(DESIGN, parse_yaml(dump_yaml(DESIGN))) == []


def test_a_title_change():
    new = _edited(lambda d: d.update(title="Q2 2018 SLA"))
    assert diff(DESIGN, new) == [
        ClauseChange("title", "changed", "Q1 2018 Sales–Marketing SLA", "Q2 2018 SLA")]


def test_a_commitment_budget_change():
    new = _edited(lambda d: d["commitments"][1].update(within="2h"))
    assert diff(DESIGN, new) == [
        ClauseChange("commitments[first-touch].within", "changed", "4h", "2h")]


def test_commitments_added_and_removed_are_matched_by_id():
    callback = {"id": "callback", "owner": "sales", "kind": "response", "start": "sal",
                "stop": "sql", "within": "2d", "target_pct": 70}

    def swap(data: dict) -> None:
        data["commitments"][3] = callback

    assert diff(DESIGN, _edited(swap)) == [
        ClauseChange("commitments[attempts]", "removed",
                     {"id": "attempts", "owner": "sales", "kind": "attempts", "start": "mql",
                      "attempts": 3, "within": "5d", "target_pct": 80}, None),
        ClauseChange("commitments[callback]", "added", None, callback),
    ]


def test_hours_changed_for_one_day():
    new = _edited(lambda d: d["calendar"]["hours"].update(tue=[["10:00", "18:00"]]))
    assert diff(DESIGN, new) == [ClauseChange(
        "calendar.hours.tue", "changed", [["09:00", "18:00"]], [["10:00", "18:00"]])]


def test_a_day_added_to_the_week():
    new = _edited(lambda d: d["calendar"]["hours"].update(sat=[["10:00", "14:00"]]))
    assert diff(DESIGN, new) == [
        ClauseChange("calendar.hours.sat", "added", None, [["10:00", "14:00"]])]


def test_criteria_changed():
    new = _edited(lambda d: d["stages"]["mql"]["criteria"][1].update(value=70))
    [change] = diff(DESIGN, new)
    assert (change.clause, change.change) == ("stages.mql.criteria", "changed")
    assert change.old[1] == {"field": "score", "op": ">=", "value": 60}
    assert change.new[1] == {"field": "score", "op": ">=", "value": 70}


def test_a_shared_goal_target_changed():
    new = _edited(lambda d: d["shared_goals"][0].update(target=600000))
    assert diff(DESIGN, new) == [
        ClauseChange("shared_goals[won-revenue].target", "changed", 500000, 600000)]


def test_holidays_and_consequences():
    def edit(data: dict) -> None:
        data["calendar"]["holidays"]["dates"].append("2018-03-30")
        del data["consequences"]

    assert diff(DESIGN, _edited(edit)) == [
        ClauseChange("calendar.holidays.dates", "changed", ["2018-02-12", "2018-02-13"],
                     ["2018-02-12", "2018-02-13", "2018-03-30"]),
        ClauseChange("consequences", "removed", to_dict(DESIGN)["consequences"], None),
    ]


def test_reordering_commitments_is_reported_once_as_a_new_order():
    new = _edited(lambda d: d["commitments"].reverse())
    ids = [commitment.id for commitment in DESIGN.commitments]
    assert diff(DESIGN, new) == [ClauseChange("commitments", "changed", ids, ids[::-1])]


def test_adding_a_commitment_at_the_top_is_not_a_reorder():
    extra = {"id": "sql-volume", "owner": "marketing", "kind": "volume", "stage": "sql",
             "target": 50, "per": "month"}
    new = _edited(lambda d: d["commitments"].insert(0, extra))
    assert diff(DESIGN, new) == [ClauseChange("commitments[sql-volume]", "added", None, extra)]


def test_writing_a_default_out_is_not_a_change():
    new = _edited(lambda d: d["commitments"][3].update(start="mql"))
    assert new == DESIGN and diff(DESIGN, new) == []
    assert "start: mql" in dump_yaml(new).split("id: attempts")[1]


# --- template ------------------------------------------------------------------------------------


def test_template_is_a_valid_round_tripping_starting_point():
    document = template(title="FY25 Sales–Marketing SLA", start=date(2025, 1, 1),
                        end=date(2026, 1, 1), timezone="Europe/London", mql_target=750)
    assert parse_yaml(dump_yaml(document)) == document
    assert document.calendar.timezone == "Europe/London"
    assert document.calendar.hours == {day: [("09:00", "17:00")]
                                       for day in ("mon", "tue", "wed", "thu", "fri")}
    assert document.calendar.holidays.country is None
    assert [c.id for c in document.commitments] == [
        "mql-volume", "first-touch", "accept-or-reject", "attempts", "mql-acceptance"]
    assert document.commitment("mql-volume").target == 750
    assert document.commitment("first-touch").within == "4h"
    assert document.commitment("accept-or-reject").within == "24h"
    assert document.commitment("attempts").within == "5d"
    assert document.shared_goals[0].id == "won-revenue"
    assert document.rejection_reasons[-1] == "student_or_job_seeker"
    assert document.consequences.marketing and document.consequences.sales
    assert document.stages.mql.criteria[0].op == ">="


def test_template_defaults_and_validation():
    document = template(title="SLA", start=date(2025, 1, 1), end=date(2025, 4, 1))
    assert document.calendar.timezone == "America/New_York"
    assert document.commitment("mql-volume").target == 1000
    with pytest.raises(InvalidAgreement, match="effective.end"):
        template(title="SLA", start=date(2025, 4, 1), end=date(2025, 1, 1))
