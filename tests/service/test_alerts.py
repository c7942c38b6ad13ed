"""The agreement's escalation ladder carried out end to end: real `alerts run` processes (two at
once, twice), a real SMTP server (tests/smtp_server.py) and a real HTTP server as the chat
webhook, on a SQLite file or the PostgreSQL test database.

The ladder (first touch within 4 business hours, New York, Mon–Fri 09:00–17:00): warn the owner
when at risk, tell the head of sales at the breach, and 2 business days past due hand the lead
round robin to the next rep of the team and tell both reps and the head.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core import agreement as sla
from core import secret_box, services
from core.permissions import Role
from core.services import alerts, deliveries, notifications
from db.engine import session_scope
from db.models import AlertFiring, AuditEvent, JobRun, Lead, LeadOwnerChange, Notification, User
from tests.service.conftest import add_people
from tests.sla_helpers import activate
from tests.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
NEW_YORK = "America/New_York"
# Monday 2 March 2026, 10:00 in New York (EST, UTC-5): first touch is due at 14:00 local.
MQL = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
AT_RISK = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)  # 13:30 local: 30 min left (< 1 h)
BREACHED = datetime(2026, 3, 2, 19, 30, tzinfo=UTC)  # 14:30 local: overdue
TWO_DAYS_LATE = datetime(2026, 3, 4, 19, 30, tzinfo=UTC)  # Wednesday 14:30: 2 days past due
TEAM = "Inbound East"
LADDER = [
    {"id": "warn-owner", "commitment": "first-touch", "trigger": "at_risk", "notify": ["owner"]},
    {"id": "tell-head", "commitment": "first-touch", "trigger": "breached",
     "notify": ["sales_head"]},
    {"id": "back-to-pool", "commitment": "first-touch", "trigger": "breached", "after": "2d",
     "notify": ["owner", "sales_head"], "action": {"reassign": f"team:{TEAM}"}},
]


def ladder_document(escalations=LADDER) -> sla.Document:
    data = sla.to_dict(sla.template(title="SLA with a ladder", start=date(2026, 1, 1),
                                    end=date(2027, 1, 1), timezone=NEW_YORK))
    for commitment in data["commitments"]:
        if commitment["id"] == "first-touch":
            commitment["within"] = "4h"
    data["escalations"] = escalations
    return sla.from_dict(data)


def workspace(session, document: sla.Document | None = None) -> dict[str, int]:
    """People (ana, ben and chloe in the team), the signed ladder, and one open lead of ana's
    and one of chloe's: their ids."""
    people = add_people(session)
    services.add_user(session=session, actor=services.OPERATOR, username="chloe",
                      display_name="Chloe", email="chloe@example.com", role=Role.SALES_REP,
                      password="long enough password")
    for user in session.exec(select(User).where(User.username.in_(["ana", "ben", "chloe"]))):
        user.team = TEAM
        session.add(user)
    session.flush()
    activate(session, people, document or ladder_document())
    ids = {}
    for owner in ("ana", "chloe"):
        lead = Lead(source="crm", external_id=f"L-{owner}", created_at=MQL, mql_at=MQL,
                    owner=owner, name=f"Lead of {owner}", company="Acme", score=80)
        session.add(lead)
        session.flush()
        ids[owner] = lead.id
    return ids


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def environment(concurrent_engine, smtp, monkeypatch, tmp_path) -> dict[str, str]:
    """What an alerts process reads: the database, mail through the test's SMTP server, no
    batching wait, a queue of its own (alerts run records its run)."""
    env = {"DATABASE_URL": concurrent_engine.url.render_as_string(hide_password=False),
           "HANDOFF_SECRET_KEY": secret_box.new_key(), "HANDOFF_SMTP_URL": smtp.url,
           "HANDOFF_MAIL_FROM": "handoff@example.com", "HANDOFF_ALERT_BATCH_SECONDS": "0",
           "HANDOFF_APP_URL": "https://handoff.example.com",
           "HANDOFF_WORKER_DB": str(tmp_path / "worker.db")}
    monkeypatch.delenv("REDIS_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def alerts_run(env: dict[str, str], as_of: datetime) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "alerts", "run", "--as-of", as_of.isoformat(),
         "--format", "json"], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
        text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def two_at_once_twice(env: dict[str, str], as_of: datetime) -> list[dict]:
    """Two `alerts run` processes at the same instant, then two more: as two workers would."""
    results = []
    for _ in range(2):
        with ThreadPoolExecutor(2) as pool:
            results += list(pool.map(lambda _: alerts_run(env, as_of), range(2)))
    return results


