"""The workspace: what it holds, at a glance, and the settings an admin chooses for it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from core.errors import InvalidInput
from core.permissions import Action, require
from core.services.accounts import Actor
from core.services.audit import record
from core.wording import CURRENCY_SIGNS, DEFAULT_CURRENCY
from db.models import Lead, Touch, User, WorkspaceSetting, utcnow

CURRENCY = "currency"
UNDO_WINDOW = "undo_window_minutes"
DEFAULT_UNDO_MINUTES = 15
MAX_UNDO_MINUTES = 7 * 24 * 60  # a week


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
    _store(session, actor, CURRENCY, code)
    record(session, actor=actor.username, action="workspace.currency",
           object_type="workspace", object_id=CURRENCY, before={"currency": before},
           after={"currency": code})
    return code


def undo_window(session: Session) -> timedelta:
    """How long the author of an accept or reject may undo it (15 minutes until an admin
    chooses); the head of sales may undo at any time."""
    setting = session.get(WorkspaceSetting, UNDO_WINDOW)
    return timedelta(minutes=int(setting.value) if setting else DEFAULT_UNDO_MINUTES)


def undo_minutes(*, session: Session, actor: Actor) -> int:
    """The undo window in minutes, for the settings form."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return int(undo_window(session).total_seconds() // 60)


def set_undo_window(*, session: Session, actor: Actor, minutes: int) -> int:
    """An admin sets the undo window (0 to MAX_UNDO_MINUTES minutes; 0: only the head of sales
    undoes); audited."""
    require(actor.role, Action.CONFIGURE_WORKSPACE)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
            0 <= minutes <= MAX_UNDO_MINUTES):
        raise InvalidInput("undo_window_minutes",
                           f"'{minutes}' is not a whole number of minutes from 0 to "
                           f"{MAX_UNDO_MINUTES:,}")
    before = undo_minutes(session=session, actor=actor)
    _store(session, actor, UNDO_WINDOW, str(minutes))
    record(session, actor=actor.username, action="workspace.undo_window",
           object_type="workspace", object_id=UNDO_WINDOW,
           before={"minutes": before}, after={"minutes": minutes})
    return minutes


def _store(session: Session, actor: Actor, key: str, value: str) -> None:
    setting = session.get(WorkspaceSetting, key)
    if setting is None:
        setting = WorkspaceSetting(key=key, value=value, updated_by=actor.username)
    setting.value, setting.updated_by, setting.updated_at = value, actor.username, utcnow()
    session.add(setting)
    session.flush()
