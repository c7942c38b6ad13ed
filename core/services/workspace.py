"""What is in the workspace, at a glance."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from core.permissions import Action, require
from core.services.accounts import Actor
from db.models import Lead, Touch, User


@dataclass(frozen=True)
class WorkspaceOverview:
    """Counts that tell a newcomer what data the workspace holds."""

    active_users: int
    leads: int
    mqls: int
    touches: int
    first_mql_at: datetime | None
    last_mql_at: datetime | None


def workspace_overview(*, session: Session, actor: Actor) -> WorkspaceOverview:
    """Users, leads, MQLs and touches on record, and the span of MQL dates."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    leads, mqls, first_mql, last_mql = session.exec(
        select(func.count(Lead.id), func.count(Lead.mql_at), func.min(Lead.mql_at),
               func.max(Lead.mql_at))
    ).one()
    return WorkspaceOverview(
        active_users=session.exec(select(func.count()).where(User.active)).one(),
        leads=leads,
        mqls=mqls,
        touches=session.exec(select(func.count(Touch.id))).one(),
        first_mql_at=first_mql,
        last_mql_at=last_mql,
    )
