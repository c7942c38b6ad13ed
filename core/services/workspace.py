"""The workspace: what it holds, at a glance, and the settings an admin chooses for it."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from core.errors import InvalidInput
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.audit import record
from core.wording import CURRENCY_SIGNS, DEFAULT_CURRENCY
from db.models import Lead, Touch, User, WorkspaceSetting, utcnow

CURRENCY = "currency"


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


def currency(*, session: Session, actor: Actor) -> str:
    """The ISO 4217 code amounts are shown in (USD until an admin chooses)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    setting = session.get(WorkspaceSetting, CURRENCY)
    return setting.value if setting else DEFAULT_CURRENCY


def set_currency(*, session: Session, actor: Actor, code: str) -> str:
    """An admin chooses the currency amounts are shown in (one of CURRENCY_SIGNS); audited."""
    require(actor.role, Action.CONFIGURE_WORKSPACE)
    code = (code or "").strip().upper()
    if code not in CURRENCY_SIGNS:
        raise InvalidInput("currency", f"'{code}' is not one of {', '.join(CURRENCY_SIGNS)}")
    setting = session.get(WorkspaceSetting, CURRENCY)
    before = setting.value if setting else DEFAULT_CURRENCY
    if setting is None:
        setting = WorkspaceSetting(key=CURRENCY, value=code, updated_by=actor.username)
    setting.value, setting.updated_by, setting.updated_at = code, actor.username, utcnow()
    session.add(setting)
    session.flush()
    record(session, actor=actor.username, action="workspace.currency",
           object_type="workspace", object_id=CURRENCY, before={"currency": before},
           after={"currency": code})
    return code
