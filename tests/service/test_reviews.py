"""Quarterly reviews: comments, an exec's sign-off on a frozen snapshot, send-back, drift."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import select

from core import dashboard
from core.errors import InvalidInput, PermissionDenied
from core.services import OPERATOR, get_actor, imports, measurement, reviews
from core.services.agreements import WorkflowError
from db import guards
from db.models import AuditEvent, Lead, QuarterlyReview, ReviewComment, Touch
from tests.sla_helpers import activate, around_the_clock

Q3 = "2026-Q3"
JULY = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(session, people) -> int:
    """The always-on SLA, signed; four July MQLs: ana answers in an hour, ben after ten hours,
    one social lead is never touched, and one is rejected as not a fit."""
    version = activate(session, people, around_the_clock())
    leads = [
        Lead(source="crm", external_id="fast", created_at=JULY, mql_at=JULY, owner="ana",
             channel="paid_search", score=80, accepted_at=JULY + timedelta(hours=2)),
        Lead(source="crm", external_id="slow", created_at=JULY, mql_at=JULY, owner="ben",
             channel="social", score=70),
        Lead(source="crm", external_id="silent", created_at=JULY, mql_at=JULY, owner="ben",
             channel="social", score=65),
        Lead(source="crm", external_id="misfit", created_at=JULY, mql_at=JULY, owner="ana",
             channel="paid_search", score=40, rejected_at=JULY + timedelta(hours=3),
             rejection_reason="not_a_fit"),
    ]
    session.add_all(leads)
    session.flush()
    session.add_all([
        Touch(lead_id=leads[0].id, at=JULY + timedelta(hours=1), kind="call", rep="ana"),
        Touch(lead_id=leads[1].id, at=JULY + timedelta(hours=10), kind="call", rep="ben"),
        Touch(lead_id=leads[3].id, at=JULY + timedelta(hours=1), kind="call", rep="ana"),
    ])
    session.flush()
    return version.agreement_id


def add_mqls(session, count: int) -> None:
    """More July MQLs, imported after the sign-off."""
    session.add_all([
        Lead(source="crm", external_id=f"late-{index}", created_at=JULY,
             mql_at=JULY + timedelta(days=20, hours=index), owner="ana", channel="events",
             score=90)
        for index in range(count)])
    session.flush()


def item(report: dict, identifier: str) -> dict:
    return next(i for i in report["commitments"] + report["shared_goals"]
                if i["id"] == identifier)


def first_touch_reps(causes: dict) -> list[str]:
    return [row["rep"] for row in causes["reps"] if row["commitment"] == "first-touch"]


def live_report(session, quarter: str = Q3) -> dict:
    scope = measurement.scope(session=session, actor=OPERATOR, period=quarter)
    return measurement.report(session=session, actor=OPERATOR, scope=scope)


def test_a_quarter_without_review_is_open_with_the_live_report(session, people, world):
    review = reviews.show(session=session, actor=people["ana"], quarter=Q3)

    assert set(review) >= {"quarter", "agreement", "state", "scorecard", "live", "comments",
                           "signed_by", "signed_at", "changed_since_signoff", "trend",
                           "causes", "causes_signed"}
    assert review["quarter"] == Q3 and review["state"] == "open"
    assert review["agreement"] == {"id": world, "version": 1, "title": "Always-on SLA"}
    assert review["comments"] == [] and review["live"] is None
    assert review["signed_by"] is review["signed_at"] is None
    assert review["changed_since_signoff"] == []
    live = live_report(session)
    assert item(review["scorecard"], "first-touch") == item(live, "first-touch")
    assert item(review["scorecard"], "mql-volume")["actual"] == 4
    assert session.exec(select(QuarterlyReview)).all() == []  # reading creates nothing


def test_heads_comment_and_the_review_is_created_open(session, people, world):
    reviews.comment(session=session, actor=people["marco"], quarter=Q3,
                    body="  MQL volume was short in July.  ")
    reviews.comment(session=session, actor=people["sofia"], quarter="2026-q3",
                    body="Ben's first touches were slow after the offsite.")
    review = reviews.show(session=session, actor=people["erin"], quarter=Q3)

    assert review["state"] == "open"
    assert [(c["author"], c["role"], c["kind"], c["body"]) for c in review["comments"]] == [
        ("marco", "marketing_head", "comment", "MQL volume was short in July."),
        ("sofia", "sales_head", "comment", "Ben's first touches were slow after the offsite."),
    ]
    assert review["comments"][0]["author_name"] == "Marco"
    assert all(c["at"].endswith("Z") for c in review["comments"])
    assert len(session.exec(select(QuarterlyReview)).all()) == 1
    audited = session.exec(select(AuditEvent).where(AuditEvent.action == "review.comment")).all()
    assert [(e.actor, e.object_id) for e in audited] == [("marco", f"{world}/{Q3}"),
                                                          ("sofia", f"{world}/{Q3}")]


def test_admin_and_exec_may_comment_too(session, people, world):
    for who in ("root", "erin"):
        reviews.comment(session=session, actor=people[who], quarter=Q3, body=f"{who} was here")
    review = reviews.show(session=session, actor=people["root"], quarter=Q3)
    assert [c["author"] for c in review["comments"]] == ["root", "erin"]


@pytest.mark.parametrize("who", ["ana", "mia"])
def test_reps_and_marketers_can_neither_comment_nor_sign(session, people, world, who):
    actor = people[who]
    with pytest.raises(PermissionDenied):
        reviews.comment(session=session, actor=actor, quarter=Q3, body="me too")
    with pytest.raises(PermissionDenied):
        reviews.sign(session=session, actor=actor, quarter=Q3)
    with pytest.raises(PermissionDenied):
        reviews.send_back(session=session, actor=actor, quarter=Q3, comment="redo it")
    assert session.exec(select(QuarterlyReview)).all() == []
    assert reviews.show(session=session, actor=actor, quarter=Q3)["state"] == "open"


@pytest.mark.parametrize("who", ["sofia", "marco", "root"])
def test_heads_and_admin_cannot_sign_or_send_back(session, people, world, who):
    with pytest.raises(PermissionDenied):
        reviews.sign(session=session, actor=people[who], quarter=Q3)
    with pytest.raises(PermissionDenied):
        reviews.send_back(session=session, actor=people[who], quarter=Q3, comment="again")
    assert session.exec(select(QuarterlyReview)).all() == []


def test_empty_comments_and_bad_quarters_are_refused(session, people, world):
    with pytest.raises(InvalidInput) as empty:
        reviews.comment(session=session, actor=people["marco"], quarter=Q3, body="   ")
    assert empty.value.field == "comment"
    with pytest.raises(InvalidInput) as unexplained:
        reviews.send_back(session=session, actor=people["erin"], quarter=Q3, comment="")
    assert unexplained.value.field == "comment"
    for bad in ("2026-07", "2026-Q5", "Q3"):
        with pytest.raises(InvalidInput) as wrong:
            reviews.show(session=session, actor=people["erin"], quarter=bad)
        assert wrong.value.field == "quarter"
    assert session.exec(select(QuarterlyReview)).all() == []


def signed_before_causes_were_frozen(session, review: QuarterlyReview) -> None:
    """Make the review look signed before migration 0005, which froze the causes: the guards
    that forbid such a change came later, so they step aside for this one statement."""
    connection = session.connection()
    guards.drop(connection)
    connection.execute(update(QuarterlyReview).where(QuarterlyReview.id == review.id)
                       .values(causes=None))
    guards.install(connection)
    session.expire(review)


def test_exec_signs_and_later_leads_do_not_change_the_signed_review(session, people, world):
    signed = reviews.sign(session=session, actor=people["erin"], quarter=Q3,
                          comment="A fair quarter; fix first touch.")
    assert signed["state"] == "signed" and signed["signed_by"] == "erin"
    before = reviews.show(session=session, actor=people["sofia"], quarter=Q3)
    stored = session.exec(select(QuarterlyReview)).one()
    assert before["state"] == "signed" and before["signed_by"] == "erin"
    assert before["signed_by_name"] == "Erin" and before["signed_at"].endswith("Z")
    assert before["scorecard"] == stored.snapshot
    assert before["comments"][-1]["kind"] == "sign"
    assert before["changed_since_signoff"] == []
    assert item(before["scorecard"], "mql-volume")["actual"] == 4

    add_mqls(session, 3)
    after = reviews.show(session=session, actor=people["sofia"], quarter=Q3)

    assert after["scorecard"] == before["scorecard"] == stored.snapshot
    assert item(after["scorecard"], "mql-volume")["actual"] == 4
    assert item(after["live"], "mql-volume")["actual"] == 7
    # The causes are part of the record: ana's untouched late leads do not enter them.
    assert after["causes_signed"] and after["causes"] == before["causes"] == stored.causes
    assert first_touch_reps(after["causes"]) == ["ben"]
    signed_before_causes_were_frozen(session, stored)  # shows the live causes
    live = reviews.show(session=session, actor=people["sofia"], quarter=Q3)
    assert not live["causes_signed"] and first_touch_reps(live["causes"]) == ["ana", "ben"]
    moved = {c["figure"]: (c["signed"], c["now"]) for c in after["changed_since_signoff"]}
    assert moved["commitments.mql-volume.actual"] == (4, 7)
    assert moved["funnel.mql"] == (4, 7)
    assert "commitments.mql-volume.target" not in moved  # only figures that moved
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "review.sign")).one()
    assert event.actor == "erin" and event.after["comment"] == "A fair quarter; fix first touch."


def test_signing_before_the_quarter_ends_is_refused(session, people, world):
    current = reviews.quarters(session=session, actor=people["erin"])[0]
    with pytest.raises(WorkflowError, match="not over yet"):
        reviews.sign(session=session, actor=people["erin"], quarter=current)
    assert session.exec(select(QuarterlyReview)).all() == []
    assert reviews.last_finished_quarter(session=session, actor=people["erin"]) == \
        reviews.quarters(session=session, actor=people["erin"])[1]


def test_a_sent_back_review_can_be_signed_once_and_never_sent_back_again(session, people,
                                                                         world):
    back = reviews.send_back(session=session, actor=people["erin"], quarter=Q3,
                             comment="Explain the social channel's breaches first.")
    assert back["state"] == "sent_back"
    review = reviews.show(session=session, actor=people["marco"], quarter=Q3)
    assert review["state"] == "sent_back" and review["scorecard"] == review["scorecard"]
    assert review["comments"][-1]["kind"] == "send_back"
    reviews.comment(session=session, actor=people["sofia"], quarter=Q3,
                    body="Social leads arrived during the offsite; staffed now.")

    assert reviews.sign(session=session, actor=people["erin"], quarter=Q3)["state"] == "signed"
    with pytest.raises(WorkflowError, match="already signed"):
        reviews.sign(session=session, actor=people["erin"], quarter=Q3)
    with pytest.raises(WorkflowError, match="already signed"):
        reviews.send_back(session=session, actor=people["erin"], quarter=Q3, comment="oops")
    kinds = [c.kind for c in session.exec(select(ReviewComment).order_by(ReviewComment.id))]
    assert kinds == ["send_back", "comment"]  # no comment given with the sign-off


def test_causes_name_the_reps_channels_and_reasons_behind_the_misses(session, people, world):
    causes = reviews.show(session=session, actor=people["erin"], quarter=Q3)["causes"]

    first_touch = [row for row in causes["reps"] if row["commitment"] == "first-touch"]
    assert first_touch == [{"rep": "ben", "commitment": "first-touch", "breached": 2,
                            "clocks": 2, "compliance_pct": 0.0, "share_pct": 100.0}]
    channels = [row for row in causes["channels"] if row["commitment"] == "first-touch"]
    assert [(row["channel"], row["breached"]) for row in channels] == [("social", 2)]
    assert causes["rejection_reasons"] == [{"reason": "not_a_fit", "rejected": 1,
                                            "share_pct": 100.0}]
    assert all(row["breached"] > 0 for row in causes["reps"] + causes["channels"])


def test_trend_covers_the_earlier_quarters_of_the_agreement(session, people, world):
    reviews.sign(session=session, actor=people["erin"], quarter="2026-Q2")
    trend = reviews.show(session=session, actor=people["erin"], quarter=Q3)["trend"]

    # 2025-Q4 is before the agreement took effect; Q1 is measured live, Q2 read as signed.
    assert sorted({(row["quarter"], row["signed"]) for row in trend}) == [
        ("2026-Q1", False), ("2026-Q2", True)]
    volume = [row for row in trend if row["id"] == "mql-volume"]
    assert [(row["quarter"], row["value_pct"]) for row in volume] == [("2026-Q1", 0.0),
                                                                      ("2026-Q2", 0.0)]
    review = reviews.show(session=session, actor=people["erin"], quarter=Q3)
    rows = reviews.scorecard_rows(review)
    assert rows.set_index("id").loc["mql-volume", "previous_pct"] == 0.0


def test_csv_has_one_row_per_commitment_and_goal(session, people, world):
    text = reviews.csv(session=session, actor=people["ana"], quarter=Q3)
    rows = list(csv.DictReader(io.StringIO(text)))
    report = live_report(session)
    assert [row["id"] for row in rows] == [i["id"] for i in report["commitments"] +
                                           report["shared_goals"]]
    assert {row["quarter"] for row in rows} == {Q3} and {row["state"] for row in rows} == {"open"}
    first_touch = next(row for row in rows if row["id"] == "first-touch")
    assert first_touch["headline"] == dashboard.headline(item(report, "first-touch"))


def test_the_pdf_is_the_signed_scorecard(session, people, world):
    with pytest.raises(WorkflowError, match="not signed off"):
        reviews.pdf(session=session, actor=people["erin"], quarter=Q3)
    reviews.comment(session=session, actor=people["marco"], quarter=Q3,
                    body="Volume held up in July.")
    reviews.sign(session=session, actor=people["erin"], quarter=Q3, comment="Agreed.")
    review = reviews.show(session=session, actor=people["erin"], quarter=Q3)

    data = reviews.pdf(session=session, actor=people["ana"], quarter=Q3)

    assert data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    text = " ".join(text.split())
    assert "Quarterly review 2026-Q3 — Always-on SLA" in text
    first_touch = item(review["scorecard"], "first-touch")
    assert f"{first_touch['compliance_pct']:.1f}%" in text
    signed_at = datetime.fromisoformat(review["signed_at"].replace("Z", "+00:00"))
    assert f"Signed off by Erin on {signed_at.day} {signed_at:%B %Y}" in text
    assert "Volume held up in July." in text


def test_changed_figures_lists_moves_additions_and_status_flips():
    signed = {"commitments": [{"id": "a", "kind": "response", "within": "4h",
                               "compliance_pct": 91.2, "status": "met"}],
              "shared_goals": [], "funnel": {"mql": 10, "rates": {"mql_sal": 0.5}},
              "quality": {"rejection_reasons": {"duplicate": 2}}}
    now = {"commitments": [{"id": "a", "kind": "response", "within": "4h",
                            "compliance_pct": 88.0, "status": "missed"}],
           "shared_goals": [], "funnel": {"mql": 10, "rates": {"mql_sal": 0.5}},
           "quality": {"rejection_reasons": {"duplicate": 2, "not_a_fit": 1}}}
    assert reviews.changed_figures(signed, now) == [
        {"figure": "commitments.a.compliance_pct", "signed": 91.2, "now": 88.0},
        {"figure": "commitments.a.status", "signed": "met", "now": "missed"},
        {"figure": "quality.rejection_reasons.not_a_fit", "signed": None, "now": 1},
    ]


def test_the_demo_seeds_once_a_review_of_its_last_finished_quarter_for_the_exec_to_sign(session):
    from core.demo import seed_demo

    first = seed_demo(session, leads=400, seed=3, today=date(2026, 11, 22))
    review = reviews.show(session=session, actor=OPERATOR, quarter="2026-Q3")

    assert first.reviews_added == 1
    assert review["state"] == "open" and review["signed_by"] is None
    assert [(c["author"], c["kind"]) for c in review["comments"]] == [
        ("marco", "comment"), ("sofia", "comment")]
    erin = get_actor(session=session, username="erin")
    signed = reviews.sign(session=session, actor=erin, quarter="2026-Q3", comment="Signed.")
    assert signed["state"] == "signed"
    assert review["scorecard"]["agreement"]["title"].startswith("Sales–Marketing SLA")
    again = seed_demo(session, leads=400, seed=3, today=date(2026, 11, 22))
    assert again.reviews_added == 0 and again.already_seeded
    assert len(session.exec(select(QuarterlyReview)).all()) == 1


def test_the_text_summary_reads_like_the_review(session, people, world):
    reviews.comment(session=session, actor=people["marco"], quarter=Q3, body="Short on volume.")
    reviews.sign(session=session, actor=people["erin"], quarter=Q3)
    add_mqls(session, 2)
    review = reviews.show(session=session, actor=people["erin"], quarter=Q3)

    text = reviews.text_summary(review)

    assert text.splitlines()[0] == (f"Quarterly review {Q3} — Always-on SLA (agreement {world}, "
                                    "version 1)")
    assert f"signed off by erin at {review['signed_at']}" in text
    assert dashboard.headline(item(review["scorecard"], "first-touch")) in text
    assert "commitments.mql-volume.actual: 4 -> 6" in text
    assert "marco (marketing_head): Short on volume." in text
    assert "Causes of the misses (as signed off):" in text
    assert ("  first-touch: rep ben, 2 of 2 clocks breached (100% of its breaches)"
            in text.splitlines())
    assert "  rejected as not_a_fit: 1 lead (100% of the rejections)" in text.splitlines()


def test_an_import_after_sign_off_leaves_the_review_and_shows_the_drift(session, people, world):
    reviews.sign(session=session, actor=people["erin"], quarter=Q3)
    signed = reviews.show(session=session, actor=people["sofia"], quarter=Q3)["scorecard"]
    summary = imports.import_leads(
        session=session, actor=people["mia"], filename="late-mqls.csv", tz="UTC",
        data=b"id,mql\nLATE-1,2026-08-03 10:00\nLATE-2,2026-08-04 10:00\n",
        overrides={"external_id": "id", "mql_at": "mql"}, source="crm")
    assert summary.inserted == 2
    after = reviews.show(session=session, actor=people["sofia"], quarter=Q3)
    assert after["scorecard"] == signed  # the record does not move
    volume = item(signed, "mql-volume")["actual"]
    moved = {c["figure"]: (c["signed"], c["now"]) for c in after["changed_since_signoff"]}
    assert moved["commitments.mql-volume.actual"] == (volume, volume + 2)


@pytest.mark.parametrize("who", ["root", "sofia", "marco", "erin"])
def test_a_signed_review_takes_no_more_comments_from_anyone(session, people, world, who):
    reviews.sign(session=session, actor=people["erin"], quarter=Q3)
    with pytest.raises(WorkflowError, match="signed off by Erin on .*its discussion closed"):
        reviews.comment(session=session, actor=people[who], quarter=Q3, body="One more thing.")
    comments = session.exec(select(ReviewComment)).all()
    assert [c.kind for c in comments if c.kind == "comment"] == []