def mail_to(smtp, address: str) -> list:
    """The messages the server took for this address (parsed)."""
    return [received.message for received in smtp.messages if address in received.rcpt_tos]


def alerts_to(smtp, address: str) -> list:
    """The messages to this address about leads (the head's weekly digest is not)."""
    return [message for message in mail_to(smtp, address)
            if "L-" in message.get_body(("plain",)).get_content()]


def test_the_ladder_warns_tells_and_hands_the_lead_on_once_each(concurrent_engine, environment,
                                                                 smtp, httpserver):
    with session_scope(concurrent_engine) as session:
        ids = workspace(session)
        deliveries.add_webhook(session=session, actor=services.OPERATOR, name="sales-room",
                               kind="slack", url=httpserver.url_for("/hooks/sales"),
                               kinds=["breached", "reassigned"])
    httpserver.expect_request("/hooks/sales", method="POST").respond_with_data("ok")

    # At risk: exactly one message to each owner, whatever two workers did twice.
    fired = two_at_once_twice(environment, AT_RISK)
    assert sum(len(result["fired"]) for result in fired) == 2  # ana's lead and chloe's
    assert len(mail_to(smtp, "ana@example.com")) == 1
    assert len(mail_to(smtp, "chloe@example.com")) == 1
    warning = mail_to(smtp, "ana@example.com")[0]
    text = warning.get_body(("plain",)).get_content()
    assert "L-ana" in text and "first touch at risk" in text
    assert f"https://handoff.example.com/lead?lead={ids['ana']}" in text
    assert not alerts_to(smtp, "sofia@example.com")  # (Monday: her weekly digest came)

    # Breached: one message to the head (both leads in it), and one chat post.
    two_at_once_twice(environment, BREACHED)
    to_head = alerts_to(smtp, "sofia@example.com")
    assert len(to_head) == 1
    assert "L-ana" in to_head[0].get_body(("plain",)).get_content()
    assert len(mail_to(smtp, "ana@example.com")) == 1  # the owner was not told again

    # Two business days past due: reassigned round robin within the team, both reps told.
    two_at_once_twice(environment, TWO_DAYS_LATE)
    with session_scope(concurrent_engine) as session:
        owners = {lead.external_id: lead.owner for lead in session.exec(select(Lead))}
        moves = session.exec(select(LeadOwnerChange).order_by(LeadOwnerChange.id)).all()
        firings = session.exec(select(AlertFiring)).all()
        reassigned = session.exec(select(AuditEvent).where(
            AuditEvent.action == "lead.reassign")).all()
    assert len(moves) == 2 and len(reassigned) == 2  # each lead moved once
    assert owners["L-ana"] != "ana" and owners["L-chloe"] != "chloe"
    assert {owners["L-ana"], owners["L-chloe"]} <= {"ana", "ben", "chloe"}
    assert owners["L-ana"] != owners["L-chloe"]  # round robin: not the same rep twice in a row
    assert len(firings) == 6  # three rules × two leads, each once
    new_owner = owners["L-ana"]
    assert len(mail_to(smtp, "ana@example.com")) == 2 + (new_owner == "ana")
    assert any("yours now" in m.get_body(("plain",)).get_content()
               for m in mail_to(smtp, f"{new_owner}@example.com"))
    assert len(alerts_to(smtp, "sofia@example.com")) == 2
    posts = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(posts) == 2  # the breach pass and the reassignment pass, one post each
    assert all("text" in post and "blocks" in post for post in posts)


def test_a_pass_as_of_an_instant_sees_the_state_then(concurrent_engine, environment, smtp):
    with session_scope(concurrent_engine) as session:
        workspace(session)
    before = alerts_run(environment, MQL + timedelta(minutes=5))
    assert before["fired"] == []
    assert not [received for received in smtp.messages  # the morning digests say all clear
                if "L-" in received.message.get_body(("plain",)).get_content()]
    at_risk = alerts_run(environment, AT_RISK)
    assert {(f["lead"], f["rule"], f["trigger"]) for f in at_risk["fired"]} == {
        ("L-ana", "warn-owner", "at_risk"), ("L-chloe", "warn-owner", "at_risk")}
    assert at_risk["counts"] == {"at_risk": 2, "breached": 0}


