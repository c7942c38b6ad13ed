"""The background worker's runs as the Integrations page lists them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.permissions import Action, require
from core.services.accounts import Actor
from db.models import JobRun

RUNS_SHOWN_MAX = 200


@dataclass(frozen=True)
class RunView:
    """One run of a job: which, which attempt, how it ended and why."""

    id: int
    job: str
    attempt: int
    state: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    detail: dict[str, Any]

    @property
    def seconds(self) -> float | None:
        return ((self.finished_at - self.started_at).total_seconds()
                if self.finished_at else None)


def recent_runs(*, session: Session, actor: Actor, limit: int = 30,
                job: str | None = None) -> list[RunView]:
    """The latest runs, newest first (of one job when `job` is given)."""
    require(actor.role, Action.MANAGE_INTEGRATIONS)
    query = select(JobRun).order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
    if job:
        query = query.where(JobRun.job == job)
    rows = session.exec(query.limit(max(1, min(limit, RUNS_SHOWN_MAX)))).all()
    return [RunView(r.id, r.job, r.attempt, r.state, r.started_at, r.finished_at, r.error,
                    dict(r.detail or {})) for r in rows]
