"""Leads and Disputes pages: a rep works their leads; marketing disputes; a head resolves."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core import agreement as sla
from core.permissions import Role
from db.engine import get_engine
from db.models import Dispute, Lead, Touch, utcnow
from tests.app.conftest import logged_in
from tests.sla_helpers import activate
from ui.text import words

USERS = {"ana": Role.SALES_REP, "ben": Role.SALES_REP, "sofia": Role.SALES_HEAD,
         "marco": Role.MARKETING_HEAD, "erin": Role.EXEC, "mia": Role.MARKETER}
MQL = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def world(app_db):
    """Users, an active agreement, and two open leads per rep."""
    people = {name: app_db(name, role) for name, role in USERS.items()}
    with Session(get_engine()) as session:
        document = sla.template(title="SLA", start=date(2026, 1, 1), end=date(2099, 1, 1))
        activate(session, people, document)
        for owner in ("ana", "ben"):
            for index in range(2):
                session.add(Lead(source="crm", external_id=f"{owner}-{index}", created_at=MQL,
                                 mql_at=MQL, owner=owner, name=f"Person {index}",
                                 company=f"{owner.title()} Co"))
        session.commit()
    return people


def open_page(actor, page, **query):
    at = logged_in(actor).run()
    for name, value in query.items():
        at.query_params[name] = str(value)
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def stored(external_id: str) -> Lead:
    with Session(get_engine()) as session:
        return session.exec(select(Lead).where(Lead.external_id == external_id)).one()


def found(at) -> list[str]:
    """The lead ids the Find a lead table shows."""
    return list(at.dataframe(key="find_table").value["external_id"])


def test_a_rep_finds_only_their_leads_and_logs_a_touch_with_an_outcome(world):
    at = open_page(world["ana"], "leads")
    assert at.title[0].value == "My worklist"
    assert sorted(found(at)) == ["ana-0", "ana-1"]
    at.text_input(key="find_text").input("person 1").run()
    assert found(at) == ["ana-1"]
    lead_id = stored("ana-1").id
    at = open_page(world["ana"], "lead", lead=lead_id)
    at.radio(key=f"lead_kind_{lead_id}").set_value("meeting")
    at.selectbox(key=f"lead_outcome_{lead_id}").select("connected")
    at.text_area(key=f"lead_note_{lead_id}").input("Demo next Tuesday")
    at.button(key=f"FormSubmitter:lead_touch_{lead_id}-Log it").click().run()
    assert at.success[0].value == "Logged a meeting (connected)."
    timeline = at.dataframe[-1].value  # the timeline comes last
    assert timeline.iloc[0][["Who", "What", "Note"]].tolist() == [
        "Ana Tester", "Meeting: connected", "Demo next Tuesday"]
    with Session(get_engine()) as session:
        touch = session.exec(select(Touch)).one()
    assert (touch.kind, touch.rep, touch.outcome, touch.note) == (
        "meeting", "ana", "connected", "Demo next Tuesday")


def test_a_rep_accepts_and_undoes_within_the_window(world):
    lead_id = stored("ana-1").id
    at = open_page(world["ana"], "lead", lead=lead_id)
    at.button(key=f"lead_accept_{lead_id}").click().run()
    assert at.success[0].value == "Lead accepted."
    assert stored("ana-1").accepted_at is not None
    at.button(key=f"lead_undo_{lead_id}").click().run()
    assert at.success[0].value == "The accept is undone."
    assert stored("ana-1").accepted_at is None


def test_a_rep_rejects_only_with_a_reason_they_chose(world):
    lead_id = stored("ana-0").id
    at = open_page(world["ana"], "lead", lead=lead_id)
    reasons = sla.template(title="x", start=date(2026, 1, 1), end=date(2027, 1, 1)
                           ).rejection_reasons
    picker = at.selectbox(key=f"lead_reason_{lead_id}")
    # The reasons read as words, and none is chosen for the rep
    assert picker.options == [words(r) for r in reasons]
    assert picker.value is None
    at.button(key=f"FormSubmitter:lead_reject_form_{lead_id}-Reject lead").click().run()
    assert "choose why the lead is rejected" in at.error[0].value
    assert stored("ana-0").rejected_at is None
    at.selectbox(key=f"lead_reason_{lead_id}").select("no_budget")
    at.text_area(key=f"lead_reject_note_{lead_id}").input("Student project")
    at.button(key=f"FormSubmitter:lead_reject_form_{lead_id}-Reject lead").click().run()
    assert at.success[0].value == "Lead rejected: No budget."
    assert stored("ana-0").rejection_reason == "no_budget"


def test_the_head_of_sales_sees_every_reps_leads_and_counts_per_rep(world):
    with Session(get_engine()) as session:  # one lead of each rep waiting since yesterday
        for owner in ("ana", "ben"):
            yesterday = utcnow() - timedelta(days=1)
            session.add(Lead(source="crm", external_id=f"{owner}-new", created_at=yesterday,
                             mql_at=yesterday, owner=owner, company="Fresh Co"))
        session.commit()
    at = open_page(world["sofia"], "leads")
    assert at.title[0].value == "Leads"
    table = at.dataframe(key="find_table").value
    assert sorted(table["owner"].unique()) == ["Ana Tester", "Ben Tester"]
    counts = at.dataframe[0].value  # the counts per rep come first
    assert sorted(counts["Rep"]) == ["Ana Tester", "Ben Tester"]
    assert counts["Overdue"].tolist() == [1, 1]
    at.selectbox(key="work_rep").select("ben").run()
    assert not at.exception
    cards = [m.value for m in at.markdown if "-new](lead?lead=" in m.value]
    assert len(cards) == 1 and "ben-new" in cards[0]


def test_marketing_disputes_and_the_head_overturns(world):
    lead_id = stored("ana-0").id
    ana = open_page(world["ana"], "lead", lead=lead_id)
    ana.selectbox(key=f"lead_reason_{lead_id}").select("not_a_fit")
    ana.button(key=f"FormSubmitter:lead_reject_form_{lead_id}-Reject lead").click().run()
    rejected_id = "ana-0"
    assert stored(rejected_id).rejected_at is not None

    mia = open_page(world["mia"], "disputes")
    assert mia.selectbox(key="disputes_lead").options[0].startswith(rejected_id)
    mia.text_area(key="disputes_comment").input("They booked a demo.")
    mia.button(key="FormSubmitter:disputes_new-Dispute").click().run()
    assert mia.success[0].value == "Dispute opened."
    assert not [b for b in mia.button if (b.key or "").startswith("disputes_overturn")]

    sofia = open_page(world["sofia"], "disputes")
    assert "They booked a demo." in [m.value for m in sofia.markdown]
    with Session(get_engine()) as session:
        dispute_id = session.exec(select(Dispute.id)).one()
    sofia.text_input(key=f"disputes_note_{dispute_id}").input("Demo booked: work it")
    sofia.button(key=f"disputes_overturn_{dispute_id}").click().run()
    assert sofia.success[0].value == "Rejection overturned."
    assert stored(rejected_id).rejected_at is None

    mia = open_page(world["mia"], "disputes")
    assert any("Overturned: back to sales" in m.value for m in mia.markdown)
    assert any("Demo booked: work it" in m.value for m in mia.markdown)
    ana = open_page(world["ana"], "leads")
    assert any("Rejection overturned" in w.value and "Demo booked: work it" in w.value
               for w in ana.warning)


def test_a_rep_cannot_open_another_reps_lead_page(world):
    at = open_page(world["ana"], "lead", lead=stored("ben-0").id)
    assert "belongs to ben" in at.warning[0].value
    assert not at.dataframe and [b.key for b in at.button] == ["auth_logout"]


@pytest.mark.parametrize(("user", "page"), [("mia", "leads"), ("erin", "leads"),
                                             ("ana", "disputes"), ("erin", "disputes"),
                                             ("ana", "import_data"), ("erin", "import_data")])
def test_pages_stop_roles_that_may_not_use_them(world, user, page):
    at = logged_in(world[user], script=f"app_pages/{page}.py").run()
    assert not at.exception
    assert "cannot open" in at.error[0].value
    assert not at.dataframe and not at.button
