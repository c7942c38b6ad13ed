"""Two workers of the team, behind two replicas: a HubSpot sync asked for from both replicas at
once (and by the schedule) runs one at a time and stores each record once; an alert the
escalation ladder raises is raised once, whichever worker's pass sees it first."""

import time
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from core import agreement as sla
from core.compliance import AT_RISK_FLOOR_SECONDS
from core.services import OPERATOR, agreements
from core.services.sync import configure_connector
from db.engine import session_scope
from db.models import AlertFiring, Delivery, JobRun, Lead, Notification, Touch, utcnow
from tests.browser.serving import open_page, settle
from tests.fakes.hubspot import FakeHubSpot
from tests.service.test_hubspot_sync import utc
from tests.team.test_replicas import REP, add_lead

WAIT_SECONDS = 240


def wait_for(condition, what: str, team):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n"
                                 + "\n".join(team.log_of(f"worker{n}")[-2000:] for n in (1, 2)))
        time.sleep(0.1)
    return value


def sync_runs(engine) -> list[JobRun]:
    with session_scope(engine) as session:
        return list(session.exec(select(JobRun).where(JobRun.job == "sync:hubspot")
                                 .order_by(JobRun.id)).all())


def stored_from_hubspot(engine) -> tuple[dict[str, int], list[tuple]]:
    """How many times each HubSpot contact is stored, and every touch of theirs."""
    with session_scope(engine) as session:
        contacts = dict(session.exec(
            select(Lead.external_id, func.count()).where(Lead.source == "hubspot")
            .group_by(Lead.external_id)).all())
        touches = session.exec(select(Lead.external_id, Touch.at, Touch.kind).join(
            Lead, Lead.id == Touch.lead_id).where(Lead.source == "hubspot")).all()
    return contacts, [(contact, utc(at), kind) for contact, at, kind in touches]


def test_a_sync_asked_for_on_both_replicas_at_once_runs_once_and_stores_each_record_once(
        team, team_engine, crm, person, monkeypatch):
    monkeypatch.setenv("HANDOFF_SECRET_KEY", team.config.env["HANDOFF_SECRET_KEY"])
    fake = FakeHubSpot(crm, contacts=300, engagements=600)
    with session_scope(team_engine) as session:
        configure_connector(session=session, actor=OPERATOR, name="hubspot",
                            settings=fake.settings(page_size=50),
                            credentials=fake.private_app_credentials())
    admins = [person(team.app_url(n), "admin") for n in (1, 2)]
    for number, page in enumerate(admins, start=1):
        open_page(page, f"{team.app_url(number)}/integrations", "Integrations")
    for page in admins:  # both at once: the second click lands while the first sync runs
        page.get_by_role("button", name="Sync now").first.click()
    for page in admins:
        settle(page)

    def settled() -> bool:
        runs = sync_runs(team_engine)
        return (sum(run.state == "ok" and run.detail.get("state") == "ok" for run in runs) >= 1
                and all(run.state != "running" for run in runs)
                and len(stored_from_hubspot(team_engine)[0]) == len(fake.objects["contacts"]))

    wait_for(settled, "the syncs to finish", team)
    contacts, touches = stored_from_hubspot(team_engine)
    assert set(contacts) == set(fake.objects["contacts"])
    assert set(contacts.values()) == {1}  # each contact once
    assert sorted(touches) == sorted(fake.expected_touches())  # each touch once
    runs = sync_runs(team_engine)
    assert len(runs) >= 2  # two replicas asked (and the schedule): more than one run was queued
    synced = sorted((run.started_at, run.finished_at) for run in runs
                    if run.detail.get("state") == "ok")
    for (_, finished), (started, _) in zip(synced, synced[1:], strict=False):
        assert finished <= started  # one sync at a time, across both workers
    assert {run.detail["worker"] for run in runs} <= {
        worker["worker"] for worker in team_workers(team)}


def team_workers(team) -> list[dict]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{team.url}/api/v1/ready", timeout=10) as response:
        return json.loads(response.read())["checks"]["workers"]["workers"]


def at_risk_mql(engine, now: datetime) -> datetime:
    """An MQL instant whose first-touch clock has 20 business minutes left now (at risk at any
    hour: business time is counted on the agreement's calendar)."""
    with session_scope(engine) as session:
        document = agreements.signed_document(session)
    commitment = next(c for c in document.commitments if c.id == "first-touch")
    budget = sla.within_seconds(commitment.within)
    wanted = budget - 20 * 60
    assert AT_RISK_FLOOR_SECONDS > 20 * 60
    calendar = sla.business_calendar(document)
    early, late = now - timedelta(days=30), now  # business time from MQL to now: falls with MQL
    while (early - late).total_seconds() < -1:
        middle = early + (late - early) / 2
        if calendar.segments(middle, now).total_seconds > wanted:
            early = middle
        else:
            late = middle
    return late


def test_an_alert_is_raised_once_by_two_workers_passing_every_second(team, team_engine, smtp):
    first = last_pass(team_engine)
    lead = add_lead(team_engine, "R-ALERT", utcnow() - at_risk_mql(team_engine, utcnow()))
    # Until both workers have each taken passes since the lead came, six passes in all.
    wait_for(lambda: len(passes_since(team_engine, first)) >= 6
             and len(set(passes_since(team_engine, first))) == 2,
             "six alert passes after the lead, by both workers", team)
    with session_scope(team_engine) as session:
        firings = session.exec(select(AlertFiring).where(AlertFiring.lead_id == lead)).all()
        told = session.exec(select(Notification).where(Notification.lead_id == lead)).all()
        mail = [d for d in session.exec(select(Delivery).where(Delivery.username == REP)).all()
                if "R-ALERT" in d.body]
    assert [f.rule_id for f in firings] == ["warn-owner"]
    assert [n.username for n in told] == [REP]  # the owner, told once
    assert len(mail) <= 1  # one email: sent, or held for the calendar's next opening
    sent = [m for m in smtp.messages if f"{REP}@example.com" in m.rcpt_tos
            and "R-ALERT" in m.message.get_body(("plain",)).get_content()]
    assert len(sent) == sum(d.state == "sent" for d in mail)


def last_pass(engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.max(JobRun.id))).one() or 0


def passes_since(engine, first: int) -> list[str]:
    """The worker of each alerts pass that ended well since JobRun `first`."""
    with session_scope(engine) as session:
        runs = session.exec(select(JobRun).where(
            JobRun.job == "run_alerts", JobRun.state == "ok", col(JobRun.id) > first)).all()
    return [run.detail.get("worker") for run in runs]
