"""Reps work their leads; marketing disputes rejections; heads resolve. DESIGN §7, every no."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core import agreement as sla
from core.errors import InvalidInput
from core.permissions import PermissionDenied, Role
from core.services import leads
from core.services.agreements import WorkflowError
from core.services.leads import NotYourLead
from db.models import AuditEvent, Lead, Touch
from tests.service.conftest import BY_ROLE
from tests.sla_helpers import activate

MQL = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def lead_ids(session, people) -> dict[str, int]:
    """An active agreement, and one open lead owned by each rep (ana, ben)."""
    return open_leads(session, people)


def open_leads(session, people) -> dict[str, int]:
    """An active agreement, and one open lead owned by each rep (ana, ben): their ids."""
    document = sla.template(title="SLA", start=date(2026, 1, 1), end=date(2099, 1, 1))
    activate(session, people, document)
    ids = {}
    for owner in ("ana", "ben"):
        lead = Lead(source="crm", external_id=f"L-{owner}", created_at=MQL, mql_at=MQL,
                    owner=owner, name=f"Lead of {owner}", company="Acme")
        session.add(lead)
        session.flush()
        ids[owner] = lead.id
    return ids


def test_a_rep_sees_and_works_only_their_own_leads(session, people, lead_ids):
    queue = leads.work_queue(session=session, actor=people["ana"])
    assert list(queue["external_id"]) == ["L-ana"]
    leads.log_touch(session=session, actor=people["ana"], lead_id=lead_ids["ana"], kind="call")
    leads.accept_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"])
    assert leads.work_queue(session=session, actor=people["ana"]).empty
    decided = leads.work_queue(session=session, actor=people["ana"], include_decided=True)
    assert decided.iloc[0]["touches"] == 1
    touch = session.exec(select(Touch)).one()
    assert (touch.rep, touch.kind, touch.automated) == ("ana", "call", False)
    actions = [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.object_type == "lead")).all()]
    assert actions == ["lead.touch", "lead.accept"]


@pytest.mark.parametrize("action", ["touch", "accept", "reject"])
def test_a_rep_cannot_work_another_reps_lead(session, people, lead_ids, action):
    call = {
        "touch": lambda: leads.log_touch(session=session, actor=people["ana"],
                                         lead_id=lead_ids["ben"], kind="email"),
        "accept": lambda: leads.accept_lead(session=session, actor=people["ana"],
                                            lead_id=lead_ids["ben"]),
        "reject": lambda: leads.reject_lead(session=session, actor=people["ana"],
                                            lead_id=lead_ids["ben"], reason="not_a_fit"),
    }[action]
    with pytest.raises(NotYourLead, match="belongs to ben"):
        call()
    lead = session.get(Lead, lead_ids["ben"])
    assert lead.accepted_at is None and lead.rejected_at is None
    assert session.exec(select(Touch)).all() == []


def test_the_head_of_sales_works_every_reps_lead(session, people, lead_ids):
    assert set(leads.work_queue(session=session, actor=people["sofia"])["owner"]) == \
        {"ana", "ben"}
    leads.reject_lead(session=session, actor=people["sofia"], lead_id=lead_ids["ben"],
                      reason="no_budget")
    assert session.get(Lead, lead_ids["ben"]).rejection_reason == "no_budget"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETING_HEAD, Role.EXEC, Role.MARKETER])
def test_roles_without_work_leads_cannot_touch_accept_or_reject(session, people, lead_ids,
                                                                  role):
    actor = people[BY_ROLE[role]]
    for call in (
        lambda: leads.log_touch(session=session, actor=actor, lead_id=lead_ids["ana"],
                                kind="call"),
        lambda: leads.accept_lead(session=session, actor=actor, lead_id=lead_ids["ana"]),
        lambda: leads.reject_lead(session=session, actor=actor, lead_id=lead_ids["ana"],
                                  reason="not_a_fit"),
        lambda: leads.work_queue(session=session, actor=actor),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_a_rejection_needs_one_of_the_agreements_reasons(session, people, lead_ids):
    with pytest.raises(InvalidInput, match="not a rejection reason of the agreement"):
        leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                          reason="too_pushy")


def test_marketing_disputes_a_rejection_and_a_head_overturns_it(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    dispute_id = leads.dispute_rejection(session=session, actor=people["mia"],
                                         lead_id=lead_ids["ana"],
                                         comment="They asked for a demo twice.")
    with pytest.raises(WorkflowError, match="already has an open dispute"):
        leads.dispute_rejection(session=session, actor=people["marco"], lead_id=lead_ids["ana"],
                                comment="Again.")
    open_disputes = leads.list_disputes(session=session, actor=people["sofia"])
    assert [(d.lead, d.rejection_reason, d.opened_by) for d in open_disputes] == [
        ("crm/L-ana", "not_a_fit", "mia")]
    leads.resolve_dispute(session=session, actor=people["sofia"], dispute_id=dispute_id,
                          overturn=True, comment="Fair: call them back.")
    lead = session.get(Lead, lead_ids["ana"])
    assert lead.rejected_at is None and lead.rejection_reason is None
    assert leads.list_disputes(session=session, actor=people["mia"]) == []
    resolved = leads.list_disputes(session=session, actor=people["mia"], state="overturned")
    assert resolved[0].resolved_by == "sofia"


def test_an_upheld_rejection_stays(session, people, lead_ids):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="no_budget")
    dispute_id = leads.dispute_rejection(session=session, actor=people["marco"],
                                         lead_id=lead_ids["ana"], comment="Budget is fine.")
    leads.resolve_dispute(session=session, actor=people["marco"], dispute_id=dispute_id,
                          overturn=False)
    assert session.get(Lead, lead_ids["ana"]).rejection_reason == "no_budget"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES_HEAD, Role.EXEC, Role.SALES_REP])
def test_only_marketing_may_dispute(session, people, lead_ids, role):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    with pytest.raises(PermissionDenied):
        leads.dispute_rejection(session=session, actor=people[BY_ROLE[role]],
                                lead_id=lead_ids["ana"], comment="No.")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EXEC, Role.SALES_REP, Role.MARKETER])
def test_only_the_heads_resolve_disputes(session, people, lead_ids, role):
    leads.reject_lead(session=session, actor=people["ana"], lead_id=lead_ids["ana"],
                      reason="not_a_fit")
    dispute_id = leads.dispute_rejection(session=session, actor=people["mia"],
                                         lead_id=lead_ids["ana"], comment="Good lead.")
    with pytest.raises(PermissionDenied, match="may not resolve a dispute"):
        leads.resolve_dispute(session=session, actor=people[BY_ROLE[role]],
                              dispute_id=dispute_id, overturn=True)
    assert session.get(Lead, lead_ids["ana"]).rejected_at is not None


def test_a_marketer_can_dispute_but_cannot_reject(session, people, lead_ids):
    with pytest.raises(PermissionDenied):
        leads.reject_lead(session=session, actor=people["mia"], lead_id=lead_ids["ben"],
                          reason="not_a_fit")
    leads.reject_lead(session=session, actor=people["ben"], lead_id=lead_ids["ben"],
                      reason="duplicate")
    assert leads.dispute_rejection(session=session, actor=people["mia"],
                                   lead_id=lead_ids["ben"], comment="Not a duplicate.") > 0
