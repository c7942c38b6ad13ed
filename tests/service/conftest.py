"""Service-test fixtures: one user per role."""

import pytest

from core import services
from core.permissions import Role

PEOPLE = {
    "root": Role.ADMIN, "sofia": Role.SALES_HEAD, "marco": Role.MARKETING_HEAD,
    "erin": Role.EXEC, "ana": Role.SALES_REP, "ben": Role.SALES_REP, "mia": Role.MARKETER,
}
BY_ROLE = {role: username for username, role in PEOPLE.items()}


def add_people(session) -> dict[str, services.Actor]:
    """Create one user per role (two sales reps: ana and ben); actors by username."""
    for username, role in PEOPLE.items():
        services.add_user(session=session, actor=services.OPERATOR, username=username,
                          display_name=username.title(), email=f"{username}@example.com",
                          role=role, password="long enough password")
    return {u: services.get_actor(session=session, username=u) for u in PEOPLE}


@pytest.fixture
def people(session) -> dict[str, services.Actor]:
    """One user per role on the test session."""
    return add_people(session)


@pytest.fixture
def people_factory():
    """add_people, for tests that bring their own database."""
    return add_people
