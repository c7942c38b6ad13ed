"""Reports through the services and `python -m core.cli report`, on a real database."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, create_engine

from core import agreement as sla
from core.errors import InvalidInput
from core.services import OPERATOR, agreements, measurement
from db import migrate
from db.models import Lead, Touch
from tests.service.test_cli import cli
from tests.sla_helpers import activate

# Mon 2026-03-02, New York (UTC-5 until 2026-03-08): the template's hours are 09:00–17:00.
MQL = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 local


def seed_world(session, people) -> int:
    """An active template SLA from 2026 (open-ended, so it is active whatever day the suite
    runs), and three March leads with different fates."""
    document = sla.template(title="2026 SLA", start=date(2026, 1, 1), end=date(2099, 1, 1))
    version = activate(session, people, document)
    leads = [
        Lead(source="crm", external_id="fast", created_at=MQL, mql_at=MQL, owner="ana",
             channel="paid_search", score=80, accepted_at=MQL.replace(hour=15)),
        Lead(source="crm", external_id="slow", created_at=MQL, mql_at=MQL, owner="ben",
             channel="social", score=40, rejected_at=datetime(2026, 3, 5, 14, tzinfo=UTC),
             rejection_reason="not_a_fit"),
        Lead(source="crm", external_id="bot-only", created_at=MQL, mql_at=MQL, owner="ben",
             channel="social", score=70),
    ]
    session.add_all(leads)
    session.flush()
    session.add_all([
        Touch(lead_id=leads[0].id, at=MQL.replace(hour=15), kind="call", rep="ana"),
        Touch(lead_id=leads[1].id, at=datetime(2026, 3, 4, 15, tzinfo=UTC), kind="call",
              rep="ben"),
        Touch(lead_id=leads[2].id, at=MQL.replace(minute=1), kind="email", rep="ben",
              automated=True),
    ])
    session.flush()
    return version.agreement_id


def test_the_report_has_the_design_shape_and_is_reproducible(session, people):
    agreement_id = seed_world(session, people)
    scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                 as_of="2026-04-15")
    assert scope.agreement_id == agreement_id and scope.version == 1
    result = measurement.report(session=session, actor=OPERATOR, scope=scope)
    assert set(result) >= {"agreement", "period", "as_of", "commitments", "shared_goals",
                           "funnel", "quality", "breakdown"}
    assert result["period"] == {"start": "2026-03-01T05:00:00Z", "end": "2026-04-01T04:00:00Z"}
    first_touch = next(c for c in result["commitments"] if c["id"] == "first-touch")
    # fast: touched after 1 business hour (met); slow: 2 days later (breached); bot-only: the
    # automated email does not count, so the clock runs on and is overdue.
    assert (first_touch["met"], first_touch["breached"], first_touch["overdue"]) == (1, 2, 1)
    assert first_touch["status"] == "missed"
    again = measurement.report(session=session, actor=OPERATOR, scope=scope)
    assert again == result


def test_an_automated_touch_never_stops_the_first_touch_clock(session, people):
    seed_world(session, people)
    scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                 as_of="2026-04-15")
    detail = measurement.clock_detail(session=session, actor=OPERATOR, scope=scope)
    row = detail[(detail["external_id"] == "bot-only") & (detail["commitment"] == "first-touch")]
    assert row.iloc[0]["state"] == "overdue"  # not stopped, and past due
    assert row.iloc[0]["stopped_at"] is None


def test_detail_lists_one_row_per_lead_and_clock_commitment(session, people):
    seed_world(session, people)
    scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                 as_of="2026-04-15")
    detail = measurement.clock_detail(session=session, actor=OPERATOR, scope=scope)
    clocks = [c.id for c in scope.document.commitments if c.kind in ("response", "attempts")]
    assert len(detail) == 3 * len(clocks)
    assert set(detail["agreement_version"]) == {1}


def amended(document: sla.Document, start: date, first_touch_within: str) -> sla.Document:
    """`document` amended from `start` with another first-touch budget."""
    data = sla.to_dict(document)
    data["effective"]["start"] = start
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = first_touch_within
    return sla.from_dict(data)


def test_a_lead_is_measured_against_the_version_in_force_when_its_clock_started(session, people):
    # Version 1 gives first touch 4 business hours; version 2, signed later and in force from
    # Wed 2026-03-04, gives 1 hour. Both leads are touched after 2 business hours.
    original = sla.template(title="2026 SLA", start=date(2026, 1, 1), end=date(2027, 1, 1))
    first = activate(session, people, original)
    activate(session, people, amended(original, date(2026, 3, 4), "1h"), first.agreement_id)
    wednesday = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    before = Lead(source="crm", external_id="before", created_at=MQL, mql_at=MQL, owner="ana")
    after = Lead(source="crm", external_id="after", created_at=wednesday, mql_at=wednesday,
                 owner="ana")
    session.add_all([before, after])
    session.flush()
    session.add_all([Touch(lead_id=before.id, at=MQL.replace(hour=16), kind="call", rep="ana"),
                     Touch(lead_id=after.id, at=wednesday.replace(hour=16), kind="call",
                           rep="ana")])
    session.flush()
    scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                 as_of="2026-04-15")
    assert scope.version == 1  # in force on March 1st: its commitments frame the report
    detail = measurement.clock_detail(session=session, actor=OPERATOR, scope=scope).set_index(
        ["external_id", "commitment"])
    assert detail.loc[("before", "first-touch"), "agreement_version"] == 1
    assert detail.loc[("before", "first-touch"), "state"] == "met"
    assert detail.loc[("after", "first-touch"), "agreement_version"] == 2
    assert detail.loc[("after", "first-touch"), "state"] == "breached"
    assert detail.loc[("after", "first-touch"), "due"] == "2026-03-04T15:00:00Z"
    result = measurement.report(session=session, actor=OPERATOR, scope=scope)
    first_touch = next(c for c in result["commitments"] if c["id"] == "first-touch")
    assert (first_touch["met"], first_touch["breached"]) == (1, 1)
    # Signing version 2 rewrote nothing: version 1's document still says 4 hours.
    version_one = sla.to_dict(scope.versions[0].document)
    assert next(c for c in version_one["commitments"] if c["id"] == "first-touch")[
        "within"] == "4h"


def test_what_if_measures_every_lead_of_a_past_period_against_a_draft(session, people):
    agreement_id = seed_world(session, people)
    draft = agreements.new_version(
        session=session, actor=people["sofia"], agreement_id=agreement_id,
        document=amended(sla.template(title="2026 SLA", start=date(2026, 1, 1),
                                      end=date(2027, 1, 1)), date(2026, 1, 1), "30m"))
    scope = measurement.scope(session=session, actor=OPERATOR, period="2026-03",
                                 as_of="2026-04-15")
    actual = measurement.report(session=session, actor=OPERATOR, scope=scope)
    what_if = measurement.what_if(session=session, actor=people["ana"], scope=scope,
                              version=draft.number)
    assert what_if["what_if"] == {"version": 2, "state": "draft"}
    assert what_if["agreement"]["version"] == 2

    def first_touch(result: dict) -> dict:
        return next(c for c in result["commitments"] if c["id"] == "first-touch")

    # "fast" was touched after 1 business hour: met within 4 h, breached within 30 min.
    assert (first_touch(actual)["met"], first_touch(actual)["breached"]) == (1, 2)
    assert (first_touch(what_if)["met"], first_touch(what_if)["breached"]) == (0, 3)
    assert first_touch(what_if)["within"] == "30m"
    # Volume and quality do not depend on the clocks' budgets.
    assert what_if["funnel"] == actual["funnel"] and what_if["quality"] == actual["quality"]
    with pytest.raises(InvalidInput, match="no version 9"):
        measurement.what_if(session=session, actor=OPERATOR, scope=scope, version=9)


@pytest.fixture
def cli_database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'report.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade()
    return url


@pytest.fixture
def seeded_database(cli_database, people_factory) -> str:
    """The CLI's database with seed_world in it."""
    engine = create_engine(cli_database)
    with Session(engine) as session:
        seed_world(session, people_factory(session))
        session.commit()
    engine.dispose()
    return cli_database