def test_a_touch_in_time_stops_the_ladder(concurrent_engine, environment, smtp):
    with session_scope(concurrent_engine) as session:
        ids = workspace(session)
        people = {u: services.get_actor(session=session, username=u) for u in ("ana",)}
    from core.services import leads
    with session_scope(concurrent_engine) as session:
        leads.log_touch(session=session, actor=people["ana"], lead_id=ids["ana"], kind="call",
                        at=MQL + timedelta(hours=1))
    alerts_run(environment, BREACHED)
    assert not alerts_to(smtp, "ana@example.com")  # her lead was touched: nothing to tell
    with session_scope(concurrent_engine) as session:  # first seen overdue: no late warning
        kinds = set(session.exec(select(Notification.kind).where(
            Notification.username == "chloe")).all())
    assert kinds == {"digest"}  # her morning list, which has the overdue lead
    to_head = alerts_to(smtp, "sofia@example.com")
    assert len(to_head) == 1
    assert "L-chloe" in to_head[0].get_body(("plain",)).get_content()
    assert "L-ana" not in to_head[0].get_body(("plain",)).get_content()


def test_an_alert_at_23_00_waits_for_the_next_opening_unless_its_rule_is_urgent(
        concurrent_engine, environment, smtp):
    # Leads at risk since 16:00 local, first seen by a pass at 23:00 (a late import, say): the
    # owner's email waits for Tuesday 09:00; the urgent rule reaches the head at once.
    late = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # Monday 23:00 in New York
    rules = [LADDER[0], {"id": "page-the-head", "commitment": "first-touch",
                         "trigger": "at_risk", "notify": ["sales_head"], "urgent": True}]
    with session_scope(concurrent_engine) as session:
        workspace(session, ladder_document(rules))
        for lead in session.exec(select(Lead)):
            lead.mql_at = lead.created_at = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)  # 13:30
            session.add(lead)
    result = alerts_run(environment, late)
    assert {f["rule"] for f in result["fired"]} == {"warn-owner", "page-the-head"}
    assert len(mail_to(smtp, "sofia@example.com")) == 1  # urgent: at 23:00
    assert not mail_to(smtp, "ana@example.com")  # held for her working hours
    with session_scope(concurrent_engine) as session:
        held = session.exec(select(Notification).where(Notification.username == "ana")).one()
    assert held.deliver_after == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00
    assert held.read_at is None  # in her list in the app meanwhile
    alerts_run(environment, datetime(2026, 3, 3, 13, 59, tzinfo=UTC))
    assert not mail_to(smtp, "ana@example.com")
    alerts_run(environment, datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    assert len(mail_to(smtp, "ana@example.com")) == 1


def test_a_persons_own_quiet_hours_hold_an_alert_until_they_end(concurrent_engine, environment,
                                                                 smtp):
    # An around-the-clock agreement: at risk at 23:00 is at risk; ana's quiet hours
    # (22:00–07:30 in New York) hold her email until 07:30.
    data = sla.to_dict(ladder_document([LADDER[0]]))
    data["calendar"]["hours"] = {day: [["00:00", "24:00"]] for day in sla.WEEKDAYS}
    with session_scope(concurrent_engine) as session:
        workspace(session, sla.from_dict(data))
        ana = services.get_actor(session=session, username="ana")
        notifications.set_quiet_hours(session=session, actor=ana, timezone=NEW_YORK,
                                      start="22:00", end="07:30")
        for lead in session.exec(select(Lead)):
            lead.mql_at = lead.created_at = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 19:30
            session.add(lead)
    at_23 = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # 3 h 30 in: 30 min left
    alerts_run(environment, at_23)
    assert len(mail_to(smtp, "chloe@example.com")) == 1  # no quiet hours: told at once
    assert not mail_to(smtp, "ana@example.com")
    alerts_run(environment, datetime(2026, 3, 3, 12, 29, tzinfo=UTC))
    assert not mail_to(smtp, "ana@example.com")
    alerts_run(environment, datetime(2026, 3, 3, 12, 30, tzinfo=UTC))  # 07:30 local
    assert len(mail_to(smtp, "ana@example.com")) == 1


def test_five_alerts_within_two_minutes_arrive_as_one_message(concurrent_engine, environment,
                                                              smtp):
    environment["HANDOFF_ALERT_BATCH_SECONDS"] = "120"
    with session_scope(concurrent_engine) as session:
        workspace(session)
        for lead in session.exec(select(Lead)):
            lead.owner = "ben"  # ana's only leads are the five below
            session.add(lead)
        for number in range(5):  # MQLs 30 s apart: at risk from 13:00:00, 13:00:30, ...
            at = MQL + timedelta(seconds=30 * number)
            session.add(Lead(source="crm", external_id=f"L-ana-{number}", created_at=at,
                             mql_at=at, owner="ana", name=f"Lead {number}", score=80))
    first_at_risk = MQL + timedelta(hours=3, seconds=10)  # 13:00:10 local
    for minutes in range(3):  # the worker's passes, a minute apart
        alerts_run(environment, first_at_risk + timedelta(minutes=minutes))
    to_ana = mail_to(smtp, "ana@example.com")
    assert len(to_ana) == 1
    text = to_ana[0].get_body(("plain",)).get_content()
    assert all(f"L-ana-{number}" in text for number in range(5))
    # with her morning list, made at the first pass of her day: six notices, one message
    assert to_ana[0]["Subject"].startswith("Handoff: 6 alerts")


def test_a_rule_names_people_by_owner_team_role_and_head(session, people):
    for user in session.exec(select(User).where(User.username.in_(["ana", "ben"]))):
        user.team = TEAM
        session.add(user)
    session.flush()
    named = notifications.people_named
    assert named(session, [("owner", None)], "ana") == {"ana"}
    assert named(session, [("owner_team", None)], "ana") == {"ana", "ben"}
    assert named(session, [("sales_head", None), ("exec", None)], "ana") == {"sofia", "erin"}
    assert named(session, [("team", TEAM)], None) == {"ana", "ben"}
    assert named(session, [("role", "marketer")], None) == {"mia"}


def test_round_robin_skips_the_owner_and_takes_turns(session, people):
    for user in session.exec(select(User).where(User.username.in_(["ana", "ben"]))):
        user.team = TEAM
        session.add(user)
    session.flush()
    assert alerts.next_rep(session, TEAM, exclude="ana") == "ben"
    assert alerts.next_rep(session, TEAM, exclude="ben") == "ana"
    assert alerts.next_rep(session, "Nobody's team") is None


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_two_workers_passing_every_second_alert_once(concurrent_engine, environment, smtp,
                                                     tmp_path, store):
    """Real `worker` processes, two at a time on one queue, running the alerts pass every
    second at the at-risk instant and then at the breach: still one message each."""
    from tests.service.test_worker import REDIS_URL, Workers, wait_for

    with session_scope(concurrent_engine) as session:
        workspace(session)
    queue = {"REDIS_URL": REDIS_URL} if store == "redis" else {
        "HANDOFF_WORKER_DB": str(tmp_path / "queue.db")}
    name = f"alerts-{os.getpid()}-{store}-{tmp_path.name}"[:60]
    workers = Workers(tmp_path)
    try:
        for stage, instant in enumerate((AT_RISK, BREACHED)):
            env = {**environment, **queue, "HANDOFF_WORKER_NAME": f"{name}-{stage}",
                   "HANDOFF_WORKER_PERIODIC_SECONDS": "1", "HANDOFF_NOW": instant.isoformat()}
            started = [workers.start(**env), workers.start(**env)]
            wanted = 4 * (stage + 1)
            wait_for(lambda wanted=wanted: passes(concurrent_engine) >= wanted,
                     "four alerts passes", workers)
            for process in started:
                assert workers.stop(process) == 0
    finally:
        workers.stop_all()
    assert len(alerts_to(smtp, "ana@example.com")) == 1
    assert len(alerts_to(smtp, "chloe@example.com")) == 1
    assert len(alerts_to(smtp, "sofia@example.com")) == 1
    with session_scope(concurrent_engine) as session:
        assert len(session.exec(select(AlertFiring)).all()) == 4  # 2 leads × 2 rules


def passes(engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(JobRun).where(JobRun.job == "run_alerts",
                                                     JobRun.state == "ok")).all())


def test_a_breach_older_than_a_day_is_not_acted_on_late(session):
    """A pass that first sees a lead long overdue (history imported, a ladder just signed) does
    not tell of a breach from two days ago; the rule whose moment has just come still acts."""
    workspace(session)
    wednesday = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # 15:00: due + 2 days came at 14:00
    fired = alerts.fire(session, wednesday)
    assert {(f.lead, f.rule) for f in fired} == {("L-ana", "back-to-pool"),
                                                 ("L-chloe", "back-to-pool")}
    assert alerts.fire(session, wednesday + timedelta(days=1, hours=1)) == []
