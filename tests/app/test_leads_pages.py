"""Leads and Disputes pages: a rep works their leads; marketing disputes; a head resolves."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from core import agreement as sla
from core.permissions import Role
from db.engine import get_engine
from db.models import Dispute, Lead, Touch
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


def open_page(actor, page):
    at = logged_in(actor).run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def stored(external_id: str) -> Lead:
    with Session(get_engine()) as session:
        return session.exec(select(Lead).where(Lead.external_id == external_id)).one()


def test_a_rep_sees_only_their_leads_logs_a_touch_and_accepts(world):
    at = open_page(world["ana"], "leads")
    assert at.title[0].value == "My worklist"
    assert sorted(at.dataframe[-1].value["external_id"]) == ["ana-0", "ana-1"]
    assert at.selectbox(key="leads_pick").options == [
        "ana-0 — Person 0 (Ana Co)", "ana-1 — Person 1 (Ana Co)"]
    at.selectbox(key="leads_pick").select_index(1)
    at.radio(key="leads_touch_kind").set_value("meeting")
    at.button(key="leads_log_touch").click().run()
    assert at.success[0].value == "Logged a meeting."
    with Session(get_engine()) as session:
        touch = session.exec(select(Touch)).one()
    assert (touch.kind, touch.rep) == ("meeting", "ana")
    at.selectbox(key="leads_pick").select_index(1)
    at.button(key="leads_accept").click().run()
    assert stored("ana-1").accepted_at is not None
    assert list(at.dataframe[-1].value["external_id"]) == ["ana-0"]


def test_a_rep_rejects_with_one_of_the_agreements_reasons(world):
    at = open_page(world["ana"], "leads")
    reasons = sla.template(title="x", start=date(2026, 1, 1), end=date(2027, 1, 1)
                           ).rejection_reasons
    # The reasons read as words; the lead stores the agreement's id of the one chosen
    assert at.selectbox(key="leads_reject_reason").options == [words(r) for r in reasons]
    assert "Not a fit" in at.selectbox(key="leads_reject_reason").options
    at.selectbox(key="leads_reject_reason").select("no_budget")
    at.button(key="leads_reject").click().run()
    assert at.success[0].value == "Lead rejected: No budget."
    rejected = [stored(f"ana-{i}") for i in range(2)]
    assert [lead.rejection_reason for lead in rejected].count("no_budget") == 1


def test_the_head_of_sales_sees_every_reps_leads(world):
    at = open_page(world["sofia"], "leads")
    assert at.title[0].value == "Leads"
    assert sorted(at.dataframe[-1].value["owner"].unique()) == ["Ana Tester", "Ben Tester"]


def test_marketing_disputes_and_the_head_overturns(world):
    ana = open_page(world["ana"], "leads")
    ana.selectbox(key="leads_reject_reason").select("not_a_fit")
    ana.button(key="leads_reject").click().run()
    rejected_id = next(stored(f"ana-{i}").external_id for i in range(2)
                       if stored(f"ana-{i}").rejected_at)

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
    sofia.button(key=f"disputes_overturn_{dispute_id}").click().run()
    assert sofia.success[0].value == "Rejection overturned."
    assert stored(rejected_id).rejected_at is None


@pytest.mark.parametrize(("user", "page"), [("mia", "leads"), ("erin", "leads"),
                                             ("ana", "disputes"), ("erin", "disputes"),
                                             ("ana", "import_data"), ("erin", "import_data")])
def test_pages_stop_roles_that_may_not_use_them(world, user, page):
    at = logged_in(world[user], script=f"app_pages/{page}.py").run()
    assert not at.exception
    assert "cannot open" in at.error[0].value
    assert not at.dataframe and not at.button