def test_the_report_cli_prints_json_csv_and_detail(seeded_database):
    args = ["report", "--period", "2026-03", "--as-of", "2026-04-15T00:00:00"]
    first = cli(seeded_database, *args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(cli(seeded_database, *args).stdout)
    as_csv = cli(seeded_database, *args, "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("section,id,owner,kind,status")
    detail = json.loads(cli(seeded_database, *args, "--detail").stdout)
    assert set(detail) == {"agreement", "period", "as_of", "detail"}
    assert {"external_id", "source", "commitment", "state", "start", "due", "stopped_at",
            "elapsed_seconds", "breach_seconds", "agreement_version"} <= set(detail["detail"][0])
    by_channel = json.loads(cli(seeded_database, *args, "--by", "channel").stdout)
    assert {row["channel"] for row in by_channel["breakdown"]} == {"paid_search", "social"}
    assert cli(seeded_database, "report", "--period", "2026-13").returncode == 1
    for absurd in (["--period", "2018-01-01:9999-01-01"], ["--period", "1850-01"],
                   ["--period", "2026-03", "--as-of", "9999-12-31"]):
        refused = cli(seeded_database, "report", *absurd)
        assert refused.returncode == 1 and "within the years 1900 to 2199" in refused.stderr
        assert "Traceback" not in refused.stderr
    what_if = json.loads(cli(seeded_database, *args, "--what-if", "1").stdout)
    assert what_if["what_if"] == {"version": 1, "state": "active"}
    summary = json.loads(first.stdout)
    assert {key: what_if[key] for key in summary} == summary  # the signed version, measured again
    assert cli(seeded_database, *args, "--what-if", "1", "--detail").returncode == 2


def test_the_current_month_is_read_in_the_calendar_zone(session, people):
    seed_world(session, people)  # New York
    # 03:30 UTC on April 1st is still March 31st in New York.
    assert measurement.current_month(session=session, actor=OPERATOR,
                                 as_of="2026-04-01T03:30:00Z") == "2026-03"
    assert measurement.current_month(session=session, actor=OPERATOR,
                                 as_of="2026-04-01T04:30:00Z") == "2026-04"


def test_the_plan_cli_prints_the_design_example(seeded_database):
    given = ["plan", "--quarter", "2026-Q3", "--revenue", "2400000", "--avg-won", "8000",
             "--rate", "mql_sal=0.6", "--rate", "sal_sql=0.5", "--rate", "sql_won=0.3"]
    result = cli(seeded_database, *given, "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["required"] == {"won": 300, "sql": 1000, "sal": 2000, "mql": 3334}
    assert {key: plan[key] for key in ("quarter", "revenue", "avg_won", "rates")} == {
        "quarter": "2026-Q3", "revenue": 2400000, "avg_won": 8000,
        "rates": {"mql_sal": 0.6, "sal_sql": 0.5, "sql_won": 0.3}}
    assert sum(month["mql"] for month in plan["by_month"]) == 3334
    assert set(plan["sample"]) == {"quarters", "mql", "won"}
    text = cli(seeded_database, *given)
    assert "needs 300 won, 1,000 SQLs, 2,000 SALs, 3,334 MQLs" in text.stdout
    assert cli(seeded_database, "plan", "--quarter", "2026-Q3", "--rate", "x=1").returncode == 2
    assert cli(seeded_database, "plan", "--quarter", "2026-Q9", "--revenue", "1").returncode == 1


def test_the_review_cli_comments_signs_and_shows(seeded_database):
    shown = json.loads(cli(seeded_database, "review", "show", "2026-Q1", "--format", "json").stdout)
    assert shown["state"] == "open" and shown["quarter"] == "2026-Q1"
    assert {"scorecard", "comments", "signed_by", "signed_at",
            "changed_since_signoff"} <= set(shown)
    said = cli(seeded_database, "review", "comment", "2026-Q1", "--as", "marco", "--comment",
               "Volume held; sales must speed up.")
    assert said.returncode == 0, said.stderr
    assert cli(seeded_database, "review", "comment", "2026-Q1", "--as", "ana", "--comment",
               "Me too").returncode == 1  # a rep may not comment
    assert cli(seeded_database, "review", "sign", "2026-Q1", "--as", "sofia").returncode == 1
    signed = cli(seeded_database, "review", "sign", "2026-Q1", "--as", "erin", "--comment", "OK")
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.strip() == "review 2026-Q1: signed"
    shown = json.loads(cli(seeded_database, "review", "show", "2026-Q1", "--format", "json").stdout)
    assert (shown["state"], shown["signed_by"]) == ("signed", "erin")
    assert [c["author"] for c in shown["comments"]][:1] == ["marco"]
    assert shown["scorecard"]["commitments"] == json.loads(cli(
        seeded_database, "report", "--period", "2026-Q1").stdout)["commitments"]
    assert "signed" in cli(seeded_database, "review", "show", "2026-Q1").stdout
    assert cli(seeded_database, "review", "send-back", "2026-Q1", "--as", "erin", "--comment",
               "No").returncode == 1  # already signed
