"""Dashboards: one period measured once (for the scorecard, the charts and the drill-downs), the
rep's worklist, and the data version pages key their caches on."""

from dataclasses import dataclass, field

import pandas as pd
from sqlmodel import Session, col, func, select

from core import agreement as sla
from core import compliance, dashboard
from core.errors import InvalidInput
from core.permissions import Action, Role, require
from core.services import reports
from core.services.accounts import Actor
from core.services.reports import ReportScope, load_frames, report_scope
from db.models import AgreementVersion, AuditEvent, ImportBatch, Lead, Touch

FILTERS = compliance.BREAKDOWN_COLUMNS  # rep → owner, channel, segment, region


@dataclass(frozen=True)
class Filters:
    """Narrow the leads measured: each set value keeps only leads with that value."""

    values: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def of(cls, **chosen: str | None) -> "Filters":
        unknown = set(chosen) - set(FILTERS)
        if unknown:
            raise InvalidInput("filter", f"cannot filter by {', '.join(sorted(unknown))}")
        return cls(tuple(sorted((name, value) for name, value in chosen.items() if value)))

    def apply(self, leads: pd.DataFrame) -> pd.DataFrame:
        """The leads matching every filter."""
        for name, value in self.values:
            leads = leads[leads[FILTERS[name]] == value]
        return leads.reset_index(drop=True)


def data_version(*, session: Session) -> str:
    """A token that changes on every import, touch, lead decision or agreement change."""
    # Maxima of primary keys are index lookups, not scans. Leads and touches are never deleted;
    # every change to a stored lead (import update, accept, reject, dispute) is audited.
    parts = [session.exec(select(func.max(table.id))).one()
             for table in (Lead, Touch, AuditEvent, ImportBatch)]
    parts += session.exec(select(func.count(AgreementVersion.id),
                                 func.sum(AgreementVersion.revision))).one()
    return ":".join(str(part) for part in parts)


def filter_options(*, session: Session, actor: Actor) -> dict[str, list[str]]:
    """The values each filter can take, from the leads on record."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    options = {}
    for name, column in FILTERS.items():
        values = session.exec(select(getattr(Lead, column)).distinct()
                              .where(col(getattr(Lead, column)).is_not(None))).all()
        options[name] = sorted(values)
    return options


def evaluate(*, session: Session, actor: Actor, scope: ReportScope,
             filters: Filters = Filters(), what_if: int | None = None) -> compliance.Evaluation:
    """The scope's period measured once (with `what_if`, every lead against that version)."""
    leads, touches = load(session=session, actor=actor, scope=scope)
    document = None if what_if is None else reports.version_document(
        session=session, actor=actor, agreement_id=scope.agreement_id, number=what_if)
    return measure(scope, leads, touches, filters, document, what_if)


def load(*, session: Session, actor: Actor, scope: ReportScope
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The period's leads and touches (to filter and measure in memory, possibly many times)."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return load_frames(session, scope)


def measure(scope: ReportScope, leads: pd.DataFrame, touches: pd.DataFrame,
            filters: Filters = Filters(), what_if: sla.Document | None = None,
            what_if_number: int | None = None) -> compliance.Evaluation:
    """Measure loaded frames: the filtered leads under the signed versions, or all of them
    under the `what_if` document."""
    leads = filters.apply(leads)
    if what_if is None:
        return compliance.evaluate(scope.document, leads, touches, scope.period, scope.as_of,
                                   agreement=scope.agreement, versions=list(scope.versions))
    return reports.what_if_evaluation(scope, leads, touches, what_if, what_if_number)


def draft_versions(*, session: Session, actor: Actor, agreement_id: int) -> list[int]:
    """Numbers of the agreement's versions not signed yet (what-if candidates), newest first."""
    require(actor.role, Action.VIEW_DASHBOARDS)
    return list(session.exec(
        select(AgreementVersion.number).where(
            AgreementVersion.agreement_id == agreement_id,
            col(AgreementVersion.state).in_(("draft", "in_review", "agreed")))
        .order_by(col(AgreementVersion.number).desc())).all())


def worklist(*, session: Session, actor: Actor, as_of: str | None = None,
             days: int = 30) -> pd.DataFrame:
    """Open clocks of the actor's leads (every rep's for the head of sales) whose clock started
    in the last `days` days, most urgent first (core.dashboard.worklist)."""
    require(actor.role, Action.WORK_LEADS)
    scope = report_scope(session=session, actor=actor, as_of=as_of, trailing_days=days)
    owner = actor.username if actor.role == Role.SALES_REP else None
    leads, touches = load_frames(session, scope, owner=owner)
    return dashboard.worklist(measure(scope, leads, touches))
