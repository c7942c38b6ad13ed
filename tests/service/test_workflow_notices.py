"""Workflow notices: who hears of a submitted version, a version changed in review, a mention,
a dispute opened or resolved, and a review sent back; never the person who acted."""

from sqlmodel import select

from core import agreement as sla
from core.services import agreements, leads, notifications, reviews
from db.models import Notification
from tests.service.test_agreements import activate, draft
from tests.service.test_lead_actions import open_leads


def told(session, cause: str = "") -> list[tuple[str, str]]:
    """(who, title) of every workflow notice (whose cause starts so), oldest first."""
    return [(row.username, row.title) for row in session.exec(
        select(Notification).where(Notification.kind == "workflow",
                                   Notification.cause.startswith(cause))
        .order_by(Notification.id)).all()]


def test_a_submitted_version_reaches_the_other_head_not_the_submitter(session, people):
    version = draft(session, people)
    agreements.submit(session=session, actor=people["marco"], agreement_id=version.agreement_id)
    assert [who for who, _ in told(session)] == ["sofia"]
    assert "submitted version 1" in told(session)[0][1]
    [notice] = notifications.notifications(session=session, actor=people["sofia"])
    assert notice.link == "/agreements" and notice.cause == "agreement.submit"


def test_a_change_while_in_review_tells_both_heads_what_changed(session, people):
    version = draft(session, people)
    agreements.submit(session=session, actor=people["marco"], agreement_id=version.agreement_id)
    current = agreements.get_version(session=session, actor=people["sofia"],
                                     agreement_id=version.agreement_id)
    data = sla.to_dict(current.document)
    data["title"] = "A better title"
    agreements.save_draft(session=session, actor=people["sofia"],
                          agreement_id=version.agreement_id, number=current.number,
                          document=sla.from_dict(data), expected_revision=current.revision)
    changed = [(who, title) for who, title in told(session) if "while it is in review" in title]
    assert [who for who, _ in changed] == ["marco"]
    body = session.exec(select(Notification.body).where(
        Notification.cause == "agreement.edit_in_review")).one()
    assert "title" in body.lower()


def test_a_comment_tells_whom_it_mentions(session, people):
    version = draft(session, people)
    agreements.add_comment(session=session, actor=people["marco"],
                           agreement_id=version.agreement_id, number=version.number,
                           body="@sofia can sales live with 2h? cc @erin and @nobody, "
                                "not email@ana.example")
    assert sorted(who for who, _ in told(session)) == ["erin", "sofia"]
    assert all("mentioned you" in title for _, title in told(session))


def test_a_dispute_reaches_the_heads_and_the_rep_and_its_outcome_the_disputer(session, people):
    ids = open_leads(session, people)
    leads.reject_lead(session=session, actor=people["ana"], lead_id=ids["ana"],
                      reason="not_a_fit")
    dispute_id = leads.dispute_rejection(session=session, actor=people["mia"],
                                         lead_id=ids["ana"], comment="They asked for a demo.")
    opened = told(session, "dispute.open")
    assert sorted(who for who, _ in opened) == ["ana", "marco", "sofia"]
    leads.resolve_dispute(session=session, actor=people["sofia"], dispute_id=dispute_id,
                          overturn=True, comment="Fair: call them back.")
    resolved = told(session, "dispute.overturned")
    assert sorted(who for who, _ in resolved) == ["ana", "mia"]
    assert all("overturned the rejection" in title for _, title in resolved)


def test_a_review_sent_back_reaches_both_heads(session, people):
    activate(session, people, draft(session, people))
    reviews.send_back(session=session, actor=people["erin"], quarter="2026-Q1",
                      comment="Explain the first-touch miss in March, @marco.")
    sent_back = [(who, title) for who, title in told(session) if "sent the" in title]
    assert sorted(who for who, _ in sent_back) == ["marco", "sofia"]
