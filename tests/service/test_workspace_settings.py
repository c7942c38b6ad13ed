"""The workspace's settings: an admin chooses the currency amounts are shown in; nobody else
may, and a bad code is refused naming the field; every figure in money then carries it."""

import pytest
from sqlmodel import select

from core import dashboard
from core.errors import InvalidInput
from core.permissions import PermissionDenied, Role
from core.services import currency, set_currency
from db.models import AuditEvent
from tests.service.conftest import BY_ROLE

GOAL = {"id": "won-revenue", "metric": "won_amount", "per": "quarter", "target": 500000,
        "actual": 431000, "attainment_pct": 86.2, "expected_to_date": 500000,
        "projected": 431000, "status": "missed"}


def test_an_admin_sets_the_currency_and_every_amount_carries_it(session, people):
    assert currency(session=session, actor=people["ana"]) == "USD"  # until an admin chooses
    assert set_currency(session=session, actor=people["root"], code=" eur ") == "EUR"
    assert currency(session=session, actor=people["mia"]) == "EUR"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "workspace.currency")
                         ).one()
    assert (event.actor, event.before, event.after) == ("root", {"currency": "USD"},
                                                        {"currency": "EUR"})
    assert dashboard.headline(GOAL, "EUR") == "€431,000 of €500,000 (86.2%)"


@pytest.mark.parametrize("role", [role for role in Role if role != Role.ADMIN])
def test_only_an_admin_changes_the_workspace_settings(session, people, role):
    with pytest.raises(PermissionDenied, match="may not change the workspace settings"):
        set_currency(session=session, actor=people[BY_ROLE[role]], code="EUR")
    assert currency(session=session, actor=people["ana"]) == "USD"


def test_an_unknown_currency_is_refused_naming_the_field(session, people):
    with pytest.raises(InvalidInput) as refused:
        set_currency(session=session, actor=people["root"], code="DOGE")
    assert refused.value.field == "currency" and "'DOGE' is not one of USD, EUR" in str(
        refused.value)
    assert currency(session=session, actor=people["ana"]) == "USD"
