"""Digests: a rep's morning list is their worklist at that instant; the heads' weekly digest is
the report of the week; the exec hears when a quarter's review is ready to sign. Each once."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from core import dashboard
from core.services import digests, get_actor, measurement, notifications
from core.services.alerts import ESCALATION_ACTOR
from db.models import Lead, Notification
from tests.service.test_alerts import MQL, workspace

TUESDAY_OPENING = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in New York
MONDAY_OPENING = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # Monday 9 March 09:00 (EDT)


def add_leads(session, owner: str, mqls: dict[str, datetime]) -> None:
    for external_id, at in mqls.items():
        session.add(Lead(source="crm", external_id=external_id, created_at=at, mql_at=at,
                         owner=owner, name=f"Lead {external_id}", score=80))
    session.flush()


def digest_of(session, username: str, kind_key: str) -> list[Notification]:
    return list(session.exec(select(Notification).where(
        Notification.username == username,
        Notification.once_key.startswith(kind_key))).all())


def test_a_reps_morning_digest_is_their_worklist_at_that_instant(session):
    workspace(session)
    add_leads(session, "ana", {
        "OVERDUE": MQL,  # due Monday 14:00: overdue
        "AT-RISK": MQL + timedelta(hours=3, minutes=30),  # 30 min left at Tuesday's opening
        "PENDING": MQL + timedelta(hours=6, minutes=30),  # 3 h 30 left
    })
    assert digests.run_digests(session, TUESDAY_OPENING - timedelta(minutes=1),
                               ESCALATION_ACTOR)["morning"] == []  # before her day starts
    made = digests.run_digests(session, TUESDAY_OPENING, ESCALATION_ACTOR)
    assert "ana" in made["morning"]
    [digest] = digest_of(session, "ana", "digest:morning:2026-03-03")
    work = measurement.worklist(session=session, actor=get_actor(session=session,
                                                                username="ana"),
                                as_of=TUESDAY_OPENING)
    expected = set(work[work["state"].isin(["overdue", "at_risk"])]["external_id"])
    listed = {line.split(" · ")[0].removeprefix("- ") for line in digest.body.splitlines()
              if line.startswith("- ")}
    assert listed == expected
    assert {"OVERDUE", "AT-RISK", "L-ana"} <= listed and "PENDING" not in listed
    assert digest.title.startswith("Your morning list: 2 overdue, 1 at risk")
    # Once a day, whoever passes again
    assert digests.run_digests(session, TUESDAY_OPENING + timedelta(minutes=5),
                               ESCALATION_ACTOR)["morning"] == []
    assert len(digest_of(session, "ana", "digest:morning")) == 1


def test_notices_chosen_for_the_digest_come_in_it_not_by_themselves(session):
    workspace(session)
    rep = get_actor(session=session, username="ana")
    notifications.set_preference(session=session, actor=rep, kind="at_risk", mode="digest")
    notifications.notify(session, ["ana"], notifications.Notice(
        kind="at_risk", title="L-x: first touch at risk", cause="test"),
        now=TUESDAY_OPENING - timedelta(hours=12), mail_ready=True)
    digests.run_digests(session, TUESDAY_OPENING, ESCALATION_ACTOR)
    [digest] = digest_of(session, "ana", "digest:morning")
    assert "Since your last digest:" in digest.body and "L-x: first touch at risk" in digest.body
    waiting = session.exec(select(Notification).where(Notification.kind == "at_risk")).one()
    assert waiting.email_state == "digested"


def test_no_morning_digest_on_a_day_off(session):
    workspace(session)
    saturday = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    assert digests.run_digests(session, saturday, ESCALATION_ACTOR)["morning"] == []


def test_the_heads_weekly_digest_is_the_report_of_the_week(session):
    workspace(session)
    add_leads(session, "ben", {f"W-{n}": MQL + timedelta(days=n % 4, hours=n % 3)
                               for n in range(12)})
    made = digests.run_digests(session, MONDAY_OPENING, ESCALATION_ACTOR)
    assert sorted(made["weekly"]) == ["marco", "sofia"]
    [digest] = digest_of(session, "sofia", "digest:weekly:2026-03-09")
    scope = measurement.scope(session=session, actor=ESCALATION_ACTOR,
                              period="2026-03-02:2026-03-09", as_of=MONDAY_OPENING)
    report = measurement.report(session=session, actor=ESCALATION_ACTOR, scope=scope)
    card = dashboard.scorecard(report)
    for row in card.itertuples():
        assert f"{row.status_words.lower()}, {row.headline}" in digest.body
    assert f"{int((card['status'] == 'missed').sum())} of {len(card)} missed" in digest.title
    assert digests.run_digests(session, MONDAY_OPENING + timedelta(hours=1),
                               ESCALATION_ACTOR)["weekly"] == []
    # Not on another day of the week
    assert digests.run_digests(session, MONDAY_OPENING + timedelta(days=1),
                               ESCALATION_ACTOR)["weekly"] == []


def test_the_exec_is_told_once_when_a_quarters_review_is_ready(session):
    workspace(session)
    april = datetime(2026, 4, 1, 13, 0, tzinfo=UTC)
    assert digests.run_digests(session, april, ESCALATION_ACTOR)["review"] == ["erin"]
    [told] = session.exec(select(Notification).where(Notification.username == "erin")).all()
    assert told.title == "The 2026-Q1 review is ready to sign" and told.kind == "workflow"
    assert digests.run_digests(session, april + timedelta(hours=2),
                               ESCALATION_ACTOR)["review"] == []
